# Alerts reach a person in every real environment; the trail's bucket lifecycle keeps S3's rules; the
# per-account singletons (trail, GuardDuty detector) are optional. Offline: the AWS provider is mocked.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  project                = "authorworks"
  environment            = "dev"
  logs_kms_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  sns_kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
  cluster_name           = "authorworks-dev-eks"
  db_instance_identifier = "authorworks-dev-postgres"
  cache_cluster_ids      = ["authorworks-dev-redis-001", "authorworks-dev-redis-002"]
  alert_emails           = ["oncall@example.com"]
  sns_key_publishers     = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com"]
}

run "a_real_environment_with_a_subscriber_plans" {
  command = plan

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 1
    error_message = "the address is subscribed to the alert topic"
  }
  assert {
    condition     = aws_cloudtrail.this["this"].sns_topic_name == null
    error_message = "the trail notifies nobody per delivered log file"
  }
  assert {
    # Moved (issue 23): the rule and its target are no longer counted (they stay where an organisation
    # owns the detector), so the target is one resource, not a list of one.
    condition     = aws_cloudwatch_event_target.guardduty.rule == "authorworks-dev-guardduty-findings"
    error_message = "GuardDuty findings reach the alert topic"
  }
}

run "a_real_environment_without_a_subscriber_is_refused" {
  command = plan

  variables {
    environment  = "production"
    alert_emails = []
  }

  expect_failures = [var.alert_emails]
}

run "local_needs_no_subscriber" {
  command = plan

  variables {
    environment  = "local"
    alert_emails = []
  }
}

run "trail_expiring_before_its_archive_is_refused" {
  command = plan

  variables {
    trail_archive_after_days = 90
    trail_retention_days     = 60
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.trail]
}

run "trail_deleted_within_glacier_minimum_is_refused" {
  command = plan

  variables {
    trail_archive_after_days = 90
    trail_retention_days     = 120
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.trail]
}

run "singletons_are_optional" {
  command = plan

  variables {
    enable_cloudtrail = false
    enable_guardduty  = false
  }

  assert {
    condition     = length(aws_cloudtrail.this) == 0 && length(module.trail_bucket.names) == 0 && length(aws_guardduty_detector.this) == 0
    error_message = "an account whose organisation owns the trail and the detector gets neither"
  }
  assert {
    condition     = aws_cloudwatch_event_target.guardduty.rule == "authorworks-dev-guardduty-findings"
    error_message = "the organisation's GuardDuty findings for this account still reach its alert topic"
  }
}

# EventBridge publishes the GuardDuty findings: a topic key that does not let events.amazonaws.com use it
# (the defect of issue 23) drops every one, so the topic's policy is refused.
run "a_key_that_does_not_grant_eventbridge_is_refused" {
  command = plan

  variables {
    sns_key_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudtrail.amazonaws.com"]
  }

  expect_failures = [aws_sns_topic_policy.alerts]
}

# The dashboard reads metrics AWS publishes: the EKS control plane's vended metrics (no Container
# Insights, which nothing here turns on), ElastiCache per cache cluster, not per replication group.
run "the_dashboard_reads_published_metrics" {
  command = plan

  assert {
    condition     = !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ContainerInsights") && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ReplicationGroupId")
    error_message = "no Container Insights metric and no ElastiCache metric by replication group"
  }
  assert {
    condition     = length([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w if strcontains(jsonencode(w), "authorworks-dev-redis-002")]) == 1
    error_message = "each member cache cluster is on the Redis widget"
  }
}
