# production: three zones, NAT per zone, autoscaling 3-12 application nodes, Multi-AZ PostgreSQL (its
# automated backups replicated to us-west-2), Redis in cluster mode, WAF, and everything that matters
# copied to us-west-2. No read replica: no service reads from one (docs/COST_OPTIMIZATION.md); the
# Multi-AZ standby is the failover.
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

  vpc_cidr = "10.0.0.0/16"
  az_count = 3

  kubernetes_version = "1.36"
  node_groups = {
    system = {
      instance_types = ["t3.large"]
      capacity_type  = "ON_DEMAND"
      min_size       = 2
      max_size       = 3
      desired_size   = 2
      labels         = { workload = "system" }
    }
    application = {
      instance_types = ["t3.large"]
      capacity_type  = "ON_DEMAND"
      min_size       = 3
      max_size       = 12
      desired_size   = 4
      labels         = { workload = "application" }
    }
  }

  db_instance_class       = "db.r5.large"
  db_allocated_storage_gb = 100
  db_multi_az             = true
  backup_retention_days   = 90

  # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
  db_max_allocated_storage_gb = 500

  cache_node_type          = "cache.r5.large"
  cache_cluster_mode       = true
  cache_shards             = 2
  cache_replicas_per_shard = 1

  dr_enabled = true
  # Argo CD syncs the application (k8s/gitops; its repository credential secret is made).
  gitops     = true
  enable_waf = true

  domain_name = "authorworks.io"
  # Set true once the parent zone or the registrar delegates domain_name to this zone's name servers
  # (output name_servers): docs/INFRASTRUCTURE.md, "First apply in a new account".
  dns_delegated     = false
  github_repository = "authorworks/authorworks-infra"
  # People reach the private API endpoint through `cargo xtask tunnel production` (the bastion). To open the
  # public endpoint to operators' fixed public ranges as well, list them here (at most 40; empty keeps
  # the endpoint private only).
  api_public_access_cidrs = []
  # The CI runners' GitHub connection: true once a person has completed it in the console; the first
  # apply in a new account runs with TF_VAR_ci_runner_connection_authorized=false (docs/INFRASTRUCTURE.md).
  ci_runner_connection_authorized = var.ci_runner_connection_authorized
  log_retention_days              = 90
  alert_emails                    = var.alert_emails
  monthly_budget_usd              = 5000
}
