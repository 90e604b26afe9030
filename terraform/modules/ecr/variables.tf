variable "project" {
  description = "Project name: the repositories are named <project>/<service>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be a short lowercase name (an ECR repository name part)."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, production, ...): names the roles and secrets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be a short lowercase name."
  }
}

variable "services" {
  description = "The application services (k8s/base/services): one repository <project>/<service> and one push role each."
  type        = set(string)

  validation {
    condition     = length(var.services) > 0 && alltrue([for s in var.services : can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", s))])
    error_message = "give at least one service, each a lowercase name of letters, digits and single dashes (an ECR repository name part)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key the repositories' images are encrypted with (the security module's kms_key_arns[\"ecr\"])."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "keep_releases" {
  description = "How many tagged images (releases) each repository keeps: the newest N, so a rollback to any of them still pulls. Older tagged images expire."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_releases >= 5 && var.keep_releases <= 1000 && floor(var.keep_releases) == var.keep_releases
    error_message = "keep_releases must be a whole number from 5 (a rollback needs the last few releases) to 1000."
  }
}

variable "untagged_expire_days" {
  description = "Days after which an untagged image (a build's intermediate push, a superseded manifest) expires."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expire_days >= 1 && var.untagged_expire_days <= 90 && floor(var.untagged_expire_days) == var.untagged_expire_days
    error_message = "untagged_expire_days must be a whole number of days from 1 to 90."
  }
}

variable "scan_type" {
  description = "Registry scanning: BASIC (free, scan on push with the AWS-native scanner) or ENHANCED (Amazon Inspector, billed per image scanned; continuous rescans)."
  type        = string
  default     = "BASIC"

  validation {
    condition     = contains(["BASIC", "ENHANCED"], var.scan_type)
    error_message = "scan_type must be BASIC or ENHANCED (PutRegistryScanningConfiguration scanType)."
  }
}

variable "pull_through_cache" {
  description = "Cache prefix => upstream registry: its URL as CreatePullThroughCacheRule takes it (registry-1.docker.io for Docker Hub) and whether it needs a login (Docker Hub, GitHub Container Registry: the credential secret is then ecr-pullthroughcache/<project>-<environment>-<prefix>)."
  type = map(object({
    upstream_registry_url = string
    authenticated         = optional(bool, false)
  }))
  default = {}

  validation {
    condition     = alltrue([for p in keys(var.pull_through_cache) : length(p) >= 2 && length(p) <= 30 && can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", p))])
    error_message = "each cache prefix is 2 to 30 characters of lowercase letters, digits and . _ - (CreatePullThroughCacheRule ecrRepositoryPrefix), without a slash."
  }
  validation {
    condition     = alltrue([for r in values(var.pull_through_cache) : !r.authenticated || contains(["registry-1.docker.io", "ghcr.io", "registry.gitlab.com"], r.upstream_registry_url) || endswith(r.upstream_registry_url, ".azurecr.io")])
    error_message = "only Docker Hub (registry-1.docker.io), GitHub (ghcr.io), GitLab (registry.gitlab.com) and Azure (*.azurecr.io) upstreams take a credential (ECR User Guide, \"Sync an upstream registry\")."
  }
  validation {
    condition     = alltrue([for r in values(var.pull_through_cache) : r.authenticated || !contains(["registry-1.docker.io", "ghcr.io", "registry.gitlab.com"], r.upstream_registry_url)])
    error_message = "Docker Hub, GitHub and GitLab upstreams need a credential in Secrets Manager (ECR User Guide, \"Creating a pull through cache rule\"): set authenticated = true."
  }
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the upstream credential secrets (0: deleted at once, for unprotected environments)."
  type        = number
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or 7 to 30 (Secrets Manager's limits)."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub Actions OIDC provider (token.actions.githubusercontent.com): the push roles trust it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token.actions.githubusercontent.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "service_repositories" {
  description = "Service => the GitHub repository (owner/name) whose CI builds it and alone may push its image. Every service in var.services needs one."
  type        = map(string)

  validation {
    condition     = alltrue([for r in values(var.service_repositories) : can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", r))])
    error_message = "each service repository is owner/name, without wildcards."
  }
}

variable "service_repositories_replicated" {
  description = "True where the service repositories are another region's replicas (the DR environment: production's registry replicates them here): they, their lifecycle and the push roles are not made here, and CI pushes to the home region."
  type        = bool
  default     = false
}

variable "replicate_to_region" {
  description = "Region the service repositories' images are replicated to as they are pushed (production: its DR region), or null."
  type        = string
  default     = null

  validation {
    condition     = var.replicate_to_region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.replicate_to_region))
    error_message = "replicate_to_region is a Region name like us-west-2, or null."
  }
}

variable "push_ref" {
  description = "The git ref whose workflow runs may push (GitHub's default OIDC subject repo:<owner>/<name>:ref:<ref>)."
  type        = string
  default     = "refs/heads/main"

  validation {
    condition     = startswith(var.push_ref, "refs/") && !strcontains(var.push_ref, "*")
    error_message = "push_ref is one full ref (refs/heads/main), without wildcards."
  }
}

variable "node_role_name" {
  description = "Name of the nodes' IAM role: it gets the pull-through cache's import permissions on the cache prefixes (the pulls themselves come from AmazonEC2ContainerRegistryPullOnly, the eks module's)."
  type        = string

  validation {
    condition     = length(var.node_role_name) >= 1 && length(var.node_role_name) <= 64
    error_message = "node_role_name must be an IAM role name."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
