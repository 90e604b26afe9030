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

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "az_count" {
  description = "How many availability zones the subnets span."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3 (EKS and RDS subnet groups need at least two zones)."
  }
}

variable "public_subnet_cidrs" {
  description = "Public subnets (load balancers, NAT gateways), one per zone."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "every public subnet must be a valid CIDR block."
  }
}

variable "private_subnet_cidrs" {
  description = "Private subnets (the cluster's nodes and pods), one per zone."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "every private subnet must be a valid CIDR block."
  }
}

variable "database_subnet_cidrs" {
  description = "Database subnets (RDS, ElastiCache): no route to the internet, one per zone."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.database_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "every database subnet must be a valid CIDR block."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway shared by every zone (cheap, for dev) instead of one per zone."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "EKS cluster name, tagged on the subnets so its load balancers find them."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints in the private subnets (e.g. ecr.api, ecr.dkr, sts), where they pay for themselves against the NAT gateways' per-GB processing (docs/COST_OPTIMIZATION.md has the break-even). The S3 gateway endpoint is always made (free)."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.interface_endpoints : contains(["ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager", "kms", "ec2", "elasticloadbalancing", "autoscaling"], s)])
    error_message = "interface_endpoints lists services the nodes call: ecr.api, ecr.dkr, sts, logs, secretsmanager, kms, ec2, elasticloadbalancing, autoscaling."
  }
}
