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

variable "log_retention_days" {
  description = "Days application and audit logs are kept in CloudWatch Logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups and the trail."
  type        = string
}

variable "sns_kms_key_arn" {
  description = "KMS key of the alert topic."
  type        = string
}

variable "sns_key_publishers" {
  description = "The AWS services the alert topic's key lets publish (the security module's sns_key_publishers output): every service the topic's policy admits must be among them."
  type        = set(string)

  validation {
    condition     = alltrue([for p in var.sns_key_publishers : endswith(p, ".amazonaws.com")])
    error_message = "sns_key_publishers must be service principals (<service>.amazonaws.com); got ${join(", ", var.sns_key_publishers)}."
  }
}

variable "alert_emails" {
  description = "Addresses subscribed to the alert topic (each must confirm the subscription AWS mails it). Required in dev, staging and production: an alarm must reach a person."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", e))])
    error_message = "alert_emails must be e-mail addresses; got ${jsonencode(var.alert_emails)}."
  }

  validation {
    condition     = var.environment == "local" || length(var.alert_emails) > 0
    error_message = "Alert subscription rule: environment ${var.environment} has no alert_emails, so its alarms, budget and GuardDuty alerts would reach nobody. Set the environment's alert_emails (TF_VAR_alert_emails='[\"oncall@…\"]' or a tfvars file; see terraform/README.md)."
  }
}

variable "cluster_name" {
  description = "EKS cluster shown on the dashboard."
  type        = string
}

variable "db_instance_identifier" {
  description = "RDS instance shown on the dashboard."
  type        = string
}

variable "cache_cluster_ids" {
  description = "The cache clusters (the replication group's members) shown on the dashboard: ElastiCache publishes its metrics per CacheClusterId. Empty where there is no cache."
  type        = list(string)
  default     = []
}

variable "node_autoscaling_group_names" {
  description = "The Auto Scaling groups EKS made for the node groups: the dashboard's node CPU (AWS/EC2 by AutoScalingGroupName)."
  type        = list(string)
  default     = []
}

variable "enable_guardduty" {
  description = "A GuardDuty detector with S3 and EKS audit-log protection (one per account and region): false where the account's detector belongs to someone else (an organisation's delegated administrator), or import it (see main.tf)."
  type        = bool
  default     = true
}

variable "enable_guardduty_features" {
  description = "Turn on GuardDuty's S3 data event and EKS audit log protections."
  type        = bool
  default     = true
}

variable "enforce_tls" {
  description = "A bucket policy that denies every request not made over TLS (off only where the AWS emulator can't evaluate it)."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let terraform delete the buckets with the objects (and versions) in them: for unprotected environments only."
  type        = bool
  default     = false
}

variable "enable_cloudtrail" {
  description = "This environment's own multi-region trail (bucket, log group, role): false where an organisation trail already records the account."
  type        = bool
  default     = true
}

variable "trail_archive_after_days" {
  description = "Days before the trail's log files move to GLACIER."
  type        = number
  default     = 90

  validation {
    condition     = var.trail_archive_after_days >= 0
    error_message = "trail_archive_after_days must be 0 or more; it is ${var.trail_archive_after_days}."
  }
}

variable "trail_retention_days" {
  description = "Days the trail's log files are kept (the audit record: 7 years by default)."
  type        = number
  default     = 2555

  validation {
    condition     = var.trail_retention_days >= 1
    error_message = "trail_retention_days must be at least 1; it is ${var.trail_retention_days}."
  }
}
