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

variable "alert_topic_arn" {
  description = "The alert topic high-severity findings are published to."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alert_topic_arn))
    error_message = "alert_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "sns_key_publishers" {
  description = "The AWS services the alert topic's key lets publish (the security module's sns_key_publishers): must include events.amazonaws.com for the finding rules."
  type        = set(string)
}

# ---- AWS Config
variable "enable_config" {
  description = "This account's AWS Config recorder and delivery channel in this Region (one each per account and Region), its status on, and the managed rules: false where an organisation's recorder records the account (then set config_recorded_elsewhere)."
  type        = bool
  default     = true
}

variable "config_include_global_resources" {
  description = "Record global resource types (IAM) too: in exactly one Region of the account (the home Region), or they are recorded and billed twice."
  type        = bool
  default     = true
}

variable "create_config_service_linked_role" {
  description = "Create the account's AWS Config service-linked role (AWSServiceRoleForConfig, one per account): false where another environment of the account made it (dr: production's)."
  type        = bool
  default     = true
}

variable "config_recorded_elsewhere" {
  description = "An organisation's AWS Config recorder records this account and Region (enable_config off): Security Hub's controls can still evaluate."
  type        = bool
  default     = false
}

variable "config_bucket_name" {
  description = "The bucket AWS Config delivers to (the logs bucket, whose policy admits config.amazonaws.com under config_s3_key_prefix)."
  type        = string
}

variable "config_s3_key_prefix" {
  description = "Key prefix of AWS Config's deliveries in config_bucket_name (Config adds AWSLogs/<account>/Config/)."
  type        = string
  default     = "config"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.config_s3_key_prefix)) && !strcontains(var.config_s3_key_prefix, "AWSLogs")
    error_message = "config_s3_key_prefix must not start or end with / and must not contain AWSLogs (Config adds AWSLogs/<account>/Config/ itself); got \"${var.config_s3_key_prefix}\"."
  }
}

# ---- Security Hub
variable "enable_security_hub" {
  description = "Security Hub in this account and Region (one per account and Region): false where an organisation's delegated administrator enables it, or adopt it (terraform/README.md)."
  type        = bool
  default     = true
}

# ---- IAM Access Analyzer
variable "enable_access_analyzer" {
  description = "An IAM Access Analyzer for the account in this Region (one account analyzer per Region): false where an organisation's analyzer covers the account."
  type        = bool
  default     = true
}

# ---- EBS, S3
variable "manage_ebs_encryption_by_default" {
  description = "Turn on EBS encryption by default in this Region (and set its default key): false where someone else manages the account's setting."
  type        = bool
  default     = true
}

variable "ebs_default_kms_key" {
  description = "The Region's default EBS key, { arn }: a customer-managed key of this Region whose policy lets EC2 Auto Scaling use it. null keeps AWS's aws/ebs. (An object, so whether it is set is known before the key exists.)"
  type = object({
    arn = string
  })
  default = null

  validation {
    condition     = var.ebs_default_kms_key == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.ebs_default_kms_key.arn))
    error_message = "ebs_default_kms_key.arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "manage_account_public_access_block" {
  description = "The account's S3 Block Public Access (global, one per account): false where another environment of the account (dr: production) or the organisation manages it."
  type        = bool
  default     = true
}
