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

variable "key_purposes" {
  description = "One customer-managed KMS key is made per purpose; `logs` may be used by CloudWatch Logs; `ecr` encrypts the container images."
  type        = set(string)
  default     = ["eks", "rds", "s3", "logs", "cache", "secrets", "sns", "ecr"]

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
    alertmanager       = { namespace = "monitoring", service_account = "alertmanager" }
    ebs-csi            = { namespace = "kube-system", service_account = "ebs-csi-controller-sa" }
    external-secrets   = { namespace = "external-secrets", service_account = "external-secrets" }
    loki               = { namespace = "monitoring", service_account = "loki" }
  }
}

variable "loki_bucket_arn" {
  description = "The bucket Loki keeps its chunks and index in (storage module, `loki`): Loki's IRSA role may list it and read, write and delete its objects."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.loki_bucket_arn))
    error_message = "loki_bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>), not an object ARN."
  }
}

variable "alert_topic_arn" {
  description = "ARN of the environment's alert topic: Alertmanager's IRSA role may publish to it."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alert_topic_arn))
    error_message = "alert_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "hosted_zone_arn" {
  description = "ARN of the Route53 zone external-dns may change."
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
  description = "Secrets Manager entries `<project>/<env>/app/<name>` the applications read through external-secrets (the stack's workloads table names who reads which); values are set out of band, never in terraform."
  type        = set(string)

  validation {
    condition     = alltrue([for s in var.application_secrets : can(regex("^[a-z][a-z0-9-]{0,62}$", s))])
    error_message = "application_secrets: each name is lowercase a-z, 0-9 and -, starting with a letter (it becomes part of the secret's name); got ${join(", ", var.application_secrets)}."
  }
}

variable "external_secret_names" {
  description = "Secrets this stack makes elsewhere, in this account and region, that external-secrets reads for the workloads (the services' database logins): their names."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.external_secret_names : startswith(n, "${var.project}/${var.environment}/") && !strcontains(n, "*") && !strcontains(n, "?")])
    error_message = "external_secret_names: each is the exact name of one of this environment's secrets (${var.project}/${var.environment}/…), no wildcard: external-secrets may read exactly the secrets the workloads use."
  }
}

variable "external_secret_arns" {
  description = "Secrets external-secrets reads that are named by their owner (the RDS-managed master secret): their exact ARNs."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.external_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^*?]+$", a))])
    error_message = "external_secret_arns must be exact Secrets Manager secret ARNs (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>), no wildcard: external-secrets may read exactly the secrets the workloads use."
  }
}

variable "application_secret_replica" {
  description = "Replicate the application secrets to another Region (the DR region) with that Region's KMS key; null: no replica."
  type = object({
    region      = string
    kms_key_arn = string
  })
  default = null

  validation {
    condition     = var.application_secret_replica == null ? true : can(regex("^arn:aws[a-z-]*:kms:${var.application_secret_replica.region}:[0-9]{12}:key/", var.application_secret_replica.kms_key_arn))
    error_message = "application_secret_replica.kms_key_arn must be a KMS key of the replica's Region (Secrets Manager encrypts a replica with a key of its own Region)."
  }
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

variable "create_autoscaling_service_linked_role" {
  description = "Create the account's EC2 Auto Scaling service-linked role (AWSServiceRoleForAutoScaling), which the eks key's policy names; false where the account already has it (one per account: any Auto Scaling group ever made creates it)."
  type        = bool
  default     = true
}

variable "cloudfront_reads_s3_key" {
  description = "Let CloudFront (origin access control, this account's distributions) decrypt with the s3 key: true where the CDN serves the SSE-KMS media bucket."
  type        = bool
  default     = true
}

variable "sns_key_publishers" {
  description = "AWS services that publish to this account's topics encrypted with the sns key (CloudWatch alarms, Budgets, Cost Anomaly Detection, EventBridge rules, CloudTrail): exactly those that do. The monitoring and governance modules refuse a publisher of theirs that is missing (output sns_key_publishers)."
  type        = set(string)
  default     = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com"]

  validation {
    condition     = alltrue([for p in var.sns_key_publishers : contains(["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com", "cloudtrail.amazonaws.com"], p)])
    error_message = "sns_key_publishers: each must be a service principal that publishes to SNS (cloudwatch, budgets, costalerts, events or cloudtrail .amazonaws.com); got ${join(", ", var.sns_key_publishers)}."
  }
}

# IAM: a role's MaxSessionDuration is 3600 to 43200 seconds (IAM API Reference, CreateRole).
variable "deploy_max_session_seconds" {
  description = "Longest session of the deploy role: at least the deploy workflow's role-duration-seconds (5400, its 90-minute timeout)."
  type        = number
  default     = 7200

  validation {
    condition     = var.deploy_max_session_seconds >= 3600 && var.deploy_max_session_seconds <= 43200 && floor(var.deploy_max_session_seconds) == var.deploy_max_session_seconds
    error_message = "IAM MaxSessionDuration must be a whole number of seconds from 3600 to 43200: deploy_max_session_seconds = ${var.deploy_max_session_seconds}."
  }
  validation {
    condition     = var.deploy_max_session_seconds >= 5400
    error_message = "deploy_max_session_seconds = ${var.deploy_max_session_seconds} is shorter than the session deploy.yml asks for (role-duration-seconds 5400, its 90-minute timeout): AssumeRoleWithWebIdentity would be refused."
  }
}

variable "operations_max_session_seconds" {
  description = "Longest session of the operations role: at least the operations workflow's role-duration-seconds (7200, its 120-minute timeout)."
  type        = number
  default     = 7200

  validation {
    condition     = var.operations_max_session_seconds >= 3600 && var.operations_max_session_seconds <= 43200 && floor(var.operations_max_session_seconds) == var.operations_max_session_seconds
    error_message = "IAM MaxSessionDuration must be a whole number of seconds from 3600 to 43200: operations_max_session_seconds = ${var.operations_max_session_seconds}."
  }
  validation {
    condition     = var.operations_max_session_seconds >= 7200
    error_message = "operations_max_session_seconds = ${var.operations_max_session_seconds} is shorter than the session operations.yml asks for (role-duration-seconds 7200, its 120-minute timeout)."
  }
}

variable "operations" {
  description = "What the operations role may touch: the database, the state bucket (`{project}-{env}-tfstate-{account}`), the backups bucket and the DR region's backup key (null without DR)."
  type = object({
    db_instance_identifier = string
    state_bucket           = string
    backups_bucket_arn     = string
    dr_region              = optional(string)
    dr_backup_kms_key_arn  = optional(string)
  })

  validation {
    condition     = (var.operations.dr_region == null) == (var.operations.dr_backup_kms_key_arn == null)
    error_message = "operations: dr_region and dr_backup_kms_key_arn go together (the DR snapshot copy needs the DR region's key); got dr_region = ${coalesce(var.operations.dr_region, "null")}."
  }
}

variable "cluster_roles" {
  description = "The people's roles, assumable with MFA: role suffix => the Kubernetes group its access entry maps to (k8s/base/rbac.yaml binds authorworks:admins and authorworks:developers) and whether it is also cluster admin (AmazonEKSClusterAdminPolicy)."
  type = map(object({
    kubernetes_group = string
    cluster_admin    = bool
  }))
  default = {
    admin     = { kubernetes_group = "authorworks:admins", cluster_admin = true }
    developer = { kubernetes_group = "authorworks:developers", cluster_admin = false }
  }

  # EKS access entries: kubernetes groups may not start with "system:" (CreateAccessEntry).
  validation {
    condition     = alltrue([for r in values(var.cluster_roles) : !startswith(r.kubernetes_group, "system:")])
    error_message = "EKS access entries refuse Kubernetes groups starting with system: (CreateAccessEntry): cluster_roles = ${jsonencode(var.cluster_roles)}."
  }
  # IAM role names are at most 64 characters: {project}-{environment}-<suffix>.
  validation {
    condition     = alltrue([for k in keys(var.cluster_roles) : can(regex("^[a-z][a-z0-9-]{0,30}$", k))])
    error_message = "cluster_roles: each key is a short lowercase suffix (it ends the role's name {project}-{environment}-<suffix>): ${join(", ", keys(var.cluster_roles))}."
  }
}

# The workflow files each GitHub role trusts (see local.github_subjects in main.tf).
variable "github_workflows" {
  description = "Workflow files under .github/workflows/ each GitHub role trusts, at the ref it runs from: deploy (the apply job, from main, GitHub environment <env>), operations (from main, operations-<env>; null: no operations role, for an environment no scheduled job runs against), plan_pull_request (pull requests' plans, at refs/pull/<n>/merge) and plan_main (plan jobs on main: after a merge, drift on a schedule)."
  type = object({
    deploy            = string
    operations        = optional(string)
    plan_pull_request = list(string)
    plan_main         = list(string)
  })
  # null (the stack passes it through): these defaults.
  nullable = false
  default = {
    deploy            = "deploy.yml"
    operations        = "operations.yml"
    plan_pull_request = ["ci.yml"]
    plan_main         = ["deploy.yml", "drift.yml"]
  }

  validation {
    condition     = alltrue([for f in concat(compact([var.github_workflows.deploy, var.github_workflows.operations]), var.github_workflows.plan_pull_request, var.github_workflows.plan_main) : can(regex("^[A-Za-z0-9_.-]+\\.ya?ml$", f))])
    error_message = "github_workflows: each is a workflow file name in .github/workflows/ (name.yml or name.yaml, no path and no wildcard): the roles trust exact files."
  }
  validation {
    condition     = length(var.github_workflows.plan_pull_request) + length(var.github_workflows.plan_main) > 0
    error_message = "github_workflows: the plan role trusts no workflow; name the pull requests' and main's plan workflows."
  }
}

# Secrets whose versions terraform writes (the database logins): refreshing them reads them.
variable "refreshed_secret_names" {
  description = "Names of the secrets (in this account and region) whose aws_secretsmanager_secret_version this stack manages: the plan role's refresh reads them (GetSecretValue), exactly these."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.refreshed_secret_names : startswith(n, "${var.project}/${var.environment}/") && !strcontains(n, "*") && !strcontains(n, "?")])
    error_message = "refreshed_secret_names: each is the exact name of one of this environment's secrets (${var.project}/${var.environment}/…), no wildcard."
  }
}
