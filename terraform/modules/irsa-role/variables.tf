variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (the eks module's oidc_provider_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (oidc.eks.<region>.amazonaws.com/id/<id>): the trust's condition keys are <issuer>:sub and <issuer>:aud."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://") && length(var.oidc_issuer) > 0
    error_message = "oidc_issuer is the issuer without https:// (the eks module's oidc_issuer output)."
  }
}

variable "roles" {
  description = "Key => the role: its IAM name, its description, and the ServiceAccounts (\"<namespace>:<name>\") that may assume it. The key is the caller's: its policies name the role by it."
  type = map(object({
    name             = string
    description      = string
    service_accounts = list(string)
  }))

  validation {
    condition     = alltrue([for r in values(var.roles) : length(r.name) >= 1 && length(r.name) <= 64 && can(regex("^[A-Za-z0-9+=,.@_-]+$", r.name))])
    error_message = "Each role name is 1 to 64 characters of A-Z a-z 0-9 +=,.@_- (IAM's limit)."
  }
  validation {
    condition     = alltrue([for r in values(var.roles) : length(r.service_accounts) > 0 && alltrue([for sa in r.service_accounts : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", sa))])])
    error_message = "Each role names at least one ServiceAccount, each as <namespace>:<name> (Kubernetes names: lower-case letters, digits, '-', and '.' in the name); no wildcards."
  }
}

variable "tags" {
  description = "Tags added to every role, on top of the provider's default tags (each role also gets Name = its name)."
  type        = map(string)
  default     = {}
}
