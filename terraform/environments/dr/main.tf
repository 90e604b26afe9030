# dr: production rebuilt in production's DR region (us-west-2), in production's account, when
# us-east-1 is lost. Production's shape; its database restored from production's automated backups,
# which RDS replicates to us-west-2 continuously (point-in-time restore: RPO in minutes). Applied only
# in a disaster (or a drill): docs/DISASTER_RECOVERY.md, docs/INFRASTRUCTURE.md "The DR environment".
#
# Every name is `authorworks-dr-…`, so nothing collides with production's account-wide (IAM) and global
# (S3) names. What is one per account is production's and read, not made: the EC2 Auto Scaling and AWS
# Config service-linked roles, the GitHub OIDC provider, the account's S3 public access block, the
# multi-region trail (it records us-west-2 too) and the account's budget. The VPC is production's
# 10.0.0.0/16 (no peering between the two), so the production overlay it runs serves unchanged.
#
# Its sizing is production's, read from the one place production's root reads it: production grown is
# dr grown. Its Kubernetes version is held to production's by `cargo xtask validate` (cluster fit dr).
# What each argument of module "stack" means, and when to change it: terraform/stack/README.md.
module "sizing" {
  source = "../production/sizing"
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

  sizing             = module.sizing.values
  kubernetes_version = "1.36"

  # Production's database at the latest restorable time (or db_restore_time) of its automated backups
  # replicated here: production's output db_backups_replication_arn, given where terraform runs as
  # TF_VAR_db_restore_automated_backups_arn (a plan without it is refused).
  database_restore_source = {
    source_automated_backups_arn = var.db_restore_automated_backups_arn
    restore_time                 = var.db_restore_time
    use_latest_restorable_time   = var.db_restore_time == null ? true : null
  }

  # No DR of the DR: nothing is replicated onwards.
  dr_enabled = false
  # The services' images are production's, replicated here as CI pushes them there (production's
  # dr_enabled): dr pulls them from this region's registry and makes no repositories of its own.
  service_repositories_replicated = true
  # Argo CD syncs the application (k8s/gitops; its repository credential secret is made).
  gitops     = true
  enable_waf = true

  # Production's names: the production overlay runs here. The zone is a standby of production's (not
  # delegated); the certificates validate through production's zone, since ACM asks one account the
  # same validation record for a domain in every region. Set true at failover (docs/INFRASTRUCTURE.md).
  domain_name       = "authorworks.io"
  dns_delegated     = false
  github_repository = "authorworks/authorworks-infra"
  # People reach the private API through `cargo xtask tunnel dr` (the bastion); CI's cluster steps run
  # on dr's own runners, whose GitHub connection (a regional resource) a person completes once here too.
  api_public_access_cidrs         = []
  ci_runner_connection_authorized = var.ci_runner_connection_authorized
  # dr exists only after a failover: the deploy workflow (dispatched for dr) plans and applies it; no
  # pull request plans it, no drift check or scheduled operation runs against it, so no such role.
  github_workflows   = { deploy = "deploy.yml", plan_pull_request = [], plan_main = ["deploy.yml"] }
  log_retention_days = 90
  alert_emails       = var.alert_emails
  # Production's budget is the account's (it sees dr's spend): cost-report gates dr on the same figure.
  monthly_budget_usd = 5000
  enable_budget      = false

  # The account's singletons are production's.
  create_autoscaling_service_linked_role = false
  create_github_oidc_provider            = false
  create_config_service_linked_role      = false
  config_records_global_resources        = false
  manage_account_public_access_block     = false
  enable_cloudtrail                      = false
}
