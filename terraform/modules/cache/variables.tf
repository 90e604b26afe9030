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

variable "node_type" {
  description = "Cache node type."
  type        = string

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.node_type))
    error_message = "node_type must look like cache.t3.micro."
  }
}

variable "engine_version" {
  description = "Redis OSS version: 7.1, the last minor of Redis OSS 7 on ElastiCache, so automatic minor upgrades have nothing to move it to."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.engine_version))
    error_message = "the platform runs Redis 7, and its users authenticate with IAM, which needs Redis OSS 7.0 or later (ElastiCache User Guide, \"Authenticating with IAM\"): engine_version must be 7.<minor> (the provider takes <major>.<minor> for Redis 6 and later); it is ${var.engine_version}."
  }

  # With auto_minor_version_upgrade ElastiCache moves a Redis 7 group to the newest 7.x minor itself,
  # and a plan still naming the older minor then tries to downgrade it (hashicorp/terraform-provider-aws
  # #30481; the provider has no "7.x" form). 7.1 is Redis OSS 7's last minor on ElastiCache: nothing
  # newer exists to move to, so it is the one pin AWS won't change under the plan.
  validation {
    condition     = !var.auto_minor_version_upgrade || var.engine_version == "7.1"
    error_message = "ElastiCache version rule: with auto_minor_version_upgrade, AWS moves Redis 7 to its newest minor (7.1) itself, so engine_version ${var.engine_version} would make the next plan downgrade; use 7.1."
  }
}

variable "auto_minor_version_upgrade" {
  description = "Let ElastiCache apply minor and patch engine updates in the maintenance window."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days the slow log is kept in CloudWatch Logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …); it is ${var.log_retention_days}."
  }
}

variable "num_cache_clusters" {
  description = "Nodes of a non-clustered replication group (primary + replicas); 2 or more enables failover and Multi-AZ."
  type        = number
  default     = 1

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must be between 1 and 6."
  }
}

variable "cluster_mode" {
  description = "Shard the data across node groups (cluster mode enabled)."
  type        = bool
  default     = false
}

variable "num_node_groups" {
  description = "Shards in cluster mode."
  type        = number
  default     = 2

  validation {
    condition     = var.num_node_groups >= 1 && var.num_node_groups <= 500
    error_message = "num_node_groups must be between 1 and 500."
  }
}

variable "replicas_per_node_group" {
  description = "Replicas per shard in cluster mode."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas_per_node_group >= 0 && var.replicas_per_node_group <= 5
    error_message = "replicas_per_node_group must be between 0 and 5."
  }
}

variable "snapshot_retention_days" {
  description = "Days automatic snapshots are kept (0 turns them off)."
  type        = number
  default     = 1

  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 0 and 35."
  }
}

variable "subnet_ids" {
  description = "Subnets of the cache (the database tier)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the cache (the network module's cache group)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the slow-log group."
  type        = string
}

variable "users" {
  description = "Services that connect to the cache, each as its own IAM-authenticated user `<project>-<env>-redis-<service>` limited to the keys and channels `<service>:*`."
  type        = set(string)

  # CreateUser: UserId matches [a-zA-Z][a-zA-Z0-9-]* and is stored in lowercase; an IAM-enabled user's
  # user name must equal it (User Guide, "Authenticating with IAM", Limitations).
  validation {
    condition     = alltrue([for u in var.users : can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", u))])
    error_message = "ElastiCache user IDs start with a letter and hold only letters, digits and hyphens, stored in lowercase, and an IAM user's name must equal its ID: each of users must be lowercase a-z, 0-9 and - (got ${join(", ", var.users)})."
  }
  # The group's `default` user is the module's own, switched off (RBAC: every user group has one).
  validation {
    condition     = !contains(var.users, "default")
    error_message = "users: `default` is the user group's required default user, which the module keeps switched off; name the service instead."
  }
}
