data "aws_caller_identity" "current" {}
# Elastic Load Balancing's log-delivery account in this region (regions opened before August 2022, such
# as us-east-1 and us-west-2, deliver access logs from it).
data "aws_elb_service_account" "current" {}
data "aws_region" "dr" {
  provider = aws.dr
}

locals {
  name = "${var.project}-${var.environment}"
  # Every bucket: its purpose and its lifecycle. Each has a user: media (media-service writes it,
  # CloudFront serves it), exports (export-service), backups (state copies: `cargo xtask backup`; the
  # operations role), logs (S3 access logs, the ALB's access logs). There is no content bucket:
  # content-service keeps manuscripts in PostgreSQL and no service may touch such a bucket.
  buckets = {
    media   = { replicate = true }
    exports = { replicate = false }
    backups = { replicate = true }
    logs    = { replicate = false }
    # Loki's chunks and index (helm-values/loki: object storage, IRSA role `loki` of the security module).
    loki = { replicate = false }
  }
  bucket_names = { for k, _ in local.buckets : k => "${local.name}-${k}-${data.aws_caller_identity.current.account_id}" }
  data_buckets = { for k, v in local.buckets : k => v if k != "logs" }
  replicated   = var.enable_replication ? { for k, v in local.buckets : k => v if v.replicate } : {}
  # Replicas are written in this class (the replication rule's destination storage class).
  replica_storage_class = "STANDARD_IA"
}

# The buckets, hardened by the shared building block: versioned, encrypted by default (SSE-KMS with the
# s3 key; the logs bucket SSE-S3, the only encryption S3 server access log delivery supports), public
# access blocked, ACLs off, TLS-only, with the statements below merged into each policy. Every bucket but
# logs sends its access logs to logs (the log target has none). Cross-region replication (below) where
# the environment has a DR region; exports and logs are not worth replicating.
module "buckets" {
  source = "../hardened-bucket"

  buckets = { for k, _ in local.buckets : k => {
    name          = local.bucket_names[k]
    kms_key_arn   = k == "logs" ? null : var.kms_key_arn
    sse_s3        = k == "logs"
    force_destroy = var.force_destroy
    tags          = { Purpose = k }
    logging       = k == "logs" ? null : { target_bucket = local.bucket_names["logs"], target_prefix = "s3/${k}/" }
  } }
  policy_statements = local.policy_statements
  enforce_tls       = var.enforce_tls
  tags              = var.tags
}

locals {
  account_id = data.aws_caller_identity.current.account_id

  # What each bucket's users need in its policy, beside the TLS-only deny.
  policy_statements = {
    media = length(var.media_reader_arns) == 0 ? [] : [{
      sid        = "CloudFrontReads"
      actions    = ["s3:GetObject"]
      objects    = ["*"]
      principal  = { type = "Service", identifiers = ["cloudfront.amazonaws.com"] }
      conditions = [{ test = "StringEquals", variable = "AWS:SourceArn", values = var.media_reader_arns }]
    }]
    exports = []
    backups = []
    loki    = []
    logs = concat(
      [{
        sid        = "S3ServerAccessLogs"
        actions    = ["s3:PutObject"]
        objects    = ["*"]
        principal  = { type = "Service", identifiers = ["logging.s3.amazonaws.com"] }
        conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] }]
      }],
      # Elastic Load Balancing delivers the ALB's access logs as the region's ELB account (AWS ELB user
      # guide, "Enable access logs for your Application Load Balancer": s3:PutObject on
      # bucket/prefix/AWSLogs/account-id/*; the bucket must use SSE-S3, as the logs bucket does). Without
      # this statement AWS refuses to turn access logging on, and the controller fails the whole ALB.
      var.load_balancer_logs_prefix == "" ? [] : [{
        sid        = "ElbAccessLogs"
        actions    = ["s3:PutObject"]
        objects    = ["${var.load_balancer_logs_prefix}/AWSLogs/${local.account_id}/*"]
        principal  = { type = "AWS", identifiers = [data.aws_elb_service_account.current.arn] }
        conditions = []
      }],
      # AWS Config delivers configuration snapshots and history to the logs bucket as the service (the
      # recorder uses the Config service-linked role), which needs the bucket's ACL and existence checks
      # and PutObject under <prefix>/AWSLogs/<account>/Config/, each only for this account ("Permissions
      # for the Amazon S3 Bucket for the AWS Config Delivery Channel", AWS Config Developer Guide).
      # Without them the delivery channel is refused (InsufficientDeliveryPolicyException).
      # (In the order the statements always had: a policy written again in another order is a change.)
      var.config_delivery_prefix == "" ? [] : [
        {
          sid        = "AWSConfigBucketExistenceCheck"
          actions    = ["s3:ListBucket"]
          bucket     = true
          principal  = { type = "Service", identifiers = ["config.amazonaws.com"] }
          conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] }]
        },
        {
          sid        = "AWSConfigBucketPermissionsCheck"
          actions    = ["s3:GetBucketAcl"]
          bucket     = true
          principal  = { type = "Service", identifiers = ["config.amazonaws.com"] }
          conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] }]
        },
      ],
      var.config_delivery_prefix == "" ? [] : [{
        sid       = "AWSConfigBucketDelivery"
        actions   = ["s3:PutObject"]
        objects   = ["${var.config_delivery_prefix}/AWSLogs/${local.account_id}/Config/*"]
        principal = { type = "Service", identifiers = ["config.amazonaws.com"] }
        conditions = [
          { test = "StringEquals", variable = "s3:x-amz-acl", values = ["bucket-owner-full-control"] },
          { test = "StringEquals", variable = "aws:SourceAccount", values = [local.account_id] },
        ]
      }],
    )
  }
}

# State written before the building block existed keeps its buckets: the resources moved into it.
moved {
  from = aws_s3_bucket.this
  to   = module.buckets.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.buckets.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.buckets.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.buckets.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.buckets.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_logging.this
  to   = module.buckets.aws_s3_bucket_logging.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.buckets.aws_s3_bucket_policy.this
}

# Each bucket's lifecycle: its transitions and expirations, checked against S3's lifecycle rules by the
# shared building block (modules/s3-lifecycle-rules) and refused at plan time where one breaks them.
locals {
  # Per bucket: transitions (in order) and expiry of current versions, and of noncurrent versions.
  # Backups are kept 7/30/90 days (dev/staging/production) and read in a restore: they stay in
  # STANDARD, since any colder class would bill more days than they are kept or than it saves.
  # Media cools to STANDARD_IA, and so do its replaced versions until they expire.
  lifecycle = {
    media = {
      transitions            = [{ days = var.infrequent_access_after_days, storage_class = "STANDARD_IA" }]
      expiration_days        = null
      noncurrent_transitions = [{ days = var.infrequent_access_after_days, storage_class = "STANDARD_IA" }]
      noncurrent_expiration  = var.noncurrent_version_expire_days
    }
    exports = {
      transitions            = []
      expiration_days        = var.exports_expire_days
      noncurrent_transitions = []
      noncurrent_expiration  = var.noncurrent_version_expire_days
    }
    backups = {
      transitions            = []
      expiration_days        = var.backups_expire_days
      noncurrent_transitions = []
      noncurrent_expiration  = var.noncurrent_version_expire_days
    }
    logs = {
      transitions = [
        { days = var.infrequent_access_after_days, storage_class = "STANDARD_IA" },
        { days = var.glacier_after_days, storage_class = "GLACIER" },
      ]
      expiration_days        = var.logs_expire_days
      noncurrent_transitions = []
      noncurrent_expiration  = var.noncurrent_version_expire_days
    }
    # Loki reads any chunk a query asks for, so they stay in STANDARD (GLACIER objects can't be read
    # without a restore, which the logs bucket's tiering would need); Loki's compactor deletes what is
    # past its retention (helm-values/loki: the one place the retention is set), and what it deleted
    # goes with the noncurrent versions.
    loki = {
      transitions            = []
      expiration_days        = null
      noncurrent_transitions = []
      noncurrent_expiration  = var.noncurrent_version_expire_days
    }
  }
}

# Every broken rule, one line each, per bucket; the replicas (`<bucket>-dr`) are written in the
# replication rule's storage class and expire like their sources (below).
module "lifecycle_rules" {
  source = "../s3-lifecycle-rules"

  rules = merge(
    { for b, l in local.lifecycle : b => {
      transitions                = l.transitions
      expiration_days            = l.expiration_days
      noncurrent_transitions     = l.noncurrent_transitions
      noncurrent_expiration_days = l.noncurrent_expiration
    } },
    { for b, _ in local.replicated : "${b}-dr" => {
      written_in                 = local.replica_storage_class
      expiration_days            = local.lifecycle[b].expiration_days
      noncurrent_expiration_days = local.lifecycle[b].noncurrent_expiration
    } },
  )
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  # Named through its versioning: S3 refuses noncurrent-version rules before versioning is on.
  bucket = module.buckets.versioned_names[each.key]

  rule {
    id     = "tiering-and-expiry"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = local.lifecycle[each.key].noncurrent_expiration
    }

    dynamic "transition" {
      for_each = local.lifecycle[each.key].transitions
      content {
        days          = transition.value.days
        storage_class = transition.value.storage_class
      }
    }

    dynamic "noncurrent_version_transition" {
      for_each = local.lifecycle[each.key].noncurrent_transitions
      content {
        noncurrent_days = noncurrent_version_transition.value.days
        storage_class   = noncurrent_version_transition.value.storage_class
      }
    }

    dynamic "expiration" {
      for_each = local.lifecycle[each.key].expiration_days == null ? [] : [local.lifecycle[each.key].expiration_days]
      content {
        days = expiration.value
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(module.lifecycle_rules.problems[each.key]) == 0
      error_message = "S3 lifecycle rules (module storage): ${join("; ", module.lifecycle_rules.problems[each.key])}."
    }
  }

}

# The remote-state bucket's housekeeping. The bucket itself is the bootstrap's (modules/state-backend):
# it holds only what must be in place before the first state write. This rule is here, applied with
# the stack, because AWS provider 5.100 waits a fixed 55 s after every PutBucketLifecycleConfiguration
# (waitLifecycleConfigEquals: 10 s, then 10 matching reads 5 s apart; PR #41764), which the bootstrap
# would spend alone on every first deploy. PutBucketLifecycleConfiguration replaces a bucket's whole
# lifecycle configuration (S3 API Reference), so this is the state bucket's only one: the bootstrap
# sets none.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = var.state_bucket

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    # The current state never moves or expires; a superseded one is kept for a rollback this long.
    noncurrent_version_expiration {
      noncurrent_days = var.state_noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# Cross-region replication to the DR region (production)

# The replicas' key, in the DR region, made by the shared building block (rotated, an alias,
# administered by the account).
module "replica_key" {
  source    = "../kms-key"
  providers = { aws = aws.dr }

  keys = var.enable_replication ? { replica = { name = "${local.name}-replica", description = "${local.name} replicated buckets in ${data.aws_region.dr.name}" } } : {}
  tags = var.tags
}

moved {
  from = aws_kms_key.replica[0]
  to   = module.replica_key.aws_kms_key.this["replica"]
}

# The DR copies, hardened like their sources by the shared building block, in the DR region: versioned
# (replication needs versioning at both ends), SSE-KMS with the replica key and the bucket key, public
# access blocked, ACLs off (replicas stay this account's: source and destination are in one account, so
# no owner override is needed; S3 User Guide, "Changing the replica owner"), and TLS-only like every
# other bucket. Not replicated onwards; no access logs: access to them is recorded by CloudTrail and
# they are read only in a recovery; no consumer of their events exists. Their lifecycle is below.
module "replicas" {
  source    = "../hardened-bucket"
  providers = { aws = aws.dr }

  buckets = { for k, _ in local.replicated : k => {
    name        = "${local.bucket_names[k]}-dr"
    kms_key_arn = module.replica_key.arns["replica"]
    tags        = { Purpose = "${k}-replica" }
  } }
  enforce_tls = var.enforce_tls
  tags        = var.tags
}

# State written before the replicas used the building block keeps its buckets: the resources moved into it.
moved {
  from = aws_s3_bucket.replica
  to   = module.replicas.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.replica
  to   = module.replicas.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.replica
  to   = module.replicas.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.replica
  to   = module.replicas.aws_s3_bucket_public_access_block.this
}

# S3 does not replicate what lifecycle rules do (S3 User Guide, "What does Amazon S3 replicate?": lifecycle
# actions are not replicated; apply the same lifecycle configuration to the destination): each replica
# expires like its source. Replicas arrive in STANDARD_IA already, so there is nothing to transition,
# and nothing may be deleted there before STANDARD_IA's 30-day minimum.
resource "aws_s3_bucket_lifecycle_configuration" "replica" {
  for_each = local.replicated
  provider = aws.dr

  # Named through its versioning: S3 wants versioning on before a lifecycle rule on a versioned bucket.
  bucket = module.replicas.versioned_names[each.key]

  rule {
    id     = "expiry-as-source"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = local.lifecycle[each.key].noncurrent_expiration
    }

    dynamic "expiration" {
      for_each = local.lifecycle[each.key].expiration_days == null ? [] : [local.lifecycle[each.key].expiration_days]
      content {
        days = expiration.value
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(module.lifecycle_rules.problems["${each.key}-dr"]) == 0
      error_message = "S3 lifecycle rules (module storage, the DR replica of bucket ${each.key}, which expires like its source): ${join("; ", module.lifecycle_rules.problems["${each.key}-dr"])}; keep replicated data at least that long."
    }
  }
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
    resources = [for k, _ in local.replicated : module.buckets.arns[k]]
  }
  statement {
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = [for k, _ in local.replicated : "${module.buckets.arns[k]}/*"]
  }
  statement {
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = [for k, _ in local.replicated : "${module.replicas.arns[k]}/*"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.replica_key.arns["replica"]]
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

  # Named through its versioning: replication needs versioning on at both ends.
  bucket = module.buckets.versioned_names[each.key]
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
      bucket        = module.replicas.arns[each.key]
      storage_class = local.replica_storage_class
      encryption_configuration {
        replica_kms_key_id = module.replica_key.arns["replica"]
      }
    }
  }

  # Replication needs versioning on at both ends (the source is named through its versioning above).
  depends_on = [module.replicas]
}
