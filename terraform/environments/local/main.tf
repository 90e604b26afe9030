# local: dev's shape applied to the AWS emulator that `cargo xtask` runs on 127.0.0.1. Only what the
# emulator can't do is left out or reshaped, each with the reason (printed by `cargo xtask deploy local`).
# Its sizing is dev's, read from the one place dev's root reads it; the Kubernetes version is local's
# own (`cargo xtask upgrade local` rehearses an upgrade here).
# What each argument of module "stack" means, and when to change it: terraform/stack/README.md.
module "sizing" {
  source = "../dev/sizing"
}

module "stack" {
  source = "../../stack"
  providers = {
    aws           = aws
    aws.dr        = aws.dr
    aws.us_east_1 = aws.us_east_1
  }

  project     = var.project
  environment = var.environment

  database_restore_source = var.database_restore_source

  sizing             = module.sizing.values
  kubernetes_version = "1.36"

  protected = false

  domain_name = "local.authorworks.io"
  # The emulator's ACM issues at once and nothing resolves its zone: there is nothing to delegate.
  dns_delegated      = true
  github_repository  = "authorworks/authorworks-infra"
  log_retention_days = 14
  monthly_budget_usd = 500
  # No GitHub connection on the emulator (emulator_omissions below): no runner project either.
  ci_runner_connection_authorized = false

  emulator_omissions = {
    eks_addons                  = "the emulator has no EKS add-on API (CreateAddon)"
    eks_access_entries          = "the emulator's EKS has no access entries and keeps no access config (authentication mode): only the cluster creator could use the API"
    eks_upgrade_policy          = "the emulator's EKS does not keep the upgrade policy (support type), so every plan would set it again"
    budget                      = "AWS Budgets never finishes: the emulator lacks ListTagsForResource for budgets"
    anomaly_detection           = "the emulator's Cost Explorer has no anomaly monitors"
    cache                       = "the emulator's ElastiCache never finishes deleting a cache node and does not create a replication group's members: local has no Redis"
    cdn                         = "the emulator's CloudFront does not keep aliases, origin access control or the viewer certificate, so every plan would rewrite the distribution"
    performance_insights        = "the emulator's RDS does not keep Performance Insights settings"
    db_parameter_group          = "the emulator's RDS does not keep a parameter group's parameters: the engine default group is used"
    guardduty_features          = "the emulator's GuardDuty does not keep detector features (EKS audit logs), so every plan would add them again"
    ci_runner_connection        = "the emulator has no CodeConnections API and no CodeBuild webhooks: the CI runners' GitHub connection, and the CodeBuild project and webhook that need it, are left out (their role, log group and security group rules are made)"
    tls_only_bucket_policies    = "the emulator ignores the aws:SecureTransport condition, so a TLS-only deny would lock every object out (it serves plain HTTP on 127.0.0.1)"
    security_hub                = "the emulator's Security Hub lacks UpdateSecurityHubConfiguration, which enabling the account calls: the apply would never finish"
    access_analyzer             = "the emulator has no IAM Access Analyzer API"
    ebs_default_kms_key         = "the emulator lacks GetEbsDefaultKmsKeyId: the default EBS key is AWS's (EBS encryption by default stays on)"
    ecr_pull_through_cache      = "the emulator's ECR has no pull-through cache API (CreatePullThroughCacheRule): no cache rules, no upstream login secrets, no import permission for the nodes"
    account_public_access_block = "S3 Control addresses the account as a host name prefix (<account>.<endpoint>), which no emulator on 127.0.0.1 answers"
  }
}
