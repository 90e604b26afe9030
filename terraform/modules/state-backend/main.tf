# The bucket terraform keeps remote state in. Locking is terraform's own S3 lockfile (use_lockfile),
# so there is no DynamoDB table.
#
# Only what must hold before the first state is written lives here: the bucket, its versioning, its
# encryption and key, the public access block, owner-enforced ownership and the TLS-only policy (all
# but the key made by the shared building block, modules/hardened-bucket). The
# housekeeping rule (superseded state versions expire, abandoned uploads are aborted) is applied with
# the stack (modules/storage, `state_bucket`): AWS provider 5.100 waits a fixed 55 s after every
# PutBucketLifecycleConfiguration (10 s, then 10 matching reads 5 s apart: PR #41764), which here
# held up every first deploy while nothing else ran; in the stack's apply it runs beside the database.

locals {
  name = "${var.project}-${var.environment}-tfstate"
}

# The state's key, made by the shared building block (rotated, an alias, administered by the account).
module "key" {
  source = "../kms-key"

  keys = { state = { name = local.name, description = "Encrypts ${var.bucket_name} (terraform state)" } }
  tags = var.tags
}

moved {
  from = aws_kms_key.state
  to   = module.key.aws_kms_key.this["state"]
}

moved {
  from = aws_kms_alias.state
  to   = module.key.aws_kms_alias.this["state"]
}

# The bucket's hardening (versioning, default encryption with the key above, the public access block,
# owner-enforced ownership, the TLS-only policy) is the shared building block's. Not replicated: state
# is kept by S3 versioning and the backup command's copies. No server access logs: access to it is
# recorded by CloudTrail, and logs would need a second bucket before any bucket exists. No lifecycle
# rule here: it is applied with the stack (modules/storage, state_bucket), not before the first state
# write. Nothing consumes its events.
module "bucket" {
  source = "../hardened-bucket"

  buckets = {
    state = { name = var.bucket_name, kms_key_arn = module.key.arns["state"], tags = { Name = local.name } }
  }
  enforce_tls = var.enforce_tls
  tags        = var.tags
}

# State written before the building block existed keeps its bucket: the resources moved into it.
moved {
  from = aws_s3_bucket.state
  to   = module.bucket.aws_s3_bucket.this["state"]
}

moved {
  from = aws_s3_bucket_versioning.state
  to   = module.bucket.aws_s3_bucket_versioning.this["state"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.state
  to   = module.bucket.aws_s3_bucket_server_side_encryption_configuration.this["state"]
}

moved {
  from = aws_s3_bucket_public_access_block.state
  to   = module.bucket.aws_s3_bucket_public_access_block.this["state"]
}

moved {
  from = aws_s3_bucket_ownership_controls.state
  to   = module.bucket.aws_s3_bucket_ownership_controls.this["state"]
}

moved {
  from = aws_s3_bucket_policy.state[0]
  to   = module.bucket.aws_s3_bucket_policy.this["state"]
}
