# dev: cheap and single-NAT; spot for what can be interrupted; off-hours shutdown (cargo xtask schedule).
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

  protected = false

  domain_name                     = "dev.authorworks.io"
  dns_delegated                   = false
  github_repository               = "authorworks/authorworks-infra"
  gitops                          = true
  api_public_access_cidrs         = []
  ci_runner_connection_authorized = var.ci_runner_connection_authorized
  log_retention_days              = 14
  alert_emails                    = var.alert_emails
  monthly_budget_usd              = 500
}
