# local: dev's shape applied to the AWS emulator that `cargo xtask` runs on 127.0.0.1. Only what the
# emulator can't do is left out or reshaped, each with the reason (printed by `cargo xtask deploy local`).
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

  domain_name = "local.authorworks.io"
  # The emulator's ACM issues at once and nothing resolves its zone: there is nothing to delegate.
  dns_delegated      = true
  github_repository  = "authorworks/authorworks-infra"
  log_retention_days = 14
  monthly_budget_usd = 500

  emulator_omissions = {
    eks_addons               = "the emulator has no EKS add-on API (CreateAddon)"
    eks_access_entries       = "the emulator's EKS has no access entries and keeps no access config (authentication mode): only the cluster creator could use the API"
    eks_upgrade_policy       = "the emulator's EKS does not keep the upgrade policy (support type), so every plan would set it again"
    budget                   = "AWS Budgets never finishes: the emulator lacks ListTagsForResource for budgets"
    anomaly_detection        = "the emulator's Cost Explorer has no anomaly monitors"
    cache                    = "the emulator's ElastiCache never finishes deleting a cache node and does not create a replication group's members: local has no Redis"
    cdn                      = "the emulator's CloudFront does not keep aliases, origin access control or the viewer certificate, so every plan would rewrite the distribution"
    performance_insights     = "the emulator's RDS does not keep Performance Insights settings"
    db_parameter_group       = "the emulator's RDS does not keep a parameter group's parameters: the engine default group is used"
    guardduty_features       = "the emulator's GuardDuty does not keep detector features (EKS audit logs), so every plan would add them again"
    tls_only_bucket_policies = "the emulator ignores the aws:SecureTransport condition, so a TLS-only deny would lock every object out (it serves plain HTTP on 127.0.0.1)"
  }
}
