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

variable "domain_name" {
  description = "The environment's domain (e.g. dev.authorworks.io)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name like dev.authorworks.io."
  }
}

variable "zone_delegated" {
  description = "Whether the parent zone (or the registrar) delegates domain_name to this zone's name servers. false: the certificate is requested and its validation records written, but nothing waits for it and certificate_arn is null; true: the apply waits for ACM to issue it (set it once delegation is in place; docs/INFRASTRUCTURE.md)."
  type        = bool
}

variable "delegations" {
  description = "Child zones delegated from this one: subdomain => its name servers (the child environment's name_servers output)."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for d, ns in var.delegations : endswith(d, ".${var.domain_name}")])
    error_message = "Route 53 delegates only subdomains of the zone: every delegations key must end in .${var.domain_name}; got ${join(", ", keys(var.delegations))}."
  }
  validation {
    condition     = alltrue([for d, ns in var.delegations : length(ns) >= 1 && length(ns) <= 8 && alltrue([for n in ns : can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}\\.?$", n))])])
    error_message = "each delegation needs 1-8 name server host names (Route 53 gives four per zone): ${jsonencode(var.delegations)}."
  }
}

variable "caa_issuers" {
  description = "Certificate authorities allowed to issue for the domain (CAA `issue`). ACM needs one of amazon.com, amazontrust.com, awstrust.com, amazonaws.com; every public certificate here is ACM's (ALB, CloudFront)."
  type        = list(string)
  default     = ["amazon.com"]

  validation {
    condition     = length(var.caa_issuers) > 0 && alltrue([for i in var.caa_issuers : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", i))])
    error_message = "caa_issuers must list at least one certificate authority's domain, like amazon.com."
  }
}
