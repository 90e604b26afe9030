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

variable "key_purposes" {
  description = "One customer-managed KMS key is made per purpose; `logs` may be used by CloudWatch Logs."
  type        = set(string)
  default     = ["eks", "rds", "s3", "logs", "cache", "secrets", "sns"]

  validation {
    condition     = alltrue([for p in var.key_purposes : can(regex("^[a-z][a-z0-9-]{1,20}$", p))])
    error_message = "each key purpose must be a short lowercase name."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (for IRSA roles)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string
}

variable "controllers" {
  description = "Cluster controllers that get an IRSA role: name => the service account it runs as."
  type = map(object({
    namespace       = string
    service_account = string
  }))
  default = {
    cluster-autoscaler = { namespace = "kube-system", service_account = "cluster-autoscaler" }
    external-dns       = { namespace = "external-dns", service_account = "external-dns" }
    cert-manager       = { namespace = "cert-manager", service_account = "cert-manager" }
    ebs-csi            = { namespace = "kube-system", service_account = "ebs-csi-controller-sa" }
    external-secrets   = { namespace = "external-secrets", service_account = "external-secrets" }
  }
}

variable "hosted_zone_arn" {
  description = "ARN of the Route53 zone external-dns and cert-manager may change."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name (the cluster autoscaler may only touch its node groups)."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (one per account: false where another stack made it)."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "The repository (owner/name) whose workflows may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "application_secrets" {
  description = "Secrets Manager entries the applications read through external-secrets; values are set out of band, never in terraform."
  type        = set(string)
  default     = ["session-signing-key", "email-provider-api-key", "ai-provider-api-key"]
}

variable "secret_recovery_window_days" {
  description = "Days a deleted application secret can still be restored (0 deletes at once, for unprotected environments)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}
