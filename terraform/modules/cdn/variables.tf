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

variable "media_bucket_regional_domain_name" {
  description = "Regional domain name of the media bucket (the origin)."
  type        = string
}

variable "aliases" {
  description = "Host names the distribution answers for (need a certificate covering them)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.aliases : can(regex("^([a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", a))])
    error_message = "CloudFront aliases must be lowercase DNS names: ${join(", ", var.aliases)}."
  }
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 for the aliases (null: CloudFront's default certificate, no aliases)."
  type        = string
  default     = null
}

variable "publish_aliases" {
  description = "Serve the aliases with certificate_arn and publish them in zone_id; false (until the zone is delegated and the certificate issued) serves only the cloudfront.net name."
  type        = bool
  default     = false
}

variable "zone_id" {
  description = "Route 53 zone the aliases are published in (A and AAAA alias records to the distribution); null publishes none."
  type        = string
  default     = null
}

variable "price_class" {
  description = "CloudFront price class (PriceClass_100 is the cheapest: North America and Europe)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "enable_waf" {
  description = "A WAF web ACL (AWS managed common and bad-input rules, a rate limit) in front of the distribution."
  type        = bool
  default     = false
}

variable "rate_limit_per_5min" {
  description = "Requests one address may make in five minutes before WAF blocks it."
  type        = number
  default     = 2000

  validation {
    condition     = var.rate_limit_per_5min >= 100
    error_message = "rate_limit_per_5min must be at least 100 (WAF's minimum)."
  }
}
