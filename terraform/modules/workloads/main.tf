data "aws_region" "current" {}

locals {
  name = "${var.project}-${var.environment}"
}

# ---------------------------------------------------------------------------------------------------
# One IRSA role per application service that uses AWS, assumable only by the pod's ServiceAccount
# (system:serviceaccount:<namespace>:<service>, audience sts.amazonaws.com) through the cluster's OIDC
# provider: the irsa-role building block writes that trust.

module "irsa" {
  source = "../irsa-role"

  oidc_provider_arn = var.oidc_provider_arn
  oidc_issuer       = var.oidc_issuer
  roles = { for k, s in var.services : k => {
    name             = "${local.name}-${k}"
    description      = "IRSA role of ${k} (${var.namespace}/${k})"
    service_accounts = ["${var.namespace}:${k}"]
  } }
  tags = var.tags
}

# The roles were made here before the building block: an applied state keeps them.
moved {
  from = aws_iam_role.service
  to   = module.irsa.aws_iam_role.this
}

# What each may touch, and nothing else:
# - its bucket's objects, and the bucket's key only as S3 uses it on the caller's behalf: SSE-KMS
#   writes need kms:GenerateDataKey and reads (and multipart uploads) kms:Decrypt, conditioned on
#   kms:ViaService s3.<region>.amazonaws.com ("Protecting data with server-side encryption with AWS KMS
#   keys", S3 User Guide; "kms:ViaService", AWS KMS Developer Guide). The key's policy delegates to IAM
#   (the security module's AccountAdministers), so this is the whole grant;
# - the cache as its own user: elasticache:Connect on the replication group and on that user
#   ("Authenticating with IAM", ElastiCache User Guide: the policy names both);
# - mail from the environment's SES identity: ses:SendEmail and ses:SendRawEmail on that identity
#   ("Controlling access to Amazon SES", SES Developer Guide: the identity is the resource).
locals {
  # Decided by the services' known flags, never by ARNs (unknown until their resources exist).
  with_access = { for k, s in var.services : k => s if s.bucket != null || s.cache || s.send_email }
}

data "aws_iam_policy_document" "access" {
  for_each = local.with_access

  dynamic "statement" {
    for_each = each.value.bucket == null ? [] : [var.bucket_arns[each.value.bucket]]
    content {
      # Sids name what they touch (the ARNs are known only at apply): the identity map shows them.
      sid       = "ObjectsOfThe${title(each.value.bucket)}Bucket"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
      resources = ["${statement.value}/*"]
    }
  }
  dynamic "statement" {
    for_each = each.value.bucket == null ? [] : [var.bucket_kms_key_arn]
    content {
      sid       = "TheS3KeyThroughS3ForThe${title(each.value.bucket)}Bucket"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
  dynamic "statement" {
    for_each = each.value.cache ? [var.cache_user_arns[each.key]] : []
    content {
      sid       = "ConnectToRedisAs${replace(title(each.key), "-", "")}"
      actions   = ["elasticache:Connect"]
      resources = [var.cache_replication_group_arn, statement.value]
    }
  }
  dynamic "statement" {
    for_each = each.value.send_email ? [var.email_identity_arn] : []
    content {
      sid       = "SendFromTheDomain"
      actions   = ["ses:SendEmail", "ses:SendRawEmail"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = local.with_access

  name   = "${local.name}-${each.key}"
  role   = module.irsa.names[each.key]
  policy = data.aws_iam_policy_document.access[each.key].json
}
