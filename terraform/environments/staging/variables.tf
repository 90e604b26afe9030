# Facts that live in xtask.toml; `cargo xtask` passes them as -var.

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "The environment's region."
  type        = string
}

variable "aws_account_id" {
  description = "The only AWS account this environment may be applied in."
  type        = string
}

variable "dr_region" {
  description = "Disaster-recovery region (null: none)."
  type        = string
  default     = null
}
