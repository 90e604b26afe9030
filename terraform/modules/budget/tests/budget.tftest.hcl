# The budget covers the whole account; the account's one service anomaly monitor is created, reused
# or left out; Budgets' subscriber limit is refused at plan time. Offline: the AWS provider is mocked.

mock_provider "aws" {}

variables {
  project           = "authorworks"
  environment       = "staging"
  monthly_limit_usd = 1500
  alert_topic_arn   = "arn:aws:sns:us-east-1:123456789012:authorworks-staging-alerts"
}

run "a_fresh_account_gets_its_monitor_and_an_unfiltered_budget" {
  command = plan

  assert {
    condition     = length(aws_budgets_budget.monthly.cost_filter) == 0
    error_message = "the budget counts everything the account spends (no tag filter)"
  }
  assert {
    condition     = length(aws_ce_anomaly_monitor.this) == 1 && length(aws_ce_anomaly_subscription.this) == 1
    error_message = "a fresh account gets the service monitor and its subscription"
  }
}

run "an_existing_monitor_is_reused" {
  command = plan

  variables {
    existing_anomaly_monitor_arn = "arn:aws:ce::123456789012:anomalymonitor/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
  }

  assert {
    condition     = length(aws_ce_anomaly_monitor.this) == 0
    error_message = "no second service monitor: AWS allows one per account"
  }
  assert {
    condition     = aws_ce_anomaly_subscription.this[0].monitor_arn_list == tolist([var.existing_anomaly_monitor_arn])
    error_message = "the subscription watches the existing monitor"
  }
}

run "a_malformed_monitor_arn_is_refused" {
  command = plan

  variables {
    existing_anomaly_monitor_arn = "anomalymonitor/abc"
  }

  expect_failures = [var.existing_anomaly_monitor_arn]
}

run "anomaly_detection_is_optional" {
  command = plan

  variables {
    enable_anomaly_detection = false
  }

  assert {
    condition     = length(aws_ce_anomaly_monitor.this) == 0 && length(aws_ce_anomaly_subscription.this) == 0
    error_message = "off: neither monitor nor subscription"
  }
}

run "more_than_ten_email_subscribers_is_refused" {
  command = plan

  variables {
    alert_emails = [for i in range(11) : "person${i}@example.com"]
  }

  expect_failures = [var.alert_emails]
}
