# The AuthorWorks platform, composed once for every environment. Each environment root calls this with
# its sizing; `emulator_omissions` (local only) switches off what the AWS emulator can't do.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_region" "dr" {
  provider = aws.dr
}

locals {
  name         = "${var.project}-${var.environment}"
  cluster_name = "${local.name}-eks"
  omit         = toset(keys(var.emulator_omissions))
  # Public and database subnets are the DESIGN's /24s (x.x.1-3.0, x.x.21-23.0). The private subnets,
  # where the nodes take /28 prefixes for their pods (prefix delegation), are /20s at x.x.32.0,
  # x.x.48.0 and x.x.64.0 instead of the DESIGN's x.x.11-13.0/24: a /24 has 14 whole /28 blocks, and a
  # zone needs 76 at production's maximum node count with one zone lost (the eks module computes it and
  # refuses subnets too small: its subnet_cidrs precondition).
  cidrs = {
    public   = [for i in range(var.sizing.az_count) : cidrsubnet(var.sizing.vpc_cidr, 8, 1 + i)]
    private  = [for i in range(var.sizing.az_count) : cidrsubnet(var.sizing.vpc_cidr, 4, 2 + i)]
    database = [for i in range(var.sizing.az_count) : cidrsubnet(var.sizing.vpc_cidr, 8, 21 + i)]
  }
}

# The application services and what each uses: the one table of them (the wiring model of issue 12).
# Each runs in the namespace `authorworks` as the ServiceAccount named like it. database: its own
# PostgreSQL role and database (named with underscores) and the secret <project>/<env>/db/<service>;
# redis: its own IAM-authenticated cache user, keys under `<service>:`; bucket: the storage purpose
# whose objects it reads and writes (with the s3 key); sends_email: SES from the environment's domain;
# app_secrets: the application secrets (<project>/<env>/app/<name>) it reads through external-secrets.
locals {
  workloads = {
    gateway              = { database = false, redis = true, bucket = null, sends_email = false, app_secrets = ["session-signing-key"] }
    user-service         = { database = true, redis = true, bucket = null, sends_email = false, app_secrets = ["session-signing-key"] }
    content-service      = { database = true, redis = false, bucket = null, sends_email = false, app_secrets = [] }
    editor-service       = { database = false, redis = true, bucket = null, sends_email = false, app_secrets = ["ai-provider-api-key"] }
    media-service        = { database = true, redis = false, bucket = "media", sends_email = false, app_secrets = [] }
    notification-service = { database = true, redis = true, bucket = null, sends_email = true, app_secrets = [] }
    search-service       = { database = true, redis = true, bucket = null, sends_email = false, app_secrets = [] }
    export-service       = { database = false, redis = false, bucket = "exports", sends_email = false, app_secrets = [] }
  }
  workload_namespace = "authorworks"
  with_database      = toset([for k, w in local.workloads : k if w.database])
  with_cache_user    = toset([for k, w in local.workloads : k if w.redis])
  # Every service that uses AWS itself gets an IRSA role; the cache's users connect only where the
  # cache exists (local leaves it out: their roles then hold no policy).
  with_aws = { for k, w in local.workloads : k => {
    bucket     = w.bucket
    cache      = w.redis && !contains(local.omit, "cache")
    send_email = w.sends_email
  } if w.bucket != null || w.redis || w.sends_email }
}

locals {
  db_name = "${local.name}-postgres"
  # The remote-state bucket `cargo xtask bootstrap` makes (xtask/src/target.rs, state_bucket): the
  # operations role reads it, and modules/storage sets its lifecycle rule.
  state_bucket = "${var.project}-${var.environment}-tfstate-${data.aws_caller_identity.current.account_id}"
}

module "security" {
  source = "../modules/security"

  project                     = var.project
  environment                 = var.environment
  oidc_provider_arn           = module.eks.oidc_provider_arn
  oidc_issuer                 = module.eks.oidc_issuer
  cluster_name                = local.cluster_name
  hosted_zone_arn             = module.dns.zone_arn
  alert_topic_arn             = module.monitoring.alert_topic_arn
  github_repository           = var.github_repository
  create_github_oidc_provider = var.create_github_oidc_provider
  secret_recovery_window_days = var.protected ? 30 : 0
  # With Argo CD (var.gitops) also its credential for this repository (k8s/gitops/repository.yaml).
  application_secrets = toset(concat(flatten([for w in local.workloads : w.app_secrets]), var.gitops ? ["argocd-repository"] : []))
  # What external-secrets reads besides them: each service's database login, and the RDS master
  # secret the database-setup job creates the roles with.
  external_secret_names = values(module.database_logins.service_secret_names)
  external_secret_arns  = [module.database.master_secret_arn]
  loki_bucket_arn       = module.storage.bucket_arns["loki"]

  create_autoscaling_service_linked_role = var.create_autoscaling_service_linked_role
  cloudfront_reads_s3_key                = !contains(local.omit, "cdn")
  # The application secrets' values come from outside (third parties, the team): where there is a DR
  # region they are replicated there, for the dr environment's rebuild.
  application_secret_replica = var.dr_enabled ? { region = data.aws_region.dr.name, kms_key_arn = module.storage.replica_kms_key_arn } : null
  # Who publishes to the alert topic: CloudWatch alarms, Budgets, Cost Anomaly Detection, and
  # EventBridge (the GuardDuty, Security Hub and Access Analyzer finding rules). The trail notifies
  # nobody (monitoring: no sns_topic_name), so CloudTrail is not among them. The monitoring and
  # governance modules refuse a rule or alarm whose publisher this list lacks.
  sns_key_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com"]
  # The secret versions this stack writes (the services' database logins): the plan role's refresh reads them.
  refreshed_secret_names = values(module.database_logins.service_secret_names)
  operations = {
    db_instance_identifier = local.db_name
    state_bucket           = local.state_bucket
    backups_bucket_arn     = module.storage.bucket_arns["backups"]
    dr_region              = var.dr_enabled ? data.aws_region.dr.name : null
    dr_backup_kms_key_arn  = var.dr_enabled ? module.storage.replica_kms_key_arn : null
  }
  github_workflows = var.github_workflows
}

module "network" {
  source = "../modules/network"

  project                 = var.project
  environment             = var.environment
  vpc_cidr                = var.sizing.vpc_cidr
  az_count                = var.sizing.az_count
  public_subnet_cidrs     = local.cidrs.public
  private_subnet_cidrs    = local.cidrs.private
  database_subnet_cidrs   = local.cidrs.database
  single_nat_gateway      = var.sizing.single_nat_gateway
  cluster_name            = local.cluster_name
  flow_log_retention_days = var.log_retention_days
  logs_kms_key_arn        = module.security.kms_key_arns["logs"]
  interface_endpoints     = var.interface_endpoints
}

# Images: a repository per service (the workloads table), the pull-through cache for the registries the
# platform's charts pull from, and each service's push role. The upstreams (helm-values/ and the charts'
# default images at their pinned versions): quay.io (Prometheus, Alertmanager, the operator, node
# exporter, cert-manager, Argo CD), registry.k8s.io (metrics-server, cluster-autoscaler, external-dns,
# kube-state-metrics), public.ecr.aws (the load balancer controller, Argo CD's Redis), ghcr.io (Linkerd:
# cr.l5d.io serves ghcr.io/linkerd; external-secrets; Dex) and Docker Hub (Grafana, Loki, Alloy, Tempo,
# the OpenTelemetry collector). GitHub and Docker Hub take a login (the secrets a person fills).
locals {
  pull_through_cache = {
    quay       = { upstream_registry_url = "quay.io" }
    k8s        = { upstream_registry_url = "registry.k8s.io" }
    ecr-public = { upstream_registry_url = "public.ecr.aws" }
    github     = { upstream_registry_url = "ghcr.io", authenticated = true }
    docker-hub = { upstream_registry_url = "registry-1.docker.io", authenticated = true }
  }
  # Each service is built by its own repository of the organisation that owns this one, unless
  # service_github_repositories says otherwise.
  github_owner = split("/", var.github_repository)[0]
}

module "ecr" {
  source = "../modules/ecr"

  project                     = var.project
  environment                 = var.environment
  services                    = toset(keys(local.workloads))
  kms_key_arn                 = module.security.kms_key_arns["ecr"]
  keep_releases               = var.ecr_keep_releases
  scan_type                   = var.ecr_scan_type
  pull_through_cache          = contains(local.omit, "ecr_pull_through_cache") ? {} : local.pull_through_cache
  secret_recovery_window_days = var.protected ? 30 : 0
  github_oidc_provider_arn    = module.security.github_oidc_provider_arn
  service_repositories        = merge({ for s in keys(local.workloads) : s => "${local.github_owner}/${s}" }, var.service_github_repositories)
  node_role_name              = module.eks.node_role_name
  # Production copies its services' images to its DR region; dr pulls those copies (its own region's
  # registry, bound as ${terraform:registry_host} in the overlay it runs) and makes no repositories.
  replicate_to_region             = var.dr_enabled ? data.aws_region.dr.name : null
  service_repositories_replicated = var.service_repositories_replicated
}

module "eks" {
  source = "../modules/eks"

  project                      = var.project
  environment                  = var.environment
  kubernetes_version           = var.kubernetes_version
  support_type                 = contains(local.omit, "eks_upgrade_policy") ? null : "STANDARD"
  subnet_ids                   = module.network.private_subnet_ids
  subnet_cidrs                 = local.cidrs.private
  cluster_security_group_ids   = [module.network.security_group_ids["cluster"]]
  endpoint_public_access_cidrs = var.api_public_access_cidrs
  secrets_kms_key_arn          = module.security.kms_key_arns["eks"]
  logs_kms_key_arn             = module.security.kms_key_arns["logs"]
  log_retention_days           = var.log_retention_days
  node_groups                  = var.sizing.node_groups
  enable_addons                = !contains(local.omit, "eks_addons")
  ebs_csi_role_arn             = module.security.controller_role_arns["ebs-csi"]
  node_security_group_ids      = [module.network.security_group_ids["nodes"]]
  enable_access_entries        = !contains(local.omit, "eks_access_entries")
  # The deploy role (the apply job's cluster steps, on the CI runners) and the people's admin role are
  # cluster admins; the developer role gets the group k8s/base/rbac.yaml binds in the workload namespace.
  access_entries = merge(
    { deploy = { principal_arn = module.security.github_deploy_role_arn, cluster_admin = true } },
    { for k, r in module.security.cluster_role_arns : k => { principal_arn = r.arn, kubernetes_groups = [r.kubernetes_group], cluster_admin = r.cluster_admin } },
  )
}

# Reach: the API endpoint is private (unless api_public_access_cidrs lists operators' ranges). CI's
# cluster steps run on CodeBuild-hosted GitHub Actions runners inside the VPC; people port-forward
# through an SSM-managed bastion (`cargo xtask tunnel <env>`). Both are admitted to the API on 443 only.
module "ci_runner" {
  source = "../modules/ci-runner"

  project                   = var.project
  environment               = var.environment
  github_repository         = var.github_repository
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  cluster_security_group_id = module.network.security_group_ids["cluster"]
  logs_kms_key_arn          = module.security.kms_key_arns["logs"]
  log_retention_days        = var.log_retention_days
  create_connection         = !contains(local.omit, "ci_runner_connection")
  connection_authorized     = var.ci_runner_connection_authorized && !contains(local.omit, "ci_runner_connection")
}

module "bastion" {
  source = "../modules/bastion"

  project                   = var.project
  environment               = var.environment
  vpc_id                    = module.network.vpc_id
  subnet_id                 = module.network.private_subnet_ids[0]
  cluster_security_group_id = module.network.security_group_ids["cluster"]
  cluster_name              = module.eks.cluster_name
  tunnel_roles              = module.security.cluster_role_names
}

module "database" {
  source = "../modules/database"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  project                  = var.project
  environment              = var.environment
  instance_class           = var.sizing.db_instance_class
  allocated_storage_gb     = var.sizing.db_allocated_storage_gb
  max_allocated_storage_gb = var.sizing.db_max_allocated_storage_gb
  multi_az                 = var.sizing.db_multi_az
  create_read_replica      = var.sizing.db_read_replica
  backup_retention_days    = min(var.sizing.backup_retention_days, 35)
  protected                = var.protected
  subnet_ids               = module.network.database_subnet_ids
  security_group_ids       = [module.network.security_group_ids["database"]]
  kms_key_arn              = module.security.kms_key_arns["rds"]
  logs_kms_key_arn         = module.security.kms_key_arns["logs"]
  log_retention_days       = var.log_retention_days
  alarm_topic_arn          = module.monitoring.alert_topic_arn

  enable_performance_insights = !contains(local.omit, "performance_insights")
  custom_parameter_group      = !contains(local.omit, "db_parameter_group")

  # RPO in minutes: automated backups (snapshots and transaction logs) replicated to the DR region,
  # encrypted with that region's key, restorable there to a point in time (the dr environment).
  backup_replication = var.dr_enabled ? { kms_key_arn = module.storage.replica_kms_key_arn } : null
  restore_source     = var.database_restore_source
}

# Each service's database login: its secret, which the cluster's database-setup job makes the role from.
module "database_logins" {
  source = "../modules/database-logins"

  project             = var.project
  environment         = var.environment
  protected           = var.protected
  database_identifier = module.database.instance_identifier
  master_username     = module.database.master_username
  service_databases   = local.with_database
  secrets_kms_key_arn = module.security.kms_key_arns["secrets"]
}

# The logins were the database module's until they had a module of their own.
moved {
  from = module.database.aws_secretsmanager_secret.service
  to   = module.database_logins.aws_secretsmanager_secret.service
}

moved {
  from = module.database.aws_secretsmanager_secret_version.service
  to   = module.database_logins.aws_secretsmanager_secret_version.service
}

module "cache" {
  source = "../modules/cache"
  count  = contains(local.omit, "cache") ? 0 : 1

  project                 = var.project
  environment             = var.environment
  node_type               = var.sizing.cache_node_type
  num_cache_clusters      = var.sizing.cache_nodes
  cluster_mode            = var.sizing.cache_cluster_mode
  num_node_groups         = var.sizing.cache_shards
  replicas_per_node_group = var.sizing.cache_replicas_per_shard
  snapshot_retention_days = var.protected ? 7 : 1
  subnet_ids              = module.network.database_subnet_ids
  security_group_ids      = [module.network.security_group_ids["cache"]]
  kms_key_arn             = module.security.kms_key_arns["cache"]
  logs_kms_key_arn        = module.security.kms_key_arns["logs"]
  log_retention_days      = var.log_retention_days
  users                   = local.with_cache_user
}

module "workloads" {
  source = "../modules/workloads"

  project                     = var.project
  environment                 = var.environment
  oidc_provider_arn           = module.eks.oidc_provider_arn
  oidc_issuer                 = module.eks.oidc_issuer
  namespace                   = local.workload_namespace
  services                    = local.with_aws
  bucket_arns                 = module.storage.bucket_arns
  bucket_kms_key_arn          = module.security.kms_key_arns["s3"]
  cache_user_arns             = try(module.cache[0].user_arns, {})
  cache_replication_group_arn = try(module.cache[0].replication_group_arn, null)
  email_identity_arn          = module.dns.email_identity_arn
}

module "storage" {
  source = "../modules/storage"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  project             = var.project
  environment         = var.environment
  kms_key_arn         = module.security.kms_key_arns["s3"]
  state_bucket        = local.state_bucket
  backups_expire_days = var.sizing.backup_retention_days
  enable_replication  = var.dr_enabled
  media_reader_arns   = contains(local.omit, "cdn") ? [] : [module.cdn[0].distribution_arn]
  # The ALB the load balancer controller makes writes its access logs under this prefix.
  load_balancer_logs_prefix = module.edge.access_logs_prefix
  enforce_tls               = !contains(local.omit, "tls_only_bucket_policies")
  force_destroy             = !var.protected
  # AWS Config (governance module) delivers to the logs bucket under this prefix.
  config_delivery_prefix = var.enable_config ? local.config_prefix : ""
}

module "dns" {
  source = "../modules/dns"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  project        = var.project
  environment    = var.environment
  domain_name    = var.domain_name
  zone_delegated = var.dns_delegated
  delegations    = var.dns_delegations
}

# CloudFront is global and its web ACL (scope CLOUDFRONT) exists only in us-east-1: the module runs
# with the us-east-1 provider wherever the environment is.
module "cdn" {
  source = "../modules/cdn"
  count  = contains(local.omit, "cdn") ? 0 : 1
  providers = {
    aws = aws.us_east_1
  }

  project                           = var.project
  environment                       = var.environment
  media_bucket_regional_domain_name = module.storage.media_bucket_regional_domain_name
  aliases                           = ["media.${var.domain_name}"]
  publish_aliases                   = var.dns_delegated
  certificate_arn                   = module.dns.cloudfront_certificate_arn
  zone_id                           = module.dns.zone_id
  enable_waf                        = var.enable_waf
}

module "edge" {
  source = "../modules/edge"

  project           = var.project
  environment       = var.environment
  cluster_name      = local.cluster_name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  vpc_id            = module.network.vpc_id
  enable_waf        = var.enable_waf
}

module "monitoring" {
  source = "../modules/monitoring"

  project                      = var.project
  environment                  = var.environment
  log_retention_days           = var.log_retention_days
  logs_kms_key_arn             = module.security.kms_key_arns["logs"]
  sns_kms_key_arn              = module.security.kms_key_arns["sns"]
  sns_key_publishers           = module.security.sns_key_publishers
  alert_emails                 = var.alert_emails
  cluster_name                 = local.cluster_name
  db_instance_identifier       = local.db_name
  cache_cluster_ids            = try(module.cache[0].member_clusters, [])
  node_autoscaling_group_names = module.eks.node_autoscaling_group_names
  enable_guardduty             = var.enable_guardduty
  enable_guardduty_features    = !contains(local.omit, "guardduty_features")
  enable_cloudtrail            = var.enable_cloudtrail
  enforce_tls                  = !contains(local.omit, "tls_only_bucket_policies")
  force_destroy                = !var.protected
}

module "budget" {
  source = "../modules/budget"
  count  = contains(local.omit, "budget") || !var.enable_budget ? 0 : 1

  project                  = var.project
  environment              = var.environment
  monthly_limit_usd        = var.monthly_budget_usd
  alert_topic_arn          = module.monitoring.alert_topic_arn
  alert_emails             = var.alert_emails
  enable_anomaly_detection = !contains(local.omit, "anomaly_detection")

  existing_anomaly_monitor_arn = var.existing_anomaly_monitor_arn
}

# The account watching itself: AWS Config, Security Hub (Foundational Security Best Practices), IAM
# Access Analyzer, EBS encryption by default, the account's S3 public access block, and their
# high-severity findings to the alert topic. Each singleton can be left to an organisation (the
# environment's arguments; terraform/README.md).
locals {
  config_prefix = "config"
}

module "governance" {
  source = "../modules/governance"

  project            = var.project
  environment        = var.environment
  alert_topic_arn    = module.monitoring.alert_topic_arn
  sns_key_publishers = module.security.sns_key_publishers

  enable_config                     = var.enable_config
  config_include_global_resources   = var.config_records_global_resources
  create_config_service_linked_role = var.create_config_service_linked_role
  config_recorded_elsewhere         = var.config_recorded_elsewhere
  # The bucket name as the bucket policy's: Config checks the policy when the channel is made.
  config_bucket_name   = module.storage.config_delivery_bucket
  config_s3_key_prefix = local.config_prefix

  enable_security_hub    = var.enable_security_hub && !contains(local.omit, "security_hub")
  enable_access_analyzer = var.enable_access_analyzer && !contains(local.omit, "access_analyzer")

  manage_ebs_encryption_by_default = var.manage_ebs_encryption_by_default
  # The eks key: its policy lets EC2 Auto Scaling use it (the nodes' volumes are encrypted with it too).
  ebs_default_kms_key                = contains(local.omit, "ebs_default_kms_key") ? null : { arn = module.security.kms_key_arns["eks"] }
  manage_account_public_access_block = var.manage_account_public_access_block && !contains(local.omit, "account_public_access_block")
}
