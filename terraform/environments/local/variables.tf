# Facts that live in xtask.toml; `cargo xtask` passes them as -var.

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "The environment's region."
  type        = string
}

variable "aws_account_id" {
  description = "The only AWS account this environment may be applied in."
  type        = string
}

variable "dr_region" {
  description = "Disaster-recovery region (null: none)."
  type        = string
  default     = null
}

# Not committed: `cargo xtask restore <env>` passes it (-var) for the one apply that creates the
# database from a backup; every other plan leaves it null, and the restored instance stays.
variable "database_restore_source" {
  description = "What the database is created from in a restore: a snapshot, or a point in time of automated backups (terraform/modules/database, restore_source)."
  type = object({
    snapshot_identifier          = optional(string)
    source_dbi_resource_id       = optional(string)
    source_automated_backups_arn = optional(string)
    restore_time                 = optional(string)
    use_latest_restorable_time   = optional(bool)
  })
  default = null
}
