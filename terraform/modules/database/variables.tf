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

variable "engine_version" {
  description = "PostgreSQL major version. Only the major: with automatic minor upgrades RDS moves the minor itself, and a pinned minor would make the next plan try to downgrade."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "the platform runs PostgreSQL 15: engine_version must be 15 or 15.x; it is ${var.engine_version}."
  }

  # RDS applies minor upgrades in the maintenance window when auto_minor_version_upgrade is on; the
  # provider accepts a version prefix ("15") then and compares it with engine_version_actual.
  validation {
    condition     = !var.auto_minor_version_upgrade || can(regex("^[0-9]+$", var.engine_version))
    error_message = "RDS version rule: with auto_minor_version_upgrade, AWS changes the minor version itself, so engine_version must be the major only (\"15\"), not ${var.engine_version}."
  }
}

variable "auto_minor_version_upgrade" {
  description = "Let RDS apply minor engine upgrades in the maintenance window (engine_version then names the major only)."
  type        = bool
  default     = true
}

variable "instance_class" {
  description = "Instance class of the primary (and of the replica unless replica_instance_class is set)."
  type        = string

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.t3.micro."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB, at least 10% above allocated_storage_gb (0 turns autoscaling off)."
  type        = number
  default     = 100

  # Amazon RDS User Guide, "Managing capacity automatically with Amazon RDS storage autoscaling": the
  # maximum storage threshold must exceed the allocated storage, by at least 10% (RDS rejects a
  # smaller one: InvalidParameterCombination), and at most 65,536 GiB for gp3.
  validation {
    condition     = var.max_allocated_storage_gb == 0 || (var.max_allocated_storage_gb >= ceil(var.allocated_storage_gb * 1.1) && var.max_allocated_storage_gb <= 65536)
    error_message = "RDS storage autoscaling rule: max_allocated_storage_gb (${var.max_allocated_storage_gb}) must be 0 (off) or at least 10% above allocated_storage_gb (${var.allocated_storage_gb}), i.e. >= ${ceil(var.allocated_storage_gb * 1.1)}, and at most 65536."
  }
}

variable "multi_az" {
  description = "A synchronous standby in another zone."
  type        = bool
  default     = false
}

variable "create_read_replica" {
  description = "A read replica of the primary."
  type        = bool
  default     = false
}

variable "replica_instance_class" {
  description = "Instance class of the read replica (null: same as the primary)."
  type        = string
  default     = null
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "RDS keeps automated backups 1 to 35 days."
  }
}

variable "protected" {
  description = "Deletion protection on, and a final snapshot when the instance is deleted."
  type        = bool
  default     = true
}

variable "database_name" {
  description = "Name of the database created on the instance."
  type        = string
  default     = "authorworks"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase identifier."
  }
}

variable "master_username" {
  description = "Master user name; its password is generated and rotated by RDS in Secrets Manager."
  type        = string
  default     = "authorworks_admin"
}

variable "subnet_ids" {
  description = "Database subnets (no route to the internet)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the instance (the network module's database group)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the master secret."
  type        = string
}

variable "monitoring_interval_seconds" {
  description = "Enhanced monitoring interval (0 turns it off)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval_seconds)
    error_message = "monitoring_interval_seconds must be 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (null: alarms without actions)."
  type        = string
  default     = null
}

variable "enable_performance_insights" {
  description = "Performance Insights (7 days, the free tier), encrypted with the KMS key."
  type        = bool
  default     = true
}

variable "custom_parameter_group" {
  description = "Use the module's parameter group (TLS forced, query logging) instead of the engine default."
  type        = bool
  default     = true
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups RDS exports PostgreSQL logs to."
  type        = string
}

variable "log_retention_days" {
  description = "Days the exported PostgreSQL logs are kept in CloudWatch Logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …); it is ${var.log_retention_days}."
  }
}

variable "restore_source" {
  description = "Create the primary from a backup instead of empty: a snapshot (`snapshot_identifier`: a name, or an ARN for a copy or another account's), or a point in time of an instance's automated backups (`source_dbi_resource_id`, or `source_automated_backups_arn` for backups replicated to another region; with `restore_time` in UTC, or `use_latest_restorable_time`). Used when the instance is created: `cargo xtask restore <env>` passes it for the one apply that replaces the instance; null otherwise."
  type = object({
    snapshot_identifier          = optional(string)
    source_dbi_resource_id       = optional(string)
    source_automated_backups_arn = optional(string)
    restore_time                 = optional(string)
    use_latest_restorable_time   = optional(bool)
  })
  default = null

  validation {
    condition     = var.restore_source == null || ((try(var.restore_source.snapshot_identifier, null) != null) != (try(var.restore_source.source_dbi_resource_id, null) != null || try(var.restore_source.source_automated_backups_arn, null) != null))
    error_message = "restore_source: either a snapshot (snapshot_identifier) or a point in time of automated backups (source_dbi_resource_id or source_automated_backups_arn), exactly one of them."
  }
  # RestoreDBInstanceToPointInTime (RDS API Reference): one source of automated backups, and either
  # RestoreTime or UseLatestRestorableTime ("Can't be specified if the UseLatestRestorableTime parameter
  # is enabled"); neither goes with a snapshot.
  validation {
    condition     = var.restore_source == null || try(var.restore_source.snapshot_identifier, null) != null || ((try(var.restore_source.source_dbi_resource_id, null) != null) != (try(var.restore_source.source_automated_backups_arn, null) != null))
    error_message = "restore_source: a point-in-time restore names one source of automated backups: source_dbi_resource_id (this region) or source_automated_backups_arn (replicated backups), not both."
  }
  validation {
    condition     = var.restore_source == null || (try(var.restore_source.snapshot_identifier, null) != null ? (try(var.restore_source.restore_time, null) == null && !coalesce(try(var.restore_source.use_latest_restorable_time, null), false)) : ((try(var.restore_source.restore_time, null) != null) != coalesce(try(var.restore_source.use_latest_restorable_time, null), false)))
    error_message = "restore_source: a point-in-time restore takes restore_time or use_latest_restorable_time = true, exactly one; a snapshot restore takes neither."
  }
  # RestoreTime: "Must be in Universal Coordinated Time (UTC) format" (RDS API Reference, e.g. 2009-09-07T23:45:00Z).
  validation {
    condition     = try(var.restore_source.restore_time, null) == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.restore_source.restore_time))
    error_message = "restore_source.restore_time must be a UTC time in RFC 3339 form, like 2026-12-04T09:30:00Z; it is ${coalesce(try(var.restore_source.restore_time, null), "null")}."
  }
}

variable "backup_replication" {
  description = "Replicate the automated backups (snapshots and transaction logs) to the DR Region (provider aws.dr) with this KMS key of that Region: point-in-time restore there. null: no replication."
  type = object({
    kms_key_arn = string
  })
  default = null

  validation {
    condition     = var.backup_replication == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.backup_replication.kms_key_arn))
    error_message = "backup_replication.kms_key_arn must be a KMS key ARN (arn:aws:kms:<dr region>:<account>:key/<id>)."
  }
}
