# The state bucket's S3 rules, refused at plan time. Offline: the AWS provider is mocked.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  project     = "authorworks"
  environment = "dev"
  bucket_name = "authorworks-dev-tfstate-210987654321"
}

run "the_xtask_bucket_name_plans" {
  command = plan

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.state.rule[0].noncurrent_version_expiration).noncurrent_days == 90
    error_message = "old state versions are kept 90 days"
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.state.rule[0].transition) == 0 && length(aws_s3_bucket_lifecycle_configuration.state.rule[0].expiration) == 0
    error_message = "the current state never moves or expires"
  }
}

run "an_ip_shaped_bucket_name_is_refused" {
  command = plan

  variables {
    bucket_name = "192.168.1.10"
  }

  expect_failures = [var.bucket_name]
}

run "an_uppercase_bucket_name_is_refused" {
  command = plan

  variables {
    bucket_name = "Authorworks-dev-tfstate"
  }

  expect_failures = [var.bucket_name]
}

run "old_state_versions_kept_under_a_week_is_refused" {
  command = plan

  variables {
    noncurrent_version_days = 3
  }

  expect_failures = [var.noncurrent_version_days]
}
