# The account-watching singletons and their AWS rules, refused at plan time. Offline: the provider is
# mocked.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_roles" {
    defaults = { arns = ["arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"] }
  }
  mock_resource "aws_iam_service_linked_role" {
    override_during = plan
    defaults        = { arn = "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig" }
  }
}

variables {
  project             = "authorworks"
  environment         = "production"
  alert_topic_arn     = "arn:aws:sns:us-east-1:123456789012:authorworks-production-alerts"
  sns_key_publishers  = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com"]
  config_bucket_name  = "authorworks-production-logs-123456789012"
  ebs_default_kms_key = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000e" }
}

run "the_home_region_watches_the_account" {
  command = plan

  assert {
    condition     = one(aws_config_configuration_recorder.this[0].recording_group).all_supported && one(aws_config_configuration_recorder.this[0].recording_group).include_global_resource_types
    error_message = "the home region records every supported resource type, global ones included"
  }
  assert {
    condition     = aws_config_delivery_channel.this[0].s3_bucket_name == "authorworks-production-logs-123456789012" && aws_config_configuration_recorder_status.this[0].is_enabled
    error_message = "the recorder delivers to the logs bucket and is on"
  }
  assert {
    condition     = aws_securityhub_standards_subscription.fsbp[0].standards_arn == "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"
    error_message = "Security Hub checks the AWS Foundational Security Best Practices"
  }
  assert {
    condition     = aws_accessanalyzer_analyzer.this[0].type == "ACCOUNT" && aws_ebs_encryption_by_default.this[0].enabled && aws_s3_account_public_access_block.this[0].restrict_public_buckets
    error_message = "an account analyzer, EBS encryption by default, the account's public access block"
  }
  assert {
    condition     = contains(keys(aws_config_config_rule.this), "root-account-mfa") && length(aws_cloudwatch_event_target.findings) == 2
    error_message = "root MFA is checked where global resources are recorded; Security Hub and Access Analyzer findings reach the topic"
  }
}

# The DR region of the same account: global resources are the home region's, the account's public
# access block and Config role are production's.
run "a_second_region_of_the_account_records_no_global_resources" {
  command = plan
  variables {
    environment                        = "dr"
    config_include_global_resources    = false
    create_config_service_linked_role  = false
    manage_account_public_access_block = false
    ebs_default_kms_key                = null
  }
  assert {
    condition     = !one(aws_config_configuration_recorder.this[0].recording_group).include_global_resource_types && !contains(keys(aws_config_config_rule.this), "root-account-mfa")
    error_message = "no global resource recorded or checked twice"
  }
  assert {
    condition     = length(aws_iam_service_linked_role.config) == 0 && length(aws_s3_account_public_access_block.this) == 0 && length(aws_ebs_default_kms_key.this) == 0
    error_message = "the account's singletons stay with the environment that owns them"
  }
}

run "security_hub_standards_without_config_are_refused" {
  command = plan
  variables {
    enable_config = false
  }
  expect_failures = [aws_securityhub_standards_subscription.fsbp[0]]
}

run "security_hub_standards_with_an_organisations_recorder_plan" {
  command = plan
  variables {
    enable_config             = false
    config_recorded_elsewhere = true
  }
  assert {
    condition     = length(aws_config_configuration_recorder.this) == 0 && length(aws_securityhub_standards_subscription.fsbp) == 1
    error_message = "the organisation's recorder serves Security Hub's controls"
  }
}

# EventBridge publishes the findings to the encrypted alert topic: a key that does not let it is refused.
run "findings_to_a_topic_whose_key_refuses_eventbridge_are_refused" {
  command = plan
  variables {
    sns_key_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
  }
  expect_failures = [aws_cloudwatch_event_target.findings]
}

run "a_default_ebs_key_of_another_region_is_refused" {
  command = plan
  variables {
    ebs_default_kms_key = { arn = "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-00000000000e" }
  }
  expect_failures = [aws_ebs_default_kms_key.this[0]]
}

run "a_config_prefix_with_awslogs_is_refused" {
  command = plan
  variables {
    config_s3_key_prefix = "AWSLogs/config"
  }
  expect_failures = [var.config_s3_key_prefix]
}

run "every_singleton_is_optional" {
  command = plan
  variables {
    enable_config                      = false
    config_recorded_elsewhere          = true
    enable_security_hub                = false
    enable_access_analyzer             = false
    manage_ebs_encryption_by_default   = false
    manage_account_public_access_block = false
  }
  assert {
    condition     = length(aws_config_configuration_recorder.this) + length(aws_securityhub_account.this) + length(aws_accessanalyzer_analyzer.this) + length(aws_ebs_encryption_by_default.this) + length(aws_s3_account_public_access_block.this) == 0
    error_message = "an account whose organisation owns every singleton gets none of them"
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.findings) == 2
    error_message = "the organisation's findings still reach the account's alert topic"
  }
}
