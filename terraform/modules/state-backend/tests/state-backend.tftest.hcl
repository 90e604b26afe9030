# The state bucket's S3 naming rules, refused at plan time. Offline: the AWS provider is mocked.

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

# The state bucket's lifecycle rule is applied with the stack: its runs are in modules/storage's tests.
run "the_xtask_bucket_name_plans" {
  command = plan

  assert {
    condition     = output.bucket_name == "authorworks-dev-tfstate-210987654321"
    error_message = "the bucket is named as the xtask names it"
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
