# dev: cheap and single-NAT; spot for what can be interrupted; off-hours shutdown (cargo xtask schedule).
module "stack" {
  source = "../../stack"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  project     = var.project
  environment = var.environment

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
    application = {
      instance_types = ["t3.small"]
      capacity_type  = "SPOT"
      min_size       = 1
      max_size       = 3
      desired_size   = 1
      labels         = { workload = "application" }
    }
    batch = {
      instance_types = ["t3.small"]
      capacity_type  = "SPOT"
      min_size       = 0
      max_size       = 2
      desired_size   = 0
      labels         = { workload = "batch" }
      taints         = [{ key = "workload", value = "batch", effect = "NO_SCHEDULE" }]
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
  dns_delegated      = false
  github_repository  = "authorworks/authorworks-infra"
  log_retention_days = 14
  alert_emails       = var.alert_emails
  monthly_budget_usd = 500
}
