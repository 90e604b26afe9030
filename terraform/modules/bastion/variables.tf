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

variable "vpc_id" {
  description = "The environment's VPC."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-z]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "subnet_id" {
  description = "A private subnet with a NAT route: the SSM agent reaches Systems Manager's endpoints through it (the instance has no public address)."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-z]+$", var.subnet_id))
    error_message = "subnet_id must be a subnet ID (subnet-...)."
  }
}

variable "cluster_security_group_id" {
  description = "The security group on the EKS API endpoint's interfaces: it admits the bastion on 443."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-z]+$", var.cluster_security_group_id))
    error_message = "cluster_security_group_id must be a security group ID (sg-...)."
  }
}

variable "cluster_name" {
  description = "The EKS cluster `cargo xtask tunnel` forwards to (written, with the instance ID, to the tunnel's SSM parameter)."
  type        = string
}

# The bastion only relays one TCP stream per person through the SSM agent: the smallest burstable types
# are enough. Graviton (t4g) types get the arm64 image, the others x86_64.
variable "instance_type" {
  description = "EC2 type of the bastion: a small burstable one (it only relays port-forwarding sessions)."
  type        = string
  default     = "t4g.nano"

  validation {
    condition     = contains(["t4g.nano", "t4g.micro", "t4g.small", "t3.nano", "t3.micro", "t3.small", "t3a.nano", "t3a.micro", "t3a.small"], var.instance_type)
    error_message = "instance_type must be a small burstable type (t4g, t3 or t3a nano, micro or small): the bastion only relays sessions; got ${var.instance_type}."
  }
}

# The root volume can't be smaller than the image's snapshot: Amazon Linux 2023's is 8 GiB (EC2 refuses
# a smaller volume_size, "InvalidBlockDeviceMapping"); gp3 volumes are at most 16,384 GiB.
variable "root_volume_gb" {
  description = "Size of the encrypted gp3 root volume in GiB (at least the Amazon Linux 2023 image's 8)."
  type        = number
  default     = 8

  validation {
    condition     = var.root_volume_gb >= 8 && var.root_volume_gb <= 16384 && floor(var.root_volume_gb) == var.root_volume_gb
    error_message = "root_volume_gb must be a whole number from 8 (the Amazon Linux 2023 image's snapshot) to 16384 (gp3's largest): got ${var.root_volume_gb}."
  }
}

# IAM role names: 1-64 characters of [\w+=,.@-] (IAM API Reference, CreateRole RoleName).
variable "tunnel_roles" {
  description = "The people's roles that may open `cargo xtask tunnel` (a port-forwarding session through this instance): role suffix => IAM role name."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for r in values(var.tunnel_roles) : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", r))])
    error_message = "tunnel_roles: each value is an IAM role name (1-64 characters of letters, digits and +=,.@_-): ${join(", ", values(var.tunnel_roles))}."
  }
}
