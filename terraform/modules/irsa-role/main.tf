# IAM roles for Kubernetes service accounts ("IAM roles for service accounts", EKS User Guide): each role
# is assumable through the cluster's OIDC provider with sts:AssumeRoleWithWebIdentity only by the
# ServiceAccounts it names (`<issuer>:sub` = system:serviceaccount:<namespace>:<name>) and only with the
# audience STS expects (`<issuer>:aud` = sts.amazonaws.com). The one place that trust is written: the
# controllers' roles (security, edge) and the application's (workloads) are made here.
#
# A map of roles rather than one role per module instance: the callers keep their for_each keys, so a
# role is `module.<call>.aws_iam_role.this["<key>"]` and the caller's policies name it by the same key
# (`module.<call>.names[each.key]`).

data "aws_iam_policy_document" "trust" {
  for_each = var.roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = [for sa in each.value.service_accounts : "system:serviceaccount:${sa}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name               = each.value.name
  description        = each.value.description
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
  tags               = merge(var.tags, { Name = each.value.name })
}
