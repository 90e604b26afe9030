# Customer-managed KMS keys made the one way every key of the platform is: rotated yearly, a 30-day
# deletion window, an alias, and a key policy whose first statement lets the account administer the key
# as AWS's default key policy does ("Allows access to the AWS account and enables IAM policies", KMS
# Developer Guide, "Default key policy"), so IAM policies in the account decide who may use it — followed
# by the statements the caller's services need (AWS services that act with the key as themselves).
#
# A map of keys rather than one key per module instance: the callers keep their for_each keys, so a key
# is `module.<call>.aws_kms_key.this["<key>"]` and the caller names it by the same key
# (`module.<call>.arns[each.key]`). The region is the provider's the caller passes.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_356:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_109:The account root administers its own keys, as AWS's default key policy does; IAM policies decide who in the account may.
  for_each = var.keys

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # The caller's statements, after the account's (an override document's statements with new sids are
  # appended in order).
  override_policy_documents = each.value.policy_json == null ? [] : [each.value.policy_json]
}

resource "aws_kms_key" "this" {
  for_each = var.keys

  description             = each.value.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.this[each.key].json
  tags                    = merge(var.tags, { Name = "${each.value.name}-key" }, each.value.tags)
}

resource "aws_kms_alias" "this" {
  for_each = var.keys

  name          = "alias/${each.value.name}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
