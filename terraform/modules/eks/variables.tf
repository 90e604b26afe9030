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

variable "kubernetes_version" {
  description = "Kubernetes version of the control plane and node groups."
  type        = string
  default     = "1.36"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.36."
  }
}

variable "support_type" {
  description = "EKS upgrade policy once the Kubernetes version leaves standard support: STANDARD (the cluster is upgraded) or EXTENDED (kept, at six times the control-plane price). null leaves it unset, which AWS treats as EXTENDED; only for the emulator, which does not keep the setting."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = var.support_type == null || contains(["STANDARD", "EXTENDED"], coalesce(var.support_type, "STANDARD"))
    error_message = "support_type must be STANDARD, EXTENDED or null."
  }
}

variable "subnet_ids" {
  description = "Private subnets the control plane's interfaces and the nodes live in."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two zones."
  }
}

variable "subnet_cidrs" {
  description = "CIDR blocks of subnet_ids, in the same order: checked against the /28 prefixes the node groups take at max_size with prefix delegation (empty: not checked)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.subnet_cidrs : can(cidrhost(c, 0)) && tonumber(split("/", c)[1]) <= 28])
    error_message = "subnet_cidrs must be IPv4 CIDR blocks of /28 or larger; got ${join(", ", var.subnet_cidrs)}."
  }
}

variable "cluster_security_group_ids" {
  description = "Additional security groups for the control plane's interfaces (the network module's cluster group)."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access_cidrs" {
  description = "Operators' public IPv4 ranges allowed to reach the API endpoint publicly (the alternative to the bastion's tunnel); empty keeps the endpoint private only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && !strcontains(c, ":") && c != "0.0.0.0/0"])
    error_message = "public access CIDRs must be valid IPv4 ranges narrower than 0.0.0.0/0 (an IPv4 cluster takes no IPv6 ranges: EKS VpcConfigRequest publicAccessCidrs): ${join(", ", var.endpoint_public_access_cidrs)}."
  }
  # Amazon EKS quotas: at most 40 public endpoint access CIDR ranges per cluster.
  validation {
    condition     = length(var.endpoint_public_access_cidrs) <= 40
    error_message = "EKS allows at most 40 public access CIDR ranges per cluster; got ${length(var.endpoint_public_access_cidrs)}: use the tunnel (cargo xtask tunnel) instead of a long allow-list."
  }
  # Traffic from a private (RFC 1918) address never reaches a public endpoint: such a range admits
  # nobody and usually means the operator's LAN address was given instead of their public one.
  validation {
    condition = alltrue([for c in var.endpoint_public_access_cidrs : !can(cidrhost(c, 0)) || strcontains(c, ":") || !anytrue([
      for p in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] :
      tonumber(split("/", c)[1]) >= tonumber(split("/", p)[1]) && cidrsubnet("${cidrhost(c, 0)}/${split("/", p)[1]}", 0, 0) == p
    ])])
    error_message = "public access CIDRs must be public addresses: a private range (10/8, 172.16/12, 192.168/16) never reaches a public endpoint (the private endpoint serves the VPC): ${join(", ", var.endpoint_public_access_cidrs)}."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key that envelope-encrypts Kubernetes secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the control plane's log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days the control plane's logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "node_groups" {
  description = "Managed node groups by name (e.g. system, application, batch)."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = optional(number, 30)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = string
      effect = string
    })), [])
  }))

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "each node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)]]))
    error_message = "taint effects are NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }

  # Spot capacity is drawn per instance type and zone (a Spot capacity pool); a group of one type loses
  # every node at once when that pool empties or is reclaimed. EKS managed node groups spread Spot
  # capacity over the group's types with the capacity-optimized strategy ("Managed node groups",
  # EKS User Guide, Spot capacity type: specify multiple instance types, diversified), so a Spot group
  # names at least three types of one shape.
  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.capacity_type != "SPOT" || length(distinct(g.instance_types)) >= 3])
    error_message = "Spot diversification rule: every SPOT node group needs at least three instance types (of one vCPU/memory shape); ${join(", ", [for n, g in var.node_groups : "${n} has ${length(distinct(g.instance_types))} (${join(", ", g.instance_types)})" if g.capacity_type == "SPOT" && length(distinct(g.instance_types)) < 3])}."
  }
}

variable "enable_addons" {
  description = "Manage the core add-ons (vpc-cni, coredns, kube-proxy, aws-ebs-csi-driver) as EKS add-ons."
  type        = bool
  default     = true
}

variable "ebs_csi_role_arn" {
  description = "IRSA role of the EBS CSI driver add-on (null: the node role is used)."
  type        = string
  default     = null
}

variable "oidc_thumbprints" {
  description = "Thumbprints of the OIDC issuer's root CA (IAM no longer checks them for EKS issuers, but the API requires one)."
  type        = list(string)
  default     = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

variable "node_security_group_ids" {
  description = "Security groups the nodes (and their pods) carry besides the cluster group EKS made: the network module's node group, which the database and cache admit."
  type        = list(string)
  default     = []
}

variable "enable_access_entries" {
  description = "API authentication with access entries (no aws-auth ConfigMap); false only on an emulator without the access entry API."
  type        = bool
  default     = true
}

variable "access_entries" {
  description = "Who may use the Kubernetes API: name => the IAM role, the Kubernetes groups it maps to (RBAC binds them) and whether it gets the cluster-admin access policy."
  type = map(object({
    principal_arn     = string
    kubernetes_groups = optional(list(string), [])
    cluster_admin     = optional(bool, false)
  }))
  default = {}

  validation {
    condition     = alltrue(flatten([for e in values(var.access_entries) : [for g in e.kubernetes_groups : !startswith(g, "system:")]]))
    error_message = "EKS CreateAccessEntry refuses Kubernetes groups starting with system:; access_entries groups: ${join(", ", flatten([for e in values(var.access_entries) : e.kubernetes_groups]))}."
  }
  validation {
    condition     = alltrue([for e in values(var.access_entries) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", e.principal_arn))])
    error_message = "EKS access entries here name IAM roles (arn:aws:iam::<account>:role/...): ${join(", ", [for e in values(var.access_entries) : e.principal_arn])}."
  }
  validation {
    condition     = alltrue([for e in values(var.access_entries) : e.cluster_admin || length(e.kubernetes_groups) > 0])
    error_message = "an access entry with no Kubernetes group and no access policy lets its role authenticate and do nothing: give each entry kubernetes_groups or cluster_admin."
  }
}
