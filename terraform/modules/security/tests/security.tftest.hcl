# IAM and KMS rules of the security module, refused at plan time. Offline: the provider is mocked.
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
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" }
  }
  mock_data "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_kms_key" {
    override_during = plan
    defaults        = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
}

variables {
  project               = "authorworks"
  environment           = "staging"
  oidc_provider_arn     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
  oidc_issuer           = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
  hosted_zone_arn       = "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
  alert_topic_arn       = "arn:aws:sns:us-east-1:123456789012:authorworks-staging-alerts"
  cluster_name          = "authorworks-staging-eks"
  github_repository     = "authorworks/authorworks-infra"
  application_secrets   = ["session-signing-key", "ai-provider-api-key"]
  external_secret_names = ["authorworks/staging/db/user-service"]
  external_secret_arns  = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-AbCdEf"]
  loki_bucket_arn       = "arn:aws:s3:::authorworks-staging-loki-123456789012"
  operations = {
    db_instance_identifier = "authorworks-staging-postgres"
    state_bucket           = "authorworks-staging-tfstate-123456789012"
    backups_bucket_arn     = "arn:aws:s3:::authorworks-staging-backups"
  }
}

run "roles_and_keys_plan" {
  command = plan

  assert {
    condition     = aws_iam_role.github_deploy.max_session_duration >= 5400 && aws_iam_role.github_operations.max_session_duration >= 7200
    error_message = "each role's maximum session covers its workflow's session"
  }
  assert {
    condition     = contains(flatten([for c in data.aws_iam_policy_document.github_trust["operations"].statement[0].condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"]), "repo:authorworks/authorworks-infra:environment:operations-staging")
    error_message = "the operations role trusts exactly the operations-<env> GitHub environment"
  }
  assert {
    condition     = length(aws_iam_service_linked_role.autoscaling) == 1 && length(aws_iam_openid_connect_provider.github) == 1
    error_message = "a fresh account gets its Auto Scaling service-linked role and GitHub OIDC provider"
  }
}

run "external_secrets_reads_exactly_the_workloads_secrets" {
  command = plan

  assert {
    condition = data.aws_iam_policy_document.external_secrets.statement[0].resources == toset([
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:authorworks/staging/app/ai-provider-api-key-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:authorworks/staging/app/session-signing-key-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:authorworks/staging/db/user-service-??????",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-AbCdEf",
    ])
    error_message = "external-secrets reads the application secrets and the named secrets, each exactly (name plus Secrets Manager's six-character suffix)"
  }
  assert {
    condition     = data.aws_iam_policy_document.external_secrets.statement[1].resources == toset([aws_kms_key.this["secrets"].arn, aws_kms_key.this["rds"].arn])
    error_message = "external-secrets decrypts with exactly the secrets and rds keys"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.external_secrets.statement[1].condition) == 1 && alltrue([for c in data.aws_iam_policy_document.external_secrets.statement[1].condition : c.variable == "kms:ViaService" && length(c.values) == 1 && contains(c.values, "secretsmanager.us-east-1.amazonaws.com")])
    error_message = "external-secrets decrypts only through Secrets Manager"
  }
}

run "a_wildcard_secret_for_external_secrets_is_refused" {
  command = plan
  variables {
    external_secret_arns = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:authorworks/staging/*"]
  }
  expect_failures = [var.external_secret_arns]
}

run "a_wildcard_secret_name_for_external_secrets_is_refused" {
  command = plan
  variables {
    external_secret_names = ["authorworks/staging/db/*"]
  }
  expect_failures = [var.external_secret_names]
}

run "another_environments_secret_for_external_secrets_is_refused" {
  command = plan
  variables {
    external_secret_names = ["authorworks/production/db/user-service"]
  }
  expect_failures = [var.external_secret_names]
}

run "a_non_secret_arn_for_external_secrets_is_refused" {
  command = plan
  variables {
    external_secret_arns = ["arn:aws:s3:::authorworks-staging-media"]
  }
  expect_failures = [var.external_secret_arns]
}

run "an_application_secret_name_that_is_no_name_is_refused" {
  command = plan
  variables {
    application_secrets = ["Session Key"]
  }
  expect_failures = [var.application_secrets]
}

run "existing_singletons_are_read_not_created" {
  command = plan
  variables {
    create_autoscaling_service_linked_role = false
    create_github_oidc_provider            = false
  }
  assert {
    condition     = length(aws_iam_service_linked_role.autoscaling) == 0 && length(data.aws_iam_role.autoscaling) == 1 && length(data.aws_iam_openid_connect_provider.github) == 1
    error_message = "an account that has the singletons reads them"
  }
}

run "session_longer_than_iam_allows_is_refused" {
  command = plan
  variables {
    deploy_max_session_seconds = 50000
  }
  expect_failures = [var.deploy_max_session_seconds]
}

run "session_shorter_than_the_workflow_asks_is_refused" {
  command = plan
  variables {
    operations_max_session_seconds = 3600
  }
  expect_failures = [var.operations_max_session_seconds]
}

run "system_group_in_an_access_entry_is_refused" {
  command = plan
  variables {
    cluster_roles = { admin = "system:masters" }
  }
  expect_failures = [var.cluster_roles]
}

run "dr_copy_without_its_key_is_refused" {
  command = plan
  variables {
    operations = {
      db_instance_identifier = "authorworks-staging-postgres"
      state_bucket           = "authorworks-staging-tfstate-123456789012"
      backups_bucket_arn     = "arn:aws:s3:::authorworks-staging-backups"
      dr_region              = "us-west-2"
    }
  }
  expect_failures = [var.operations]
}

run "unknown_sns_publisher_is_refused" {
  command = plan
  variables {
    sns_key_publishers = ["sns.amazonaws.com"]
  }
  expect_failures = [var.sns_key_publishers]
}

run "short_secret_recovery_window_is_refused" {
  command = plan
  variables {
    secret_recovery_window_days = 3
  }
  expect_failures = [var.secret_recovery_window_days]
}

# Loki's role reaches its bucket, and only through a bucket ARN (an object ARN would grant nothing).
run "lokis_role_may_use_its_bucket" {
  command = plan

  assert {
    condition     = strcontains(aws_iam_role_policy.controller["loki"].policy, "arn:aws:s3:::authorworks-staging-loki-123456789012/*")
    error_message = "Loki may read and write the objects of its bucket"
  }
}

run "an_object_arn_as_lokis_bucket_is_refused" {
  command = plan

  variables {
    loki_bucket_arn = "arn:aws:s3:::authorworks-staging-loki-123456789012/*"
  }

  expect_failures = [var.loki_bucket_arn]
}
