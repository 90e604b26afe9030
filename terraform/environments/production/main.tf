# production: three zones, NAT per zone, autoscaling 3-12 application nodes, Multi-AZ PostgreSQL (its
# automated backups replicated to us-west-2), Redis in cluster mode, WAF, and everything that matters
# copied to us-west-2. No read replica: no service reads from one (docs/COST_OPTIMIZATION.md); the
# Multi-AZ standby is the failover.
# What each argument of module "stack" means, and when to change it: terraform/stack/README.md.
module "sizing" {
  source = "./sizing"
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

  dr_enabled = true
  gitops     = true
  enable_waf = true

  domain_name                     = "authorworks.io"
  dns_delegated                   = false
  github_repository               = "authorworks/authorworks-infra"
  api_public_access_cidrs         = []
  ci_runner_connection_authorized = var.ci_runner_connection_authorized
  log_retention_days              = 90
  alert_emails                    = var.alert_emails
  monthly_budget_usd              = 5000
}
