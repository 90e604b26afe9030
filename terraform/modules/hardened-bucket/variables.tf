variable "buckets" {
  description = "Key => the bucket: its name; the KMS key of its default encryption, or `sse_s3` for SSE-S3 instead (a bucket whose only writer can't use KMS, such as S3 server access log delivery); force_destroy; tags on top of `tags` (Name is its name); and where its access logs go (null: none). The key is the caller's: it names the bucket by it."
  type = map(object({
    name          = string
    kms_key_arn   = optional(string)
    sse_s3        = optional(bool, false)
    force_destroy = optional(bool, false)
    tags          = optional(map(string), {})
    logging = optional(object({
      target_bucket = string
      target_prefix = string
    }))
  }))

  # S3 User Guide, "General purpose bucket naming rules": 3-63 characters of a-z, 0-9, . and -, starting
  # and ending with a letter or digit; no two adjacent periods; not an IP address; not starting with
  # xn-- or sthree-, not ending with -s3alias or --ol-s3.
  validation {
    condition = alltrue([for b in values(var.buckets) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", b.name)) && !can(regex("\\.\\.", b.name))
      && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", b.name)) && !startswith(b.name, "xn--") && !startswith(b.name, "sthree-")
    && !endswith(b.name, "-s3alias") && !endswith(b.name, "--ol-s3")])
    error_message = "S3 bucket naming rule: every bucket name is 3-63 characters of a-z, 0-9, . and -; no .., no IP address, no xn--/sthree- prefix, no -s3alias/--ol-s3 suffix."
  }
  # The choice is a flag rather than a null key: a key made in the same apply has an unknown ARN, and the
  # plan should still say which encryption each bucket gets.
  validation {
    condition     = alltrue([for b in values(var.buckets) : b.sse_s3 ? b.kms_key_arn == null : b.kms_key_arn != null])
    error_message = "Each bucket names its KMS key (kms_key_arn) or asks for SSE-S3 (sse_s3 = true), not both."
  }
  validation {
    condition     = alltrue([for b in values(var.buckets) : b.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/", b.kms_key_arn))])
    error_message = "kms_key_arn is a KMS key (or alias) ARN."
  }
}

variable "policy_statements" {
  description = "Bucket key => the statements its users need in its policy, each on the bucket itself (`bucket`) and/or on object keys under it (`objects`, e.g. `AWSLogs/<account>/*`), merged after the TLS-only deny. Apart from `buckets` so that a statement may name what is made from the bucket (a CloudFront distribution that reads it) without a cycle."
  type = map(list(object({
    sid       = string
    actions   = list(string)
    bucket    = optional(bool, false)
    objects   = optional(list(string), [])
    principal = object({ type = string, identifiers = list(string) })
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  })))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.policy_statements) : contains(keys(var.buckets), k)])
    error_message = "policy_statements names buckets of `buckets` only."
  }
  validation {
    condition     = alltrue(flatten([for list in values(var.policy_statements) : [for s in list : (s.bucket || length(s.objects) > 0) && length(s.actions) > 0 && s.sid != "DenyInsecureTransport" && can(regex("^[A-Za-z0-9]+$", s.sid))]]))
    error_message = "Each policy statement names its actions and the bucket and/or object keys it applies to, with an alphanumeric sid other than DenyInsecureTransport (the TLS-only deny's)."
  }
  validation {
    condition     = alltrue(flatten([for list in values(var.policy_statements) : [for s in list : [for o in s.objects : !startswith(o, "/") && !startswith(o, "arn:")]]]))
    error_message = "A statement's objects are key patterns under the bucket (AWSLogs/123456789012/*), not ARNs or paths starting with /."
  }
}

variable "enforce_tls" {
  description = "Each bucket's policy denies every request not made over TLS (off only where the AWS emulator can't evaluate aws:SecureTransport)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every bucket, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
