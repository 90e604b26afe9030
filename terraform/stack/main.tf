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
  cidrs = {
    public   = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, 1 + i)]
    private  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, 11 + i)]
    database = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, 21 + i)]
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
  application_secrets         = toset(flatten([for w in local.workloads : w.app_secrets]))
  # What external-secrets reads besides them: each service's database login, and the RDS master
  # secret the database-setup job creates the roles with.
  external_secret_names = values(module.database.service_secret_names)
  external_secret_arns  = [module.database.master_secret_arn]
  loki_bucket_arn       = module.storage.bucket_arns["loki"]

  create_autoscaling_service_linked_role = var.create_autoscaling_service_linked_role
  cloudfront_reads_s3_key                = !contains(local.omit, "cdn")
  # Who publishes to the alert topic: alarms, budgets, anomaly alerts, and the trail's notifications
  # (monitoring's aws_cloudtrail.sns_topic_name) while it sends them.
  sns_key_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudtrail.amazonaws.com"]
  operations = {
    db_instance_identifier = local.db_name
    state_bucket           = local.state_bucket
    backups_bucket_arn     = module.storage.bucket_arns["backups"]
    dr_region              = var.dr_enabled ? data.aws_region.dr.name : null
    dr_backup_kms_key_arn  = var.dr_enabled ? module.storage.replica_kms_key_arn : null
  }
}

module "network" {
  source = "../modules/network"

  project                 = var.project
  environment             = var.environment
  vpc_cidr                = var.vpc_cidr
  az_count                = var.az_count
  public_subnet_cidrs     = local.cidrs.public
  private_subnet_cidrs    = local.cidrs.private
  database_subnet_cidrs   = local.cidrs.database
  single_nat_gateway      = var.single_nat_gateway
  cluster_name            = local.cluster_name
  flow_log_retention_days = var.log_retention_days
  logs_kms_key_arn        = module.security.kms_key_arns["logs"]
}

module "eks" {
  source = "../modules/eks"

  project                      = var.project
  environment                  = var.environment
  kubernetes_version           = var.kubernetes_version
  support_type                 = contains(local.omit, "eks_upgrade_policy") ? null : "STANDARD"
  subnet_ids                   = module.network.private_subnet_ids
  cluster_security_group_ids   = [module.network.security_group_ids["cluster"]]
  endpoint_public_access_cidrs = var.api_public_access_cidrs
  secrets_kms_key_arn          = module.security.kms_key_arns["eks"]
  logs_kms_key_arn             = module.security.kms_key_arns["logs"]
  log_retention_days           = var.log_retention_days
  node_groups                  = var.node_groups
  enable_addons                = !contains(local.omit, "eks_addons")
  ebs_csi_role_arn             = module.security.controller_role_arns["ebs-csi"]
  node_security_group_ids      = [module.network.security_group_ids["nodes"]]
  enable_access_entries        = !contains(local.omit, "eks_access_entries")
  access_entries = merge(
    { deploy = { principal_arn = module.security.github_deploy_role_arn, cluster_admin = true } },
    { for k, r in module.security.cluster_role_arns : k => { principal_arn = r.arn, kubernetes_groups = [r.kubernetes_group] } },
  )
}

module "database" {
  source = "../modules/database"

  project                  = var.project
  environment              = var.environment
  instance_class           = var.db_instance_class
  allocated_storage_gb     = var.db_allocated_storage_gb
  max_allocated_storage_gb = var.db_max_allocated_storage_gb
  multi_az                 = var.db_multi_az
  create_read_replica      = var.db_read_replica
  backup_retention_days    = min(var.backup_retention_days, 35)
  protected                = var.protected
  subnet_ids               = module.network.database_subnet_ids
  security_group_ids       = [module.network.security_group_ids["database"]]
  kms_key_arn              = module.security.kms_key_arns["rds"]
  logs_kms_key_arn         = module.security.kms_key_arns["logs"]
  log_retention_days       = var.log_retention_days
  alarm_topic_arn          = module.monitoring.alert_topic_arn
  service_databases        = local.with_database
  secrets_kms_key_arn      = module.security.kms_key_arns["secrets"]

  enable_performance_insights = !contains(local.omit, "performance_insights")
  custom_parameter_group      = !contains(local.omit, "db_parameter_group")
  restore_source              = var.database_restore_source
}

module "cache" {
  source = "../modules/cache"
  count  = contains(local.omit, "cache") ? 0 : 1

  project                 = var.project
  environment             = var.environment
  node_type               = var.cache_node_type
  num_cache_clusters      = var.cache_nodes
  cluster_mode            = var.cache_cluster_mode
  num_node_groups         = var.cache_shards
  replicas_per_node_group = var.cache_replicas_per_shard
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
  backups_expire_days = var.backup_retention_days
  enable_replication  = var.dr_enabled
  media_reader_arns   = contains(local.omit, "cdn") ? [] : [module.cdn[0].distribution_arn]
  # The ALB the load balancer controller makes writes its access logs under this prefix.
  load_balancer_logs_prefix = module.edge.access_logs_prefix
  enforce_tls               = !contains(local.omit, "tls_only_bucket_policies")
  force_destroy             = !var.protected
}

module "dns" {
  source = "../modules/dns"

  project        = var.project
  environment    = var.environment
  domain_name    = var.domain_name
  zone_delegated = var.dns_delegated
  delegations    = var.dns_delegations
}

module "cdn" {
  source = "../modules/cdn"
  count  = contains(local.omit, "cdn") ? 0 : 1

  project                           = var.project
  environment                       = var.environment
  media_bucket_regional_domain_name = module.storage.media_bucket_regional_domain_name
  aliases                           = ["media.${var.domain_name}"]
  publish_aliases                   = var.dns_delegated
  certificate_arn                   = module.dns.certificate_arn
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

  project                   = var.project
  environment               = var.environment
  log_retention_days        = var.log_retention_days
  logs_kms_key_arn          = module.security.kms_key_arns["logs"]
  sns_kms_key_arn           = module.security.kms_key_arns["sns"]
  alert_emails              = var.alert_emails
  cluster_name              = local.cluster_name
  db_instance_identifier    = local.db_name
  cache_id                  = "${local.name}-redis"
  enable_guardduty          = var.enable_guardduty
  enable_guardduty_features = !contains(local.omit, "guardduty_features")
  enable_cloudtrail         = var.enable_cloudtrail
  enforce_tls               = !contains(local.omit, "tls_only_bucket_policies")
  force_destroy             = !var.protected
}

module "budget" {
  source = "../modules/budget"
  count  = contains(local.omit, "budget") ? 0 : 1

  project                  = var.project
  environment              = var.environment
  monthly_limit_usd        = var.monthly_budget_usd
  alert_topic_arn          = module.monitoring.alert_topic_arn
  alert_emails             = var.alert_emails
  enable_anomaly_detection = !contains(local.omit, "anomaly_detection")

  existing_anomaly_monitor_arn = var.existing_anomaly_monitor_arn
}
