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

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://") && length(var.oidc_issuer) > 0
    error_message = "oidc_issuer is the issuer without https:// (the trust policy's condition keys are <issuer>:sub and <issuer>:aud)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the application services; each runs as the ServiceAccount named like it."
  type        = string
  default     = "authorworks"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a Kubernetes namespace name (an RFC 1123 label)."
  }
}

variable "services" {
  description = "Application services that use AWS: name (= its ServiceAccount) => the bucket (a key of bucket_arns) whose objects it reads and writes, whether it connects to the cache as its own user (false where the cache is left out), and whether it sends mail from the environment's SES identity."
  type = map(object({
    bucket     = optional(string)
    cache      = optional(bool, false)
    send_email = optional(bool, false)
  }))

  # A ServiceAccount name (RFC 1123 label) that also fits the role name <project>-<env>-<service>:
  # IAM role names are at most 64 characters (IAM API Reference, CreateRole).
  validation {
    condition     = alltrue([for k in keys(var.services) : can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", k)) && length("${var.project}-${var.environment}-${k}") <= 64])
    error_message = "services: each name is a ServiceAccount name (lowercase a-z, 0-9 and -) and its role ${var.project}-${var.environment}-<service> at most 64 characters (IAM CreateRole); got ${join(", ", keys(var.services))}."
  }
}

variable "bucket_arns" {
  description = "Bucket ARN per purpose (the storage module's bucket_arns): a service's `bucket` names one."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for s in values(var.services) : s.bucket == null || contains(keys(var.bucket_arns), coalesce(s.bucket, "-"))])
    error_message = "bucket_arns: every service's bucket must be one of them (${join(", ", keys(var.bucket_arns))})."
  }
}

variable "bucket_kms_key_arn" {
  description = "KMS key the buckets are encrypted with (SSE-KMS): services with a bucket may use it through S3; null where none has one."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn != null || alltrue([for s in values(var.services) : s.bucket == null])
    error_message = "bucket_kms_key_arn: a service with a bucket needs the bucket's key too (SSE-KMS writes need kms:GenerateDataKey, reads kms:Decrypt)."
  }
}

variable "cache_user_arns" {
  description = "Service => ARN of the ElastiCache user it connects as (the cache module's user_arns)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, s in var.services : !s.cache || contains(keys(var.cache_user_arns), k)])
    error_message = "cache_user_arns: every service with `cache` connects as its own user, so each needs one (got users for ${join(", ", keys(var.cache_user_arns))})."
  }
}

variable "cache_replication_group_arn" {
  description = "ARN of the ElastiCache replication group the services' users connect to; null where the cache is left out."
  type        = string
  default     = null

  validation {
    condition     = var.cache_replication_group_arn != null || alltrue([for s in values(var.services) : !s.cache])
    error_message = "cache_replication_group_arn: elasticache:Connect names both the replication group and the user; a service with `cache` needs the group."
  }
}

variable "email_identity_arn" {
  description = "ARN of the environment's SES domain identity, the only one mail may be sent from; null where no service sends mail."
  type        = string
  default     = null

  validation {
    condition     = var.email_identity_arn != null || alltrue([for s in values(var.services) : !s.send_email])
    error_message = "email_identity_arn: a service that sends mail is limited to the environment's SES identity, so it must be given."
  }
  validation {
    condition     = var.email_identity_arn == null || can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[a-z0-9.-]+$", coalesce(var.email_identity_arn, "-")))
    error_message = "email_identity_arn must be an SES domain identity ARN (arn:aws:ses:<region>:<account>:identity/<domain>)."
  }
}
