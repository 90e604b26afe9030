variable "project" {
  description = "Project name, first part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name: dev, staging, production or local."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production", "local"], var.environment)
    error_message = "environment must be one of dev, staging, production, local."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}

variable "monthly_limit_usd" {
  description = "The environment's monthly budget in USD."
  type        = number

  validation {
    condition     = var.monthly_limit_usd > 0
    error_message = "monthly_limit_usd must be positive."
  }
}

variable "alert_topic_arn" {
  description = "SNS topic budget and anomaly alerts go to."
  type        = string
}

variable "alert_emails" {
  description = "Addresses that get budget and anomaly alerts directly as well."
  type        = list(string)
  default     = []
}

variable "anomaly_threshold_usd" {
  description = "Alert on a cost anomaly whose impact is at least this many USD."
  type        = number
  default     = 50

  validation {
    condition     = var.anomaly_threshold_usd > 0
    error_message = "anomaly_threshold_usd must be positive."
  }
}

variable "enable_anomaly_detection" {
  description = "A Cost Anomaly Detection monitor for the project's services, with an alert subscription."
  type        = bool
  default     = true
}
