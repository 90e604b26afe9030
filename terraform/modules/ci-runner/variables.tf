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

variable "github_repository" {
  description = "The repository (owner/name) whose workflow jobs the runners serve."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "vpc_id" {
  description = "The environment's VPC: the runners' interfaces are placed in it."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-z]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

# CodeBuild VpcConfig: at most 16 subnets (API Reference, VpcConfig). They must be private subnets with a
# NAT route: CodeBuild gives build containers in a VPC no public address ("Use CodeBuild with Amazon VPC").
variable "subnet_ids" {
  description = "Private subnets (with a NAT route) the runners run in: GitHub, the registries and AWS APIs are reached through NAT."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(var.subnet_ids) <= 16 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-z]+$", s))])
    error_message = "CodeBuild VpcConfig takes 1 to 16 subnet IDs (subnet-...): got ${length(var.subnet_ids)}."
  }
}

variable "cluster_security_group_id" {
  description = "The security group on the EKS API endpoint's interfaces (the cluster's vpc_config security group): it admits the runners on 443."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-z]+$", var.cluster_security_group_id))
    error_message = "cluster_security_group_id must be a security group ID (sg-...)."
  }
}

variable "logs_kms_key_arn" {
  description = "KMS key the runners' log group is encrypted with (its policy lets CloudWatch Logs use it)."
  type        = string
}

variable "log_retention_days" {
  description = "Days the runners' job logs are kept in CloudWatch (the job logs are also on GitHub)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "create_connection" {
  description = "Make the GitHub connection (AWS CodeConnections). false only on an emulator without the CodeConnections API: then neither the project nor its webhook is made."
  type        = bool
  default     = true
}

# CodeBuild validates the connection when a project names it (CreateProject fails with
# OAuthProviderException while the connection is PENDING: aws/aws-cdk#38504), and CreateWebhook registers
# the webhook with GitHub through it ("Access denied to connection", terraform-provider-aws#40656). A
# connection terraform creates is PENDING until a person completes it in the console.
variable "connection_authorized" {
  description = "Whether a person has completed the GitHub connection in the console (status AVAILABLE). false on the first apply in a new account: only the connection (PENDING), the role, the log group and the security group are made; true makes the CodeBuild project and its webhook (docs/INFRASTRUCTURE.md, First apply in a new account)."
  type        = bool

  validation {
    condition     = !var.connection_authorized || var.create_connection
    error_message = "connection_authorized = true needs create_connection = true: without a connection there is nothing to authorise and no runner can be made."
  }
}

# The CodeBuild compute types for Linux containers (API Reference, ProjectEnvironment computeType).
variable "compute_type" {
  description = "CodeBuild compute of one runner: BUILD_GENERAL1_SMALL (2 vCPU, 3 GB), _MEDIUM (4 vCPU, 7 GB), _LARGE (8 vCPU, 15 GB); a job may ask for another with the `instance-size:` label."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], var.compute_type)
    error_message = "compute_type must be a CodeBuild Linux compute type: BUILD_GENERAL1_SMALL, _MEDIUM, _LARGE, _XLARGE or _2XLARGE."
  }
}

# An x86 Linux image for a LINUX_CONTAINER environment: an ARM image there fails at build time ("Docker
# images supported by CodeBuild": aarch64 images need ARM_CONTAINER).
variable "image" {
  description = "CodeBuild-managed x86_64 Linux image the runner container starts from (Ubuntu standard images carry what GitHub's ubuntu runners do for the steps here: git, curl, python, node)."
  type        = string
  default     = "aws/codebuild/standard:7.0"

  validation {
    condition     = can(regex("^aws/codebuild/(standard|amazonlinux-x86_64-standard|amazonlinux2-x86_64-standard):[0-9]+\\.[0-9]+$", var.image))
    error_message = "image must be a CodeBuild-managed x86_64 Linux image (aws/codebuild/standard:N.N or aws/codebuild/amazonlinux-x86_64-standard:N.N) for a LINUX_CONTAINER: got ${var.image}."
  }
}

# CodeBuild: timeoutInMinutes 5-2160, queuedTimeoutInMinutes 5-480 (API Reference, CreateProject).
variable "build_timeout_minutes" {
  description = "The longest one job may run on a runner: at least the longest timeout-minutes of a job that runs there (deploy's apply job)."
  type        = number
  default     = 120

  validation {
    condition     = var.build_timeout_minutes >= 5 && var.build_timeout_minutes <= 2160 && floor(var.build_timeout_minutes) == var.build_timeout_minutes
    error_message = "CodeBuild timeoutInMinutes must be a whole number from 5 to 2160: build_timeout_minutes = ${var.build_timeout_minutes}."
  }
}

variable "queued_timeout_minutes" {
  description = "How long a queued job may wait for a runner before CodeBuild gives it up."
  type        = number
  default     = 60

  validation {
    condition     = var.queued_timeout_minutes >= 5 && var.queued_timeout_minutes <= 480 && floor(var.queued_timeout_minutes) == var.queued_timeout_minutes
    error_message = "CodeBuild queuedTimeoutInMinutes must be a whole number from 5 to 480: queued_timeout_minutes = ${var.queued_timeout_minutes}."
  }
}

# Every job of the repository that asks for this project's runner label would get one; the webhook's
# WORKFLOW_NAME filter (a regular expression on the workflow's `name:`, API Reference WebhookFilter) lets
# only the named workflows start a runner inside the VPC.
variable "runner_workflows" {
  description = "Names (the `name:` of the workflow file) of the GitHub workflows whose jobs may start a runner; any other workflow's job asking for the label waits and is never served."
  type        = list(string)
  default     = ["deploy"]

  validation {
    condition     = length(var.runner_workflows) > 0 && alltrue([for w in var.runner_workflows : can(regex("^[A-Za-z0-9 _.-]{1,100}$", w))])
    error_message = "runner_workflows: one or more workflow names of letters, digits, space, _, . and - (they become an anchored regular expression)."
  }
}
