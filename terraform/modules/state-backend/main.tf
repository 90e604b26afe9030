# The bucket terraform keeps remote state in. Locking is terraform's own S3 lockfile (use_lockfile),
# so there is no DynamoDB table.
#
# Only what must hold before the first state is written lives here: the bucket, its versioning, its
# encryption and key, the public access block, owner-enforced ownership and the TLS-only policy. The
# housekeeping rule (superseded state versions expire, abandoned uploads are aborted) is applied with
# the stack (modules/storage, `state_bucket`): AWS provider 5.100 waits a fixed 55 s after every
# PutBucketLifecycleConfiguration (10 s, then 10 matching reads 5 s apart: PR #41764), which here
# held up every first deploy while nothing else ran; in the stack's apply it runs beside the database.

locals {
  name = "${var.project}-${var.environment}-tfstate"
}

resource "aws_kms_key" "state" {
  # The account administers its key, as AWS's default key policy does; IAM decides who in it may.
  policy                  = data.aws_iam_policy_document.key_admin.json
  description             = "Encrypts ${var.bucket_name} (terraform state)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = merge(var.tags, { Name = "${local.name}-key" })
}

resource "aws_kms_alias" "state" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:State is replicated by S3 versioning and the backup command's copies; cross-region replication of state is not needed to rebuild.
  #checkov:skip=CKV_AWS_18:Access to the state bucket is recorded by CloudTrail; server access logs would need a second bucket before any bucket exists.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events from the state bucket.
  #checkov:skip=CKV2_AWS_61:The state bucket's lifecycle rule is applied with the stack (modules/storage, state_bucket), not before the first state write.
  bucket = var.bucket_name
  tags   = merge(var.tags, { Name = local.name })
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "tls_only" {
  count = var.enforce_tls ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

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

resource "aws_s3_bucket_policy" "state" {
  count = var.enforce_tls ? 1 : 0

  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.tls_only[0].json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

data "aws_iam_policy_document" "key_admin" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_356:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_109:The account root administers its own key, as AWS's default key policy does.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.key_admin.partition}:iam::${data.aws_caller_identity.key_admin.account_id}:root"]
    }
  }
}

data "aws_partition" "key_admin" {}
data "aws_caller_identity" "key_admin" {}
