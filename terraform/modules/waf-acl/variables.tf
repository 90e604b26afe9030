variable "acls" {
  description = "Key => the web ACL: its name (also its CloudWatch metric), description, scope (CLOUDFRONT: made with the us-east-1 provider; REGIONAL: a load balancer's), whether the SQL database rule group is on (an origin that runs SQL), the requests one client address may make in five minutes before it is blocked, and the CloudWatch metric name of any rule (common, known-bad-inputs, sql-injection, rate-limit) whose default \"<name>-<rule>\" it doesn't take. The key is the caller's."
  type = map(object({
    name                = string
    description         = string
    scope               = string
    sql_injection       = optional(bool, false)
    rate_limit_per_5min = number
    metric_names        = optional(map(string), {})
  }))

  validation {
    condition     = alltrue([for a in values(var.acls) : contains(["CLOUDFRONT", "REGIONAL"], a.scope)])
    error_message = "scope is CLOUDFRONT or REGIONAL."
  }
  # WAFV2 API Reference, RateBasedStatement Limit: 10 to 2,000,000,000 (AWS WAF raised the minimum from 100
  # to 10 in 2024).
  validation {
    condition     = alltrue([for a in values(var.acls) : a.rate_limit_per_5min >= 10 && a.rate_limit_per_5min <= 2000000000 && floor(a.rate_limit_per_5min) == a.rate_limit_per_5min])
    error_message = "rate_limit_per_5min is a whole number from 10 to 2,000,000,000 (WAF's limits for a rate-based rule)."
  }
  validation {
    condition     = alltrue([for a in values(var.acls) : can(regex("^[A-Za-z0-9_-]{1,128}$", a.name)) && alltrue([for m in values(a.metric_names) : can(regex("^[A-Za-z0-9_-]{1,255}$", m))])])
    error_message = "The ACL's name (1-128) and each metric name (1-255) are letters, digits, _ and - (WAF's patterns for names and metric names)."
  }
  validation {
    condition     = alltrue([for a in values(var.acls) : alltrue([for r in keys(a.metric_names) : contains(["common", "known-bad-inputs", "sql-injection", "rate-limit"], r)])])
    error_message = "metric_names names rules of the set only: common, known-bad-inputs, sql-injection, rate-limit."
  }
}

variable "tags" {
  description = "Tags added to every web ACL, on top of the provider's default tags (each also gets Name = its name)."
  type        = map(string)
  default     = {}
}
