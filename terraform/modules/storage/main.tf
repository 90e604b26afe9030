data "aws_caller_identity" "current" {}
data "aws_region" "dr" {
  provider = aws.dr
}

locals {
  name = "${var.project}-${var.environment}"
  # Every bucket: its purpose and its lifecycle.
  buckets = {
    content = { replicate = true }
    media   = { replicate = true }
    exports = { replicate = false }
    backups = { replicate = true }
    logs    = { replicate = false }
  }
  bucket_names = { for k, _ in local.buckets : k => "${local.name}-${k}-${data.aws_caller_identity.current.account_id}" }
  data_buckets = { for k, v in local.buckets : k => v if k != "logs" }
  expire_days  = { exports = var.exports_expire_days, backups = var.backups_expire_days, logs = var.logs_expire_days }
  replicated   = var.enable_replication ? { for k, v in local.buckets : k => v if v.replicate } : {}
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is on where the environment has a DR region (enable_replication: production); exports and logs are not worth replicating.
  #checkov:skip=CKV2_AWS_62:No consumer of bucket events exists; the platform reads these buckets on request.
  #checkov:skip=CKV_AWS_18:Every bucket but logs has access logging, configured by aws_s3_bucket_logging.this below (checkov does not follow for_each); the logs bucket is the log target.
  #checkov:skip=CKV_AWS_145:The logs bucket uses SSE-S3, the only encryption S3 server access log delivery supports; every other bucket uses SSE-KMS.
  for_each = local.buckets

  bucket        = local.bucket_names[each.key]
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.bucket_names[each.key], Purpose = each.key })
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      # S3 server access logs can only be delivered to a bucket encrypted with SSE-S3.
      sse_algorithm     = each.key == "logs" ? "AES256" : "aws:kms"
      kms_master_key_id = each.key == "logs" ? null : var.kms_key_arn
    }
    bucket_key_enabled = each.key != "logs"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.data_buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["logs"].id
  target_prefix = "s3/${each.key}/"

  # S3 checks the logs bucket's policy admits the logging service when logging is turned on.
  depends_on = [aws_s3_bucket_policy.this]
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

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

  dynamic "statement" {
    for_each = each.key == "logs" ? [1] : []
    content {
      sid       = "S3ServerAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this["logs"].arn}/*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "media" && length(var.media_reader_arns) > 0 ? [1] : []
    content {
      sid       = "CloudFrontReads"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.this["media"].arn}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = var.media_reader_arns
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  # A bucket whose policy would have no statement gets none.
  for_each = { for k, v in local.buckets : k => v if var.enforce_tls || k == "logs" || (k == "media" && length(var.media_reader_arns) > 0) }

  bucket     = aws_s3_bucket.this[each.key].id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "tiering-and-expiry"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expire_days
    }

    # media and logs cool down; content keeps its current versions hot (only old versions tier).
    dynamic "transition" {
      for_each = contains(["media", "logs"], each.key) ? [1] : []
      content {
        days          = var.infrequent_access_after_days
        storage_class = "STANDARD_IA"
      }
    }

    dynamic "transition" {
      for_each = contains(["backups", "logs"], each.key) ? [1] : []
      content {
        days          = var.glacier_after_days
        storage_class = "GLACIER"
      }
    }

    dynamic "noncurrent_version_transition" {
      for_each = each.key == "content" ? [1] : []
      content {
        noncurrent_days = var.infrequent_access_after_days
        storage_class   = "STANDARD_IA"
      }
    }

    dynamic "noncurrent_version_transition" {
      for_each = each.key == "content" ? [1] : []
      content {
        noncurrent_days = var.glacier_after_days
        storage_class   = "GLACIER"
      }
    }

    dynamic "expiration" {
      for_each = contains(keys(local.expire_days), each.key) ? [local.expire_days[each.key]] : []
      content {
        days = expiration.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# ---------------------------------------------------------------------------------------------------
# Cross-region replication to the DR region (production)

resource "aws_kms_key" "replica" {
  # The account administers its key, as AWS's default key policy does; IAM decides who in it may.
  policy   = data.aws_iam_policy_document.key_admin.json
  count    = var.enable_replication ? 1 : 0
  provider = aws.dr

  description             = "${local.name} replicated buckets in ${data.aws_region.dr.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = merge(var.tags, { Name = "${local.name}-replica-key" })
}

resource "aws_s3_bucket" "replica" {
  #checkov:skip=CKV_AWS_144:This is the replication destination.
  #checkov:skip=CKV_AWS_18:Access to the DR copies is recorded by CloudTrail; they are read only in a recovery.
  #checkov:skip=CKV2_AWS_61:Objects expire through the source bucket's lifecycle, which replication carries over as deletes.
  #checkov:skip=CKV2_AWS_62:No consumer of bucket events exists.
  for_each = local.replicated
  provider = aws.dr

  bucket = "${local.bucket_names[each.key]}-dr"
  tags   = merge(var.tags, { Name = "${local.bucket_names[each.key]}-dr", Purpose = "${each.key}-replica" })
}

resource "aws_s3_bucket_versioning" "replica" {
  for_each = local.replicated
  provider = aws.dr

  bucket = aws_s3_bucket.replica[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "replica" {
  for_each = local.replicated
  provider = aws.dr

  bucket = aws_s3_bucket.replica[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.replica[0].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "replica" {
  for_each = local.replicated
  provider = aws.dr

  bucket                  = aws_s3_bucket.replica[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "replication_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "replication" {
  count = var.enable_replication ? 1 : 0

  statement {
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [for k, _ in local.replicated : aws_s3_bucket.this[k].arn]
  }
  statement {
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = [for k, _ in local.replicated : "${aws_s3_bucket.this[k].arn}/*"]
  }
  statement {
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = [for k, _ in local.replicated : "${aws_s3_bucket.replica[k].arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.replica[0].arn]
  }
}

resource "aws_iam_role" "replication" {
  count = var.enable_replication ? 1 : 0

  name               = "${local.name}-s3-replication"
  assume_role_policy = data.aws_iam_policy_document.replication_trust.json
  tags               = merge(var.tags, { Name = "${local.name}-s3-replication" })
}

resource "aws_iam_role_policy" "replication" {
  count = var.enable_replication ? 1 : 0

  name   = "${local.name}-s3-replication"
  role   = aws_iam_role.replication[0].id
  policy = data.aws_iam_policy_document.replication[0].json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  for_each = local.replicated

  bucket = aws_s3_bucket.this[each.key].id
  role   = aws_iam_role.replication[0].arn

  rule {
    id     = "to-${data.aws_region.dr.name}"
    status = "Enabled"
    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.replica[each.key].arn
      storage_class = "STANDARD_IA"
      encryption_configuration {
        replica_kms_key_id = aws_kms_key.replica[0].arn
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_versioning.replica]
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
