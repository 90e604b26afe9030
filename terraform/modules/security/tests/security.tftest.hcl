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
  mock_resource "aws_kms_key" {
    override_during = plan
    defaults        = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  # The check that looks for an existing Auto Scaling service-linked role.
  mock_data "aws_iam_roles" {
    defaults = { arns = ["arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"] }
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
    condition     = aws_iam_role.github_deploy.max_session_duration >= 5400 && aws_iam_role.github_operations[0].max_session_duration >= 7200
    error_message = "each role's maximum session covers its workflow's session"
  }
  assert {
    condition     = [for c in data.aws_iam_policy_document.github_trust["operations"].statement[0].condition : "${c.test} ${join(",", c.values)}" if c.variable == "token.actions.githubusercontent.com:sub"] == ["StringEquals repo:authorworks/authorworks-infra:environment:operations-staging:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/operations.yml@refs/heads/main"]
    error_message = "the operations role trusts exactly operations.yml from main in the operations-<env> GitHub environment"
  }
  assert {
    condition     = [for c in data.aws_iam_policy_document.github_trust["deploy"].statement[0].condition : "${c.test} ${join(",", c.values)}" if c.variable == "token.actions.githubusercontent.com:sub"] == ["StringEquals repo:authorworks/authorworks-infra:environment:staging:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/deploy.yml@refs/heads/main"]
    error_message = "the deploy role trusts exactly deploy.yml from main in the <env> GitHub environment"
  }
  assert {
    condition = [for c in data.aws_iam_policy_document.github_trust["plan"].statement[0].condition : "${c.test} ${join(",", c.values)}" if c.variable == "token.actions.githubusercontent.com:sub"] == [join(",", [
      "StringLike repo:authorworks/authorworks-infra:pull_request:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/ci.yml@refs/pull/*/merge",
      "repo:authorworks/authorworks-infra:ref:refs/heads/main:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/deploy.yml@refs/heads/main",
      "repo:authorworks/authorworks-infra:ref:refs/heads/main:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/drift.yml@refs/heads/main",
    ])]
    error_message = "the plan role trusts the pull requests' plan workflow and the plan jobs on main, outside any GitHub environment"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.github_plan_read_only.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "the plan role reads with AWS's ReadOnlyAccess"
  }
  assert {
    condition     = [for st in data.aws_iam_policy_document.github_plan.statement : st.resources if anytrue([for a in st.actions : can(regex("^s3:(Put|Delete)", a))])] == [toset(["arn:aws:s3:::authorworks-staging-tfstate-123456789012/staging/terraform.tfstate.tflock"])]
    error_message = "the plan role writes nothing but the state lock object"
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
    condition     = data.aws_iam_policy_document.external_secrets.statement[1].resources == toset([module.keys.arns["secrets"], module.keys.arns["rds"]])
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
    # Moved (issue 23): the existing singletons are named by their fixed ARNs; the Auto Scaling role is
    # looked for with a list (a missing one warns through a check), no longer read with data sources
    # that fail an emulated plan of an environment sharing another's account (dr).
    condition     = length(aws_iam_service_linked_role.autoscaling) == 0 && length(data.aws_iam_roles.autoscaling) == 1 && length(aws_iam_openid_connect_provider.github) == 0 && local.autoscaling_role_arn == "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" && local.github_provider_arn == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    error_message = "an account that has the singletons names them, creating neither"
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
    cluster_roles = { admin = { kubernetes_group = "system:masters", cluster_admin = false } }
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

run "a_workflow_that_is_no_file_name_is_refused" {
  command = plan
  variables {
    github_workflows = { deploy = ".github/workflows/*", operations = "operations.yml", plan_pull_request = ["ci.yml"], plan_main = ["deploy.yml"] }
  }
  expect_failures = [var.github_workflows]
}

run "a_plan_role_trusting_no_workflow_is_refused" {
  command = plan
  variables {
    github_workflows = { deploy = "deploy.yml", operations = "operations.yml", plan_pull_request = [], plan_main = [] }
  }
  expect_failures = [var.github_workflows]
}

run "the_plan_refresh_reads_exactly_the_written_secrets" {
  command = plan
  variables {
    refreshed_secret_names = ["authorworks/staging/db/user-service"]
  }
  assert {
    condition     = one([for st in data.aws_iam_policy_document.github_plan.statement : st.resources if st.sid == "RefreshSecretVersions"]) == toset(["arn:aws:secretsmanager:us-east-1:123456789012:secret:authorworks/staging/db/user-service-??????"])
    error_message = "the plan role reads the secret versions terraform writes, each exactly"
  }
}

run "a_wildcard_refreshed_secret_is_refused" {
  command = plan
  variables {
    refreshed_secret_names = ["authorworks/staging/db/*"]
  }
  expect_failures = [var.refreshed_secret_names]
}

run "a_plan_trust_policy_over_the_iam_quota_is_refused" {
  command = plan
  variables {
    # The account's provider is read, so the trust document is known at plan time.
    create_github_oidc_provider = false
  }
  override_data {
    target          = data.aws_iam_policy_document.github_trust
    override_during = plan
    values          = { json = "{}", minified_json = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }
  }
  expect_failures = [aws_iam_role.github_plan]
}

# EventBridge's KMS requests for an encrypted topic carry no aws:SourceAccount or aws:SourceArn ("Adding
# the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for EventBridge-to-
# encrypted topics", SNS Developer Guide): its statement is conditioned on the topic only; CloudWatch's
# keeps the confused-deputy guard.
run "eventbridge_may_use_the_topic_key_without_source_conditions" {
  command = plan

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.kms["sns"].statement :
      contains(flatten([for p in s.principals : p.identifiers]), "events.amazonaws.com") &&
      contains(s.actions, "kms:GenerateDataKey*") && contains(s.actions, "kms:Decrypt") &&
      alltrue([for c in s.condition : !contains(["aws:SourceAccount", "aws:SourceArn"], c.variable)])
    ])
    error_message = "the sns key lets EventBridge generate data keys and decrypt, with no source condition"
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.kms["sns"].statement :
      contains(flatten([for p in s.principals : p.identifiers]), "cloudwatch.amazonaws.com") &&
      anytrue([for c in s.condition : c.variable == "aws:SourceAccount"])
    ])
    error_message = "CloudWatch's statement keeps aws:SourceAccount"
  }
}

# The EBS CSI driver's key permissions are AWS's documented policy for a customer-managed key: grants
# for AWS resources (volumes from snapshots, resizes) and the five use actions.
run "ebs_csi_may_use_the_eks_key_as_aws_documents" {
  command = plan

  assert {
    condition = anytrue([for st in jsondecode(aws_iam_role_policy.controller["ebs-csi"].policy).Statement :
      toset(st.Action) == toset(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]) && try(st.Condition.Bool["kms:GrantIsForAWSResource"], "") == "true"
    ])
    error_message = "the EBS CSI role creates, lists and revokes grants for AWS resources on the eks key"
  }
  assert {
    condition = anytrue([for st in jsondecode(aws_iam_role_policy.controller["ebs-csi"].policy).Statement :
      toset(st.Action) == toset(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"])
    ])
    error_message = "the EBS CSI role encrypts, decrypts, re-encrypts, generates data keys with and describes the eks key"
  }
}

# Application secrets replicate to the DR region with that region's key; never to their own region.
run "application_secrets_replicate_to_the_dr_region" {
  command = plan
  variables {
    application_secret_replica = { region = "us-west-2", kms_key_arn = "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-00000000000d" }
  }
  assert {
    condition     = alltrue([for s in aws_secretsmanager_secret.app : one(s.replica).region == "us-west-2"])
    error_message = "each application secret has its replica in us-west-2"
  }
}

run "a_replica_in_the_secrets_own_region_is_refused" {
  command = plan
  variables {
    application_secret_replica = { region = "us-east-1", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d" }
  }
  expect_failures = [aws_secretsmanager_secret.app]
}

run "a_replica_key_of_another_region_is_refused" {
  command = plan
  variables {
    application_secret_replica = { region = "us-west-2", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d" }
  }
  expect_failures = [var.application_secret_replica]
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

# An environment no scheduled job runs against (dr: rebuilt only in a disaster) gets no operations role.
run "no_operations_workflow_no_operations_role" {
  command = plan
  variables {
    github_workflows = { deploy = "deploy.yml", plan_pull_request = [], plan_main = ["deploy.yml"] }
  }
  assert {
    condition     = length(aws_iam_role.github_operations) == 0 && !contains(keys(local.github_subjects), "operations")
    error_message = "no operations role and no operations trust"
  }
}
