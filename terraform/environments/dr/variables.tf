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

# Not committed: which backups the database is restored from. Production's output
# db_backups_replication_arn (or `aws rds describe-db-instance-automated-backups --region us-west-2`),
# set where terraform runs: TF_VAR_db_restore_automated_backups_arn='arn:aws:rds:us-west-2:…'.
variable "db_restore_automated_backups_arn" {
  description = "ARN of production's automated backups replicated to this region (arn:aws:rds:<region>:<account>:auto-backup:ab-…): the database is restored from them."
  type        = string
}

variable "db_restore_time" {
  description = "The point in time to restore to (RFC 3339, e.g. 2026-12-04T09:30:00Z); null: the latest restorable time."
  type        = string
  default     = null
}

# false only for the first apply in a new account (or Region), before a person completes the CI runners'
# GitHub connection in the console (docs/INFRASTRUCTURE.md, "First apply in a new account").
variable "ci_runner_connection_authorized" {
  description = "Whether the CI runners' GitHub connection (AWS CodeConnections) is complete: false makes it (PENDING) without the runner project and webhook, which need it."
  type        = bool
  default     = true
}
