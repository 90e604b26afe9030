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

variable "bucket_name" {
  description = "Name of the S3 bucket that holds terraform state (globally unique)."
  type        = string

  # S3 User Guide, "General purpose bucket naming rules": 3-63 characters of a-z, 0-9, . and -, starting
  # and ending with a letter or digit; no two adjacent periods; not an IP address; not starting with
  # xn-- or sthree-, not ending with -s3alias or --ol-s3.
  validation {
    condition = (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
      && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name)) && !startswith(var.bucket_name, "xn--") && !startswith(var.bucket_name, "sthree-")
    && !endswith(var.bucket_name, "-s3alias") && !endswith(var.bucket_name, "--ol-s3"))
    error_message = "S3 bucket naming rule: bucket_name ${var.bucket_name} is not a valid bucket name (3-63 characters of a-z, 0-9, . and -; no .., no IP address, no xn--/sthree- prefix, no -s3alias/--ol-s3 suffix)."
  }
}

variable "enforce_tls" {
  description = "A bucket policy that denies every request not made over TLS (off only where the AWS emulator can't evaluate it)."
  type        = bool
  default     = true
}
