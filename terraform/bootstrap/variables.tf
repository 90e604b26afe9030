variable "project" {
  description = "Project name (from xtask.toml)."
  type        = string
}

variable "environment" {
  description = "Environment whose state bucket this is."
  type        = string
}

variable "region" {
  description = "Region of the state bucket (the environment's region, from xtask.toml)."
  type        = string
}

variable "state_bucket_name" {
  description = "Name of the state bucket: {project}-{env}-tfstate-{account id}, chosen by the xtask."
  type        = string
}

variable "enforce_tls" {
  description = "TLS-only bucket policy on the state bucket (the xtask turns it off only where the environment's emulator_omissions say the emulator can't evaluate it)."
  type        = bool
  default     = true
}
