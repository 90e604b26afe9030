# staging: production-like across three zones, smaller instances.
module "stack" {
  source = "../../stack"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  project     = var.project
  environment = var.environment

  vpc_cidr = "10.1.0.0/16"
  az_count = 3

  kubernetes_version = "1.36"
  node_groups = {
    system = {
      instance_types = ["t3.medium"]
      capacity_type  = "ON_DEMAND"
      min_size       = 1
      max_size       = 2
      desired_size   = 1
      labels         = { workload = "system" }
    }
    application = {
      instance_types = ["t3.medium"]
      capacity_type  = "ON_DEMAND"
      min_size       = 2
      max_size       = 4
      desired_size   = 2
      labels         = { workload = "application" }
    }
    batch = {
      instance_types = ["t3.medium"]
      capacity_type  = "SPOT"
      min_size       = 0
      max_size       = 3
      desired_size   = 0
      labels         = { workload = "batch" }
      taints         = [{ key = "workload", value = "batch", effect = "NO_SCHEDULE" }]
    }
  }

  db_instance_class     = "db.t3.small"
  db_multi_az           = true
  backup_retention_days = 30

  # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
  db_max_allocated_storage_gb = 100

  cache_node_type = "cache.t3.small"
  cache_nodes     = 2

  domain_name = "staging.authorworks.io"
  # Set true once the parent zone or the registrar delegates domain_name to this zone's name servers
  # (output name_servers): docs/INFRASTRUCTURE.md, "First apply in a new account".
  dns_delegated      = false
  github_repository  = "authorworks/authorworks-infra"
  log_retention_days = 30
  alert_emails       = var.alert_emails
  monthly_budget_usd = 1500
}
