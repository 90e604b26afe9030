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

variable "database_identifier" {
  description = "Identifier of the RDS instance the logins are on (the database module's instance_identifier), named in each secret's description."
  type        = string
}

variable "master_username" {
  description = "The instance's master user (the database module's master_username): RDS's own login, which no service's role may take."
  type        = string
}

variable "protected" {
  description = "Deleted secrets stay recoverable for 30 days (else they go at once, so a rebuilt environment can make them again)."
  type        = bool
  default     = true
}

variable "service_databases" {
  description = "Services with a database of their own: each gets a login role and a database named like it with underscores (user-service: user_service), and a secret `<project>/<env>/db/<service>` holding the role's credentials."
  type        = set(string)

  validation {
    condition     = alltrue([for s in var.service_databases : can(regex("^[a-z][a-z0-9-]{0,62}$", s))])
    error_message = "service_databases: each name becomes a PostgreSQL identifier (hyphens as underscores), at most 63 bytes (NAMEDATALEN - 1) of lowercase a-z, 0-9 and -, starting with a letter; got ${join(", ", var.service_databases)}."
  }
  # PostgreSQL reserves role names starting with pg_ ("Database Roles"); RDS keeps its own roles as
  # rdsadmin and rds_* ("Understanding PostgreSQL roles and permissions", RDS User Guide).
  validation {
    condition     = alltrue([for s in var.service_databases : !startswith(replace(s, "-", "_"), "pg_") && !startswith(s, "rds")])
    error_message = "service_databases: role names starting with pg_ are reserved by PostgreSQL, and rds* by RDS; got ${join(", ", var.service_databases)}."
  }
  validation {
    condition     = !contains([for s in var.service_databases : replace(s, "-", "_")], var.master_username)
    error_message = "service_databases: a service's role would be the master user ${var.master_username}; the master login stays RDS's own."
  }
}


variable "secrets_kms_key_arn" {
  description = "KMS key the services' login secrets are encrypted with (the security module's `secrets` key)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}


variable "password_version" {
  description = "Generation of the services' database passwords: raise it to write new ones (the database-setup job then resets the roles)."
  type        = number
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number from 1 (secret_string_wo_version); got ${var.password_version}."
  }
}
