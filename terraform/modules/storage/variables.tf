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

variable "kms_key_arn" {
  description = "KMS key the data buckets are encrypted with."
  type        = string
}

variable "infrequent_access_after_days" {
  description = "Days before objects move to STANDARD_IA (media and its old versions, logs)."
  type        = number
  default     = 30

  # Amazon S3 API Reference, Transition: "If the specified storage class is STANDARD_IA or ONEZONE_IA,
  # valid values are positive integers greater than 30" (30 itself is accepted).
  validation {
    condition     = var.infrequent_access_after_days >= 30
    error_message = "S3 lifecycle rule: objects move to STANDARD_IA 30 days after creation at the earliest; infrequent_access_after_days is ${var.infrequent_access_after_days}."
  }
}

variable "glacier_after_days" {
  description = "Days before access logs move to GLACIER (after STANDARD_IA, which holds them 30 days at least)."
  type        = number
  default     = 90

  validation {
    condition     = var.glacier_after_days >= 1
    error_message = "glacier_after_days must be at least 1; it is ${var.glacier_after_days}."
  }
}

variable "exports_expire_days" {
  description = "Days user exports are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.exports_expire_days >= 1 && var.exports_expire_days <= 365
    error_message = "exports_expire_days must be between 1 and 365."
  }
}

variable "backups_expire_days" {
  description = "Days backups (state copies, exports of data) are kept: the environment's retention, 7/30/90 days."
  type        = number
  default     = 90

  validation {
    condition     = var.backups_expire_days >= 1
    error_message = "backups_expire_days must be at least 1."
  }
}

variable "logs_expire_days" {
  description = "Days access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.logs_expire_days >= 1
    error_message = "logs_expire_days must be at least 1."
  }
}

variable "noncurrent_version_expire_days" {
  description = "Days a superseded object version is kept."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expire_days >= 1
    error_message = "noncurrent_version_expire_days must be at least 1."
  }
}

variable "state_bucket" {
  description = "The remote-state bucket the bootstrap made (`{project}-{env}-tfstate-{account}`): its lifecycle rule is applied here."
  type        = string
}

variable "state_noncurrent_version_days" {
  description = "Days a superseded state version is kept before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.state_noncurrent_version_days >= 7 && var.state_noncurrent_version_days <= 3650
    error_message = "state_noncurrent_version_days must be between 7 and 3650."
  }
}

variable "enable_replication" {
  description = "Replicate media and backups to the DR region (provider alias aws.dr)."
  type        = bool
  default     = false
}

variable "media_reader_arns" {
  description = "CloudFront distribution ARNs that may read the media bucket through origin access control."
  type        = list(string)
  default     = []
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

variable "load_balancer_logs_prefix" {
  description = "Key prefix in the logs bucket the load balancer writes its access logs under (Elastic Load Balancing is granted exactly that prefix); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.load_balancer_logs_prefix == "" || can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.load_balancer_logs_prefix)) && !startswith(var.load_balancer_logs_prefix, "AWSLogs")
    error_message = "load_balancer_logs_prefix must not start or end with / and must not start with AWSLogs (ELB adds AWSLogs/<account>/ itself); got \"${var.load_balancer_logs_prefix}\"."
  }
}

variable "config_delivery_prefix" {
  description = "Key prefix in the logs bucket AWS Config delivers under (the governance module's delivery channel: the bucket policy admits config.amazonaws.com for exactly <prefix>/AWSLogs/<account>/Config/); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.config_delivery_prefix == "" || can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.config_delivery_prefix)) && !strcontains(var.config_delivery_prefix, "AWSLogs")
    error_message = "config_delivery_prefix must not start or end with / and must not contain AWSLogs (Config adds AWSLogs/<account>/Config/ itself); got \"${var.config_delivery_prefix}\"."
  }
}
