data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name           = "${var.project}-${var.environment}"
  account_id     = data.aws_caller_identity.current.account_id
  region         = data.aws_region.current.name
  partition      = data.aws_partition.current.partition
  secrets_prefix = "${var.project}/${var.environment}"
  key_services = {
    logs = ["logs.${local.region}.amazonaws.com", "cloudtrail.amazonaws.com"]
    sns  = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "cloudtrail.amazonaws.com", "events.amazonaws.com"]
  }
}

# ---------------------------------------------------------------------------------------------------
# KMS: one key per purpose, rotated yearly

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource is always "*" (the key itself); the account root administers it, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_109:The account root administers its own keys, as AWS's default key policy does; IAM policies decide who in the account may.
  for_each = var.key_purposes

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # AWS services that encrypt with the key on the account's behalf.
  dynamic "statement" {
    for_each = lookup(local.key_services, each.key, [])
    content {
      sid       = "Service${statement.key}"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = [statement.value]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = var.key_purposes

  description             = "${local.name} ${each.key}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[each.key].json
  tags                    = merge(var.tags, { Name = "${local.name}-${each.key}-key" })
}

resource "aws_kms_alias" "this" {
  for_each = var.key_purposes

  name          = "alias/${local.name}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}

# ---------------------------------------------------------------------------------------------------
# IRSA roles for the cluster's controllers

data "aws_iam_policy_document" "irsa_trust" {
  for_each = var.controllers

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

locals {
  controller_policies = {
    cluster-autoscaler = jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid      = "Describe"
          Effect   = "Allow"
          Action   = ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"]
          Resource = "*"
        },
        {
          Sid       = "ScaleOwnNodeGroups"
          Effect    = "Allow"
          Action    = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
          Resource  = "*"
          Condition = { StringEquals = { "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned" } }
        },
      ]
    })
    external-dns = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "ChangeZone", Effect = "Allow", Action = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResource"], Resource = [var.hosted_zone_arn] },
        { Sid = "ListZones", Effect = "Allow", Action = ["route53:ListHostedZones"], Resource = "*" },
      ]
    })
    cert-manager = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "Dns01", Effect = "Allow", Action = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"], Resource = [var.hosted_zone_arn] },
        { Sid = "ChangeStatus", Effect = "Allow", Action = ["route53:GetChange"], Resource = "arn:${local.partition}:route53:::change/*" },
        { Sid = "ListZones", Effect = "Allow", Action = ["route53:ListHostedZonesByName"], Resource = "*" },
      ]
    })
    ebs-csi = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "Volumes", Effect = "Allow", Action = ["ec2:CreateVolume", "ec2:DeleteVolume", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot", "ec2:ModifyVolume", "ec2:CreateTags", "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeInstances", "ec2:DescribeAvailabilityZones", "ec2:DescribeVolumesModifications", "ec2:DescribeTags"], Resource = "*", Condition = { StringEquals = { "aws:RequestedRegion" = local.region } } },
        { Sid = "EncryptVolumes", Effect = "Allow", Action = ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"], Resource = [aws_kms_key.this["eks"].arn] },
      ]
    })
    external-secrets = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "ReadProjectSecrets", Effect = "Allow", Action = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.secrets_prefix}/*" },
        { Sid = "DecryptThem", Effect = "Allow", Action = ["kms:Decrypt"], Resource = [aws_kms_key.this["secrets"].arn] },
      ]
    })
  }
}

resource "aws_iam_role" "controller" {
  for_each = var.controllers

  name               = "${local.name}-${each.key}-irsa"
  description        = "IRSA role of ${each.key} (${each.value.namespace}/${each.value.service_account})"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust[each.key].json
  tags               = merge(var.tags, { Name = "${local.name}-${each.key}-irsa" })
}

resource "aws_iam_role_policy" "controller" {
  for_each = { for k, v in var.controllers : k => v if contains(keys(local.controller_policies), k) }

  name   = "${local.name}-${each.key}"
  role   = aws_iam_role.controller[each.key].id
  policy = local.controller_policies[each.key]
}

# ---------------------------------------------------------------------------------------------------
# GitHub Actions: the deploy role, assumable only from this repository's workflows for this environment

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags            = merge(var.tags, { Name = "${local.name}-github-oidc" })
}

locals {
  github_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
}

data "aws_iam_policy_document" "github_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  name                 = "${local.name}-github-deploy"
  description          = "Assumed by ${var.github_repository}'s workflows in the ${var.environment} GitHub environment"
  assume_role_policy   = data.aws_iam_policy_document.github_trust.json
  max_session_duration = 7200
  tags                 = merge(var.tags, { Name = "${local.name}-github-deploy" })
}

resource "aws_iam_role_policy_attachment" "github_deploy" {
  #checkov:skip=CKV_AWS_274:The deploy role applies this whole stack (IAM, KMS, EKS, RDS, networking); it is assumable only from this repository's workflows running in this GitHub environment, whose reviewers gate it.
  role       = aws_iam_role.github_deploy.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}

# ---------------------------------------------------------------------------------------------------
# Application secrets: the containers only; values are put by operators, read through external-secrets

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:These hold credentials issued by third parties (mail, AI provider) and a signing key; they are rotated by their issuers' procedures, not by a Lambda.
  for_each = var.application_secrets

  name                    = "${local.secrets_prefix}/app/${each.key}"
  description             = "${each.key} for ${local.name} (value set out of band)"
  kms_key_id              = aws_kms_key.this["secrets"].arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, { Name = "${local.name}-${each.key}" })
}
