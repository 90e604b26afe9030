# S3 buckets hardened the one way every bucket of the platform is: versioned, encrypted by default
# (SSE-KMS with the bucket key, or SSE-S3 where the caller asks: the bucket's only writer can't use KMS), every public
# access blocked, ACLs off (BucketOwnerEnforced), and a bucket policy that denies any request not made
# over TLS ("Enforce encryption of data in transit", S3 User Guide, security best practices) — merged
# with the statements the caller's services need on that bucket. Access logging where the caller
# names a target. Lifecycle rules stay with the callers: their plan-time refusals of rules S3 rejects
# are tested in the module whose variables make the rules (terraform test can't expect a child's
# failure).
#
# A map of buckets rather than one bucket per module instance: the callers keep their for_each keys, so
# a bucket is `module.<call>.aws_s3_bucket.this["<key>"]` and the caller names it by the same key
# (`module.<call>.names[each.key]`).

locals {
  # Only buckets whose policy would have a statement get one.
  with_policy = { for k, b in var.buckets : k => lookup(var.policy_statements, k, []) if var.enforce_tls || length(lookup(var.policy_statements, k, [])) > 0 }
  logged      = { for k, b in var.buckets : k => b if b.logging != null }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is the caller's (modules/storage replicates where the environment has a DR region); the other buckets say why not where they call this module.
  #checkov:skip=CKV2_AWS_62:No consumer of bucket events exists; the platform reads these buckets on request.
  #checkov:skip=CKV_AWS_18:Access logging is configured by aws_s3_bucket_logging.this where the caller names a target (checkov does not follow for_each); the buckets without it say why where they call this module.
  #checkov:skip=CKV_AWS_145:Every bucket is SSE-KMS but one a caller leaves on SSE-S3 because its writer can only use that (S3 server access logs: modules/storage's logs bucket).
  #checkov:skip=CKV_AWS_19:Every bucket has default encryption, aws_s3_bucket_server_side_encryption_configuration.this below: SSE-KMS, or SSE-S3 where the caller asks (checkov can't resolve that choice from the caller's input; tests/hardened-bucket.tftest.hcl checks both).
  #checkov:skip=CKV2_AWS_61:Lifecycle rules are the callers' (aws_s3_bucket_lifecycle_configuration beside the call), where their plan-time refusals are tested.
  for_each = var.buckets

  bucket        = each.value.name
  force_destroy = each.value.force_destroy
  tags          = merge(var.tags, { Name = each.value.name }, each.value.tags)
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = each.value.sse_s3 ? "AES256" : "aws:kms"
      kms_master_key_id = each.value.kms_key_arn
    }
    bucket_key_enabled = !each.value.sse_s3
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = var.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "this" {
  for_each = local.with_policy

  dynamic "statement" {
    for_each = var.enforce_tls ? [1] : []
    content {
      sid       = "DenyInsecureTransport"
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = "Bool"
        variable = "aws:SecureTransport"
        values   = ["false"]
      }
    }
  }

  # The caller's statements: on the bucket itself (`bucket`) and/or on object keys under it (`objects`).
  dynamic "statement" {
    for_each = each.value
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = concat(statement.value.bucket ? [aws_s3_bucket.this[each.key].arn] : [], [for o in statement.value.objects : "${aws_s3_bucket.this[each.key].arn}/${o}"])
      principals {
        type        = statement.value.principal.type
        identifiers = statement.value.principal.identifiers
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.with_policy

  bucket     = aws_s3_bucket.this[each.key].id
  policy     = data.aws_iam_policy_document.this[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.logged

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = each.value.logging.target_bucket
  target_prefix = each.value.logging.target_prefix

  # S3 checks the target bucket's policy admits the logging service when logging is turned on.
  depends_on = [aws_s3_bucket_policy.this]
}
