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

# Not committed: who is woken by this environment's alarms. Set it where terraform runs, e.g.
# TF_VAR_alert_emails='["oncall@example.org"]' (see terraform/README.md); the plan refuses an empty
# list in this environment.
variable "alert_emails" {
  description = "Addresses subscribed to the environment's alert topic (each confirms the subscription AWS mails it)."
  type        = list(string)
  default     = []
}

# false only for the first apply in a new account, before a person completes the CI runners' GitHub
# connection in the console (docs/INFRASTRUCTURE.md, "First apply in a new account").
variable "ci_runner_connection_authorized" {
  description = "Whether the CI runners' GitHub connection (AWS CodeConnections) is complete: false makes it (PENDING) without the runner project and webhook, which need it."
  type        = bool
  default     = true
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
