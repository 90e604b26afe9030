# The S3 lifecycle rules AWS enforces (or bills for), each refused at plan time: one run per rule that
# breaks it, and runs that keep to it. Offline: the AWS provider is mocked.

# Policy documents render JSON the provider checks; the mock's random strings would not be JSON.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

mock_provider "aws" {
  alias = "dr"
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  project      = "authorworks"
  environment  = "dev"
  kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  state_bucket = "authorworks-dev-tfstate-210987654321"
}

run "every_environment_retention_plans" {
  command = plan

  variables {
    backups_expire_days = 7
  }

  assert {
    condition     = length(flatten(values(module.lifecycle_rules.problems))) == 0
    error_message = "dev's lifecycle rules break none of S3's rules: ${join("; ", flatten(values(module.lifecycle_rules.problems)))}"
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.this["backups"].rule[0].expiration).days == 7
    error_message = "backups expire at the environment's retention"
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this["backups"].rule[0].transition) == 0
    error_message = "backups kept a week to three months stay in STANDARD"
  }
}

run "production_replicates_with_its_own_lifecycle" {
  command = plan

  variables {
    environment         = "production"
    backups_expire_days = 90
    enable_replication  = true
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.replica["backups"].rule[0].expiration).days == 90
    error_message = "the DR copy of the backups expires like its source"
  }
  assert {
    # media and backups (the content bucket, which nothing used, is gone).
    condition     = length(aws_s3_bucket_lifecycle_configuration.replica) == length(module.replicas.names) && length(module.replicas.names) == 2
    error_message = "every replica bucket has a lifecycle"
  }
  assert {
    condition     = length(module.replicas.policy_bucket_names) == 2 && length(module.replicas.versioned_names) == 2
    error_message = "every replica bucket is hardened like its source: versioned, and TLS-only"
  }
}

run "expiration_before_a_transition_is_refused" {
  command = plan

  # logs move to GLACIER at day 90 but would expire at day 60.
  variables {
    logs_expire_days = 60
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "noncurrent_expiration_before_a_noncurrent_transition_is_refused" {
  command = plan

  # old media versions move to STANDARD_IA at day 30 but would expire at day 20.
  variables {
    noncurrent_version_expire_days = 20
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "infrequent_access_before_day_30_is_refused" {
  command = plan

  variables {
    infrequent_access_after_days = 20
  }

  expect_failures = [var.infrequent_access_after_days]
}

run "leaving_standard_ia_within_30_days_is_refused" {
  command = plan

  # logs: STANDARD_IA at 30, GLACIER at 45.
  variables {
    glacier_after_days = 45
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "deleting_from_glacier_within_90_days_is_refused" {
  command = plan

  # logs: GLACIER at 90, deleted at 120.
  variables {
    logs_expire_days = 120
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "replica_deleted_within_standard_ia_minimum_is_refused" {
  command = plan

  variables {
    backups_expire_days = 7
    enable_replication  = true
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.replica]
}

run "load_balancer_logs_prefix_with_awslogs_is_refused" {
  command = plan

  variables {
    load_balancer_logs_prefix = "AWSLogs/alb"
  }

  expect_failures = [var.load_balancer_logs_prefix]
}

run "load_balancer_logs_prefix_is_accepted" {
  command = plan

  variables {
    load_balancer_logs_prefix = "alb"
  }
}

# The remote-state bucket's rule (the bucket is the bootstrap's: modules/state-backend).
run "the_state_bucket_keeps_old_versions_90_days" {
  command = plan

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.state.bucket == "authorworks-dev-tfstate-210987654321"
    error_message = "the rule is the state bucket's"
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.state.rule[0].noncurrent_version_expiration).noncurrent_days == 90
    error_message = "old state versions are kept 90 days"
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.state.rule[0].transition) == 0 && length(aws_s3_bucket_lifecycle_configuration.state.rule[0].expiration) == 0
    error_message = "the current state never moves or expires"
  }
}

run "old_state_versions_kept_under_a_week_is_refused" {
  command = plan

  variables {
    state_noncurrent_version_days = 3
  }

  expect_failures = [var.state_noncurrent_version_days]
}

# AWS Config delivers to the logs bucket: its policy admits config.amazonaws.com for this account (the
# statements are storage's; the building block merges them into the bucket's policy document).
run "config_may_deliver_to_the_logs_bucket" {
  command = plan
  variables {
    config_delivery_prefix = "config"
  }
  assert {
    condition     = toset([for st in local.policy_statements["logs"] : st.sid if contains(st.principal.identifiers, "config.amazonaws.com")]) == toset(["AWSConfigBucketPermissionsCheck", "AWSConfigBucketExistenceCheck", "AWSConfigBucketDelivery"])
    error_message = "the logs bucket lets AWS Config check its ACL, see it exists and deliver"
  }
}

run "a_config_prefix_with_awslogs_is_refused" {
  command = plan
  variables {
    config_delivery_prefix = "config/AWSLogs"
  }
  expect_failures = [var.config_delivery_prefix]
}
