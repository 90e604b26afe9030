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
  description = "Addresses that get budget alerts directly as well (on top of the alert topic)."
  type        = list(string)
  default     = []

  # AWS Budgets API Reference, NotificationWithSubscribers: "A notification can have one SNS subscriber
  # and up to 10 email subscribers".
  validation {
    condition     = length(var.alert_emails) <= 10
    error_message = "AWS Budgets rule: a notification takes at most 10 e-mail subscribers; alert_emails has ${length(var.alert_emails)}."
  }
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
  description = "Cost Anomaly Detection: the account's service monitor, with an alert subscription to the topic."
  type        = bool
  default     = true
}

variable "existing_anomaly_monitor_arn" {
  description = "The account's existing DIMENSIONAL/SERVICE anomaly monitor (only one may exist per account): the subscription uses it instead of creating one. Null: create it (a fresh account)."
  type        = string
  default     = null

  validation {
    condition     = var.existing_anomaly_monitor_arn == null || can(regex("^arn:aws[a-z-]*:ce::[0-9]{12}:anomalymonitor/[0-9a-f-]+$", var.existing_anomaly_monitor_arn))
    error_message = "existing_anomaly_monitor_arn must be a Cost Explorer anomaly monitor ARN (arn:aws:ce::<account>:anomalymonitor/<id>); it is ${coalesce(var.existing_anomaly_monitor_arn, "null")}."
  }
}
