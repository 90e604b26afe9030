# dev: cheap and single-NAT; spot for what can be interrupted; off-hours shutdown (cargo xtask schedule).
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

  vpc_cidr           = "10.2.0.0/16"
  az_count           = 2
  single_nat_gateway = true

  kubernetes_version = "1.36"
  node_groups = {
    system = {
      instance_types = ["t3.small"]
      capacity_type  = "ON_DEMAND"
      min_size       = 1
      max_size       = 2
      desired_size   = 1
      labels         = { workload = "system" }
    }
    # Spot: three types of one shape (2 vCPUs, 4 GiB), so one empty capacity pool takes no more than
    # its share; a 2 GiB shape has only two x86 types (t3.small, t3a.small).
    application = {
      instance_types = ["t3.medium", "t3a.medium", "c5.large"]
      capacity_type  = "SPOT"
      min_size       = 1
      max_size       = 3
      desired_size   = 1
      labels         = { workload = "application" }
    }
  }

  db_instance_class     = "db.t3.micro"
  backup_retention_days = 7
  protected             = false

  # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
  db_max_allocated_storage_gb = 50

  cache_node_type = "cache.t3.micro"
  cache_nodes     = 1

  domain_name = "dev.authorworks.io"
  # Set true once the parent zone or the registrar delegates domain_name to this zone's name servers
  # (output name_servers): docs/INFRASTRUCTURE.md, "First apply in a new account".
  dns_delegated     = false
  github_repository = "authorworks/authorworks-infra"
  # Argo CD syncs the application (k8s/gitops; its repository credential secret is made).
  gitops = true
  # People reach the private API endpoint through `cargo xtask tunnel dev` (the bastion). To open the
  # public endpoint to operators' fixed public ranges as well, list them here (at most 40; empty keeps
  # the endpoint private only).
  api_public_access_cidrs = []
  # The CI runners' GitHub connection: true once a person has completed it in the console; the first
  # apply in a new account runs with TF_VAR_ci_runner_connection_authorized=false (docs/INFRASTRUCTURE.md).
  ci_runner_connection_authorized = var.ci_runner_connection_authorized
  log_retention_days              = 14
  alert_emails                    = var.alert_emails
  monthly_budget_usd              = 500
}
