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

variable "cluster_name" {
  description = "EKS cluster name: the controller tags what it creates with elbv2.k8s.aws/cluster = this, and its policy only lets it change what carries that tag."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (the controller's role trusts it)."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (the trust conditions are keyed on it)."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer is the issuer without its https:// prefix (the eks module's oidc_issuer output)."
  }
}

variable "vpc_id" {
  description = "The VPC the cluster and its load balancers live in (security group rule changes are limited to it)."
  type        = string
}

variable "enable_waf" {
  description = "A regional WAFv2 web ACL (AWS managed common, known-bad-inputs and SQL-injection rule groups, a per-address rate limit) on the load balancer. Required in production."
  type        = bool
  default     = false

  validation {
    condition     = var.enable_waf || var.environment != "production"
    error_message = "production's load balancer must have the WAF: set enable_waf = true in terraform/environments/production/main.tf."
  }
}

variable "rate_limit_per_5min" {
  description = "Requests one client address may make in any 5 minutes before the WAF blocks it (WAFv2 accepts 10 to 2,000,000,000)."
  type        = number
  default     = 2000

  validation {
    condition     = var.rate_limit_per_5min >= 10 && var.rate_limit_per_5min <= 2000000000 && floor(var.rate_limit_per_5min) == var.rate_limit_per_5min
    error_message = "rate_limit_per_5min must be a whole number from 10 to 2000000000 (WAFv2's rate-based rule limits)."
  }
}
