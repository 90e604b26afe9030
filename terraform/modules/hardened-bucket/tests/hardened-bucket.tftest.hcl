# What every bucket gets, whatever its caller: versioning, default encryption (KMS with the bucket key,
# or SSE-S3 where asked), every public access blocked, ACLs off, and a TLS-only policy with the caller's
# statements merged in. Offline: the provider is mocked, and the policy documents are rendered by the
# real data source (override_data would hide what is tested).
mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    defaults        = { arn = "arn:aws:s3:::mocked" }
    override_during = plan
  }
}

variables {
  buckets = {
    data = { name = "authorworks-dev-data-210987654321", kms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/abc", tags = { Purpose = "data" }, logging = { target_bucket = "authorworks-dev-logs-210987654321", target_prefix = "s3/data/" } }
    logs = { name = "authorworks-dev-logs-210987654321", sse_s3 = true }
  }
  policy_statements = {
    logs = [{
      sid        = "S3ServerAccessLogs"
      actions    = ["s3:PutObject"]
      objects    = ["*"]
      principal  = { type = "Service", identifiers = ["logging.s3.amazonaws.com"] }
      conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = ["210987654321"] }]
      }, {
      sid       = "AclCheck"
      actions   = ["s3:GetBucketAcl"]
      bucket    = true
      principal = { type = "Service", identifiers = ["config.amazonaws.com"] }
    }]
  }
  tags = { Team = "platform" }
}

run "every_bucket_is_hardened" {
  command = plan

  assert {
    condition     = alltrue([for k in ["data", "logs"] : aws_s3_bucket_versioning.this[k].versioning_configuration[0].status == "Enabled"])
    error_message = "every bucket is versioned"
  }
  assert {
    condition = alltrue([for k in ["data", "logs"] : aws_s3_bucket_public_access_block.this[k].block_public_acls && aws_s3_bucket_public_access_block.this[k].block_public_policy
    && aws_s3_bucket_public_access_block.this[k].ignore_public_acls && aws_s3_bucket_public_access_block.this[k].restrict_public_buckets])
    error_message = "every bucket blocks every kind of public access"
  }
  assert {
    condition     = alltrue([for k in ["data", "logs"] : one(aws_s3_bucket_ownership_controls.this[k].rule).object_ownership == "BucketOwnerEnforced"])
    error_message = "every bucket has ACLs off (owner enforced)"
  }
  assert {
    condition     = aws_s3_bucket.this["data"].tags["Name"] == "authorworks-dev-data-210987654321" && aws_s3_bucket.this["data"].tags["Purpose"] == "data" && aws_s3_bucket.this["data"].tags["Team"] == "platform"
    error_message = "the bucket carries its name, the caller's tags and its own"
  }
}

run "kms_with_the_callers_key_or_sse_s3_where_asked" {
  command = plan

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this["data"].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(aws_s3_bucket_server_side_encryption_configuration.this["data"].rule).bucket_key_enabled
    error_message = "a bucket with a key is SSE-KMS with the bucket key"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this["data"].rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:us-east-1:210987654321:key/abc"
    error_message = "with the caller's key"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this["logs"].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" && !one(aws_s3_bucket_server_side_encryption_configuration.this["logs"].rule).bucket_key_enabled
    error_message = "a bucket that asks for SSE-S3 gets it, without the bucket key"
  }
}

run "the_policy_denies_plain_http_and_merges_the_callers_statements" {
  command = plan

  assert {
    condition     = [for s in data.aws_iam_policy_document.this["logs"].statement : s.sid] == ["DenyInsecureTransport", "S3ServerAccessLogs", "AclCheck"]
    error_message = "the TLS-only deny first, then the caller's statements in order"
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.this["data"].statement : s.effect == "Deny" && s.actions == toset(["s3:*"])
    && s.resources == toset(["arn:aws:s3:::mocked", "arn:aws:s3:::mocked/*"]) && [for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"] == ["Bool aws:SecureTransport false"]])
    error_message = "the deny covers the bucket and every object, whenever aws:SecureTransport is false"
  }
  assert {
    condition     = data.aws_iam_policy_document.this["logs"].statement[1].resources == toset(["arn:aws:s3:::mocked/*"]) && data.aws_iam_policy_document.this["logs"].statement[2].resources == toset(["arn:aws:s3:::mocked"])
    error_message = "a caller's statement applies to object keys under the bucket, or to the bucket itself"
  }
  assert {
    condition     = [for c in data.aws_iam_policy_document.this["logs"].statement[1].condition : "${c.test} ${c.variable} ${join(",", c.values)}"] == ["StringEquals aws:SourceAccount 210987654321"]
    error_message = "a caller's statement keeps its conditions"
  }
  assert {
    condition     = aws_s3_bucket_logging.this["data"].target_bucket == "authorworks-dev-logs-210987654321" && aws_s3_bucket_logging.this["data"].target_prefix == "s3/data/" && length(aws_s3_bucket_logging.this) == 1
    error_message = "access logs go where the caller says, only for buckets that say"
  }
}

run "without_tls_only_a_bucket_without_statements_gets_no_policy" {
  command = plan

  variables {
    enforce_tls = false
  }

  assert {
    condition     = keys(aws_s3_bucket_policy.this) == ["logs"] && [for s in data.aws_iam_policy_document.this["logs"].statement : s.sid] == ["S3ServerAccessLogs", "AclCheck"]
    error_message = "only the bucket with statements of its own has a policy, without the deny"
  }
}

run "an_ip_shaped_bucket_name_is_refused" {
  command = plan

  variables {
    buckets = { x = { name = "192.168.1.10", sse_s3 = true } }
  }

  expect_failures = [var.buckets]
}

run "a_statement_on_nothing_is_refused" {
  command = plan

  variables {
    buckets           = { x = { name = "authorworks-dev-x", sse_s3 = true } }
    policy_statements = { x = [{ sid = "Nothing", actions = ["s3:GetObject"], principal = { type = "Service", identifiers = ["cloudfront.amazonaws.com"] } }] }
  }

  expect_failures = [var.policy_statements]
}

run "an_arn_given_as_an_object_key_is_refused" {
  command = plan

  variables {
    buckets           = { x = { name = "authorworks-dev-x", sse_s3 = true } }
    policy_statements = { x = [{ sid = "Arn", actions = ["s3:GetObject"], objects = ["arn:aws:s3:::authorworks-dev-x/*"], principal = { type = "Service", identifiers = ["cloudfront.amazonaws.com"] } }] }
  }

  expect_failures = [var.policy_statements]
}

run "statements_for_a_bucket_not_made_here_are_refused" {
  command = plan

  variables {
    buckets           = { x = { name = "authorworks-dev-x", sse_s3 = true } }
    policy_statements = { y = [] }
  }

  expect_failures = [var.policy_statements]
}

run "a_bucket_without_a_key_that_does_not_ask_for_sse_s3_is_refused" {
  command = plan

  variables {
    buckets = { x = { name = "authorworks-dev-x" } }
  }

  expect_failures = [var.buckets]
}
