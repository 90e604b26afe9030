variable "project" {
  description = "Project name, first part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name: dev, staging, production, dr (production rebuilt in its DR region) or local."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production", "dr", "local"], var.environment)
    error_message = "environment must be one of dev, staging, production, dr, local."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}

# ---- sizing
variable "sizing" {
  description = "How big the environment is: its network, node groups, database and cache. Written once per shape, in terraform/environments/<env>/sizing (output `values`), and read by every root of that shape: dr runs production's, local dev's. Each field is described where the type is written, in variables.tf."
  type = object({
    # The VPC's /16; subnets are carved from it: public x.x.1-3.0/24, private x.x.32.0/20, x.x.48.0/20,
    # x.x.64.0/20 (room for prefix delegation), database x.x.21-23.0/24.
    vpc_cidr = string
    # Availability zones the environment spans.
    az_count = optional(number, 3)
    # One NAT gateway shared by all zones (dev) instead of one per zone.
    single_nat_gateway = optional(bool, false)
    # Managed node groups by name: system, application, batch … Their shape, defaults and rules are
    # the eks module's `node_groups`, which this is given to whole.
    node_groups = any
    # RDS instance class.
    db_instance_class = string
    # RDS storage in GiB.
    db_allocated_storage_gb = optional(number, 20)
    # RDS storage autoscaling ceiling in GiB: at least 10% above db_allocated_storage_gb (the database
    # module refuses less), 0 for none.
    db_max_allocated_storage_gb = number
    # RDS Multi-AZ standby.
    db_multi_az = optional(bool, false)
    # An RDS read replica.
    db_read_replica = optional(bool, false)
    # Days automated RDS backups (and `cargo xtask backup` snapshots) are kept.
    backup_retention_days = number
    # ElastiCache node type.
    cache_node_type = string
    # Nodes of the (non-clustered) Redis replication group; 2+ enables failover.
    cache_nodes = optional(number, 1)
    # Redis cluster mode (sharded).
    cache_cluster_mode = optional(bool, false)
    # Redis shards in cluster mode.
    cache_shards = optional(number, 2)
    # Redis replicas per shard in cluster mode.
    cache_replicas_per_shard = optional(number, 1)
  })

  validation {
    condition     = can(cidrhost(var.sizing.vpc_cidr, 0)) && endswith(var.sizing.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a /16 such as 10.2.0.0/16."
  }

  validation {
    condition     = var.sizing.az_count >= 2 && var.sizing.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }

  validation {
    condition     = var.sizing.backup_retention_days >= 1 && var.sizing.backup_retention_days <= 3650
    error_message = "backup_retention_days must be between 1 and 3650 (RDS keeps automated backups 35 days at most; cargo xtask backup's snapshots cover the rest)."
  }
}

# ---- cluster
variable "kubernetes_version" {
  description = "Kubernetes version of the cluster (validate checks the manifests against it)."
  type        = string
  default     = "1.36"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.36."
  }
}

variable "api_public_access_cidrs" {
  description = "Operators' fixed public IPv4 ranges that may reach the Kubernetes API's public endpoint, at most 40 (EKS's quota): the alternative to `cargo xtask tunnel <env>` through the bastion (empty: private endpoint only, the default)."
  type        = list(string)
  default     = []
}

variable "ci_runner_connection_authorized" {
  description = "Whether the GitHub connection of the CI runners (AWS CodeConnections) has been completed in the console: false only for the first apply in a new account, which makes the connection PENDING and no runner project; true makes the CodeBuild project and its webhook (docs/INFRASTRUCTURE.md, First apply in a new account)."
  type        = bool
}

# ---- data
variable "database_restore_source" {
  description = "What `cargo xtask restore <env>` creates the database from (a snapshot, or a point in time of automated backups; the database module's restore_source); null otherwise."
  type = object({
    snapshot_identifier          = optional(string)
    source_dbi_resource_id       = optional(string)
    source_automated_backups_arn = optional(string)
    restore_time                 = optional(string)
    use_latest_restorable_time   = optional(bool)
  })
  default = null
}

variable "protected" {
  description = "Deletion protection and final snapshots on the data resources."
  type        = bool
  default     = true
}

# ---- edge, identity, operations
variable "domain_name" {
  description = "The environment's domain."
  type        = string
}

variable "dns_delegated" {
  description = "Whether the parent zone or the registrar delegates domain_name to this environment's zone (its name_servers output). false on a first apply: the certificate is requested but not waited for, and the CDN serves only its cloudfront.net name; set true once delegated (docs/INFRASTRUCTURE.md, First apply in a new account)."
  type        = bool
}

variable "dns_delegations" {
  description = "Subdomains of domain_name served by other environments' zones (their own accounts): subdomain => that environment's name_servers output."
  type        = map(list(string))
  default     = {}
}

variable "create_autoscaling_service_linked_role" {
  description = "Create the account's EC2 Auto Scaling service-linked role (the eks key's policy names it): true in a fresh account, false where any Auto Scaling group has ever been made."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "Repository (owner/name) whose workflows may deploy the environment."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false where another environment in the same account made it)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps logs."
  type        = number
  default     = 30
}

variable "alert_emails" {
  description = "Addresses alerts and budget notices go to; required outside local (the monitoring module refuses none). Not committed: each environment takes it as TF_VAR_alert_emails (see terraform/README.md)."
  type        = list(string)
  default     = []
}

variable "enable_guardduty" {
  description = "This account's GuardDuty detector (false where an organisation's delegated administrator owns it; or import it: see the monitoring module)."
  type        = bool
  default     = true
}

variable "enable_cloudtrail" {
  description = "This environment's own trail (false where an organisation trail already records the account)."
  type        = bool
  default     = true
}

variable "existing_anomaly_monitor_arn" {
  description = "The account's existing Cost Anomaly Detection service monitor, reused instead of creating a second (AWS allows one); null creates it."
  type        = string
  default     = null
}

variable "enable_budget" {
  description = "This environment's AWS Budgets budget and cost-anomaly subscription: false where another environment's budget already covers the account (dr: production's budget is the account's)."
  type        = bool
  default     = true
}

# ---- governance (the account watching itself): each a per-account or per-Region singleton
variable "enable_config" {
  description = "AWS Config in this account and Region: recorder, delivery channel to the logs bucket, recorder status, managed rules (false where an organisation's recorder records the account: set config_recorded_elsewhere)."
  type        = bool
  default     = true
}

variable "config_records_global_resources" {
  description = "The Config recorder records global resource types (IAM): true in the account's home Region only (dr, in production's account and another Region: false)."
  type        = bool
  default     = true
}

variable "create_config_service_linked_role" {
  description = "Create the account's AWS Config service-linked role (one per account): false where another environment of the account made it (dr)."
  type        = bool
  default     = true
}

variable "config_recorded_elsewhere" {
  description = "An organisation's AWS Config recorder records this account and Region (with enable_config = false)."
  type        = bool
  default     = false
}

variable "enable_security_hub" {
  description = "Security Hub with the AWS Foundational Security Best Practices standard in this account and Region (false where an organisation's delegated administrator enables it)."
  type        = bool
  default     = true
}

variable "enable_access_analyzer" {
  description = "An IAM Access Analyzer for the account in this Region (false where an organisation's analyzer covers it)."
  type        = bool
  default     = true
}

variable "manage_ebs_encryption_by_default" {
  description = "EBS encryption by default in this Region, with the eks key as the default key."
  type        = bool
  default     = true
}

variable "manage_account_public_access_block" {
  description = "The account's S3 Block Public Access (global, one per account): false where another environment of the account (dr) or the organisation manages it."
  type        = bool
  default     = true
}

variable "monthly_budget_usd" {
  description = "The environment's monthly budget in USD (AWS Budgets alerts; `cargo xtask cost-report` gates on it)."
  type        = number

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

variable "gitops" {
  description = "Argo CD runs in this environment's cluster and syncs the application (dev, staging, production and dr; not local; k8s/gitops): its repository credential secret <project>/<env>/app/argocd-repository is made for it."
  type        = bool
  default     = false
}

variable "service_repositories_replicated" {
  description = "True in the DR environment: its service repositories are production's, replicated into this region by production's registry (terraform/modules/ecr), so none are made here."
  type        = bool
  default     = false
}

variable "dr_enabled" {
  description = "Replicate buckets to the DR region (provider aws.dr) and keep a key there for snapshot copies."
  type        = bool
  default     = false
}

variable "enable_waf" {
  description = "WAF in front of the CDN and a regional web ACL on the ALB (required in production)."
  type        = bool
  default     = false
}

variable "emulator_omissions" {
  description = "Only for the `local` environment: feature => why the AWS emulator can't do it. Each named feature is left out or reshaped; `cargo xtask` prints this list."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.emulator_omissions) : contains(["eks_addons", "eks_upgrade_policy", "budget", "anomaly_detection", "cache", "cdn", "guardduty_features", "tls_only_bucket_policies", "performance_insights", "db_parameter_group", "eks_access_entries", "security_hub", "access_analyzer", "ebs_default_kms_key", "account_public_access_block", "ci_runner_connection", "ecr_pull_through_cache"], k)])
    error_message = "emulator_omissions keys are: eks_addons, eks_upgrade_policy, eks_access_entries, budget, anomaly_detection, cache, cdn, guardduty_features, tls_only_bucket_policies, performance_insights, db_parameter_group, security_hub, access_analyzer, ebs_default_kms_key, account_public_access_block, ci_runner_connection, ecr_pull_through_cache."
  }
}

variable "github_workflows" {
  description = "The workflow files each GitHub role trusts (the security module's github_workflows); null: the defaults (deploy.yml, operations.yml, ci.yml for pull requests, deploy.yml and drift.yml on main). dr trusts deploy.yml only: it is rebuilt by the deploy workflow, and no scheduled job runs against it."
  type = object({
    deploy            = string
    operations        = optional(string)
    plan_pull_request = list(string)
    plan_main         = list(string)
  })
  default = null
}

variable "interface_endpoints" {
  description = "AWS services the private subnets reach through interface VPC endpoints instead of the NAT gateways (ecr.api, ecr.dkr, sts, …). Each costs $0.01 per zone-hour: it pays only where its own traffic is above ~209 GB a month per zone (docs/COST_OPTIMIZATION.md). The S3 gateway endpoint is always there."
  type        = set(string)
  default     = []
}

variable "ecr_keep_releases" {
  description = "Tagged images (releases) each service's repository keeps, newest first: how far back a rollback can go."
  type        = number
  default     = 30
}

variable "ecr_scan_type" {
  description = "ECR registry scanning: BASIC (scan on push, free) or ENHANCED (Amazon Inspector, continuous, billed per image)."
  type        = string
  default     = "BASIC"
}

variable "service_github_repositories" {
  description = "Service => the GitHub repository (owner/name) whose CI pushes its image, where it is not <owner of github_repository>/<service>."
  type        = map(string)
  default     = {}
}
