data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  # The registry's host, as image references and `docker login` name it.
  registry_host         = "${local.account_id}.dkr.ecr.${local.region}.${data.aws_partition.current.dns_suffix}"
  repository_arn_prefix = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository"
  missing_ci            = setsubtract(var.services, keys(var.service_repositories))
  authenticated         = { for p, r in var.pull_through_cache : p => r if r.authenticated }
  # The services whose repositories (and push roles) are made here: none where they are another
  # region's replicas.
  made = var.service_repositories_replicated ? toset([]) : var.services
  # The service repositories' names start with it; replication copies what does.
  service_prefix = "${var.project}/"
}

# ---------------------------------------------------------------------------------------------------
# One repository per service. Tags are immutable: a tag names one image for ever, so what a rollback
# goes back to is what was released. Images are encrypted with the project's key: ECR creates its own
# grant on the key when it creates the repository, with the creator's kms:CreateGrant, and pushes and
# pulls need no KMS permission of their own (ECR User Guide, "Encryption at rest").
resource "aws_ecr_repository" "service" {
  for_each = local.made

  name                 = "${local.service_prefix}${each.key}"
  image_tag_mutability = "IMMUTABLE"

  # Also set per repository: the registry's rule below is what scans (PutImageScanningConfiguration is
  # deprecated in favour of the registry-level configuration, ECR API Reference), this keeps the
  # repository's own setting from saying otherwise.
  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.project}/${each.key}", Service = each.key })

  lifecycle {
    precondition {
      condition     = length(local.missing_ci) == 0
      error_message = "every service needs the GitHub repository whose CI pushes its image (service_repositories); missing: ${join(", ", local.missing_ci)}."
    }
  }
}

# What a rollback needs stays: the newest keep_releases tagged images. Untagged images (a build's
# intermediate pushes, a manifest a later push replaced) expire after untagged_expire_days. Rules are
# evaluated by priority, and an image is expired by the first rule that selects it; tagStatus "any"
# must be the last rule, so the tagged rule uses a pattern that matches every tag (ECR User Guide,
# "Lifecycle policy properties": tagPatternList).
locals {
  lifecycle_policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged images expire after ${var.untagged_expire_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_expire_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.keep_releases} releases (tagged images) for rollbacks"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.keep_releases
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecr_lifecycle_policy" "service" {
  for_each = aws_ecr_repository.service

  repository = each.value.name
  policy     = local.lifecycle_policy
}

# Scanning is set for the registry (every repository, the pull-through cache's included): BASIC scans
# each image on push; ENHANCED (Amazon Inspector) scans on push and again as new CVEs are published
# (PutRegistryScanningConfiguration: scanType, rules[].scanFrequency SCAN_ON_PUSH | CONTINUOUS_SCAN).
resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = var.scan_type

  rule {
    scan_frequency = var.scan_type == "ENHANCED" ? "CONTINUOUS_SCAN" : "SCAN_ON_PUSH"
    repository_filter {
      filter      = "*"
      filter_type = "WILDCARD"
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# The pull-through cache: `<registry>/<prefix>/<upstream path>` pulls through ECR from the upstream
# registry, so the platform's images come from inside AWS (and through the VPC endpoints), are scanned
# like ours, and keep pulling when the upstream limits or fails.
#
# Docker Hub and GitHub need a login: its Secrets Manager secret must be named ecr-pullthroughcache/…
# and be in the rule's account and region (ECR User Guide, "Creating a pull through cache rule"). ECR
# reads it as its service-linked role AWSServiceRoleForECRPullThroughCache, whose policy allows only
# secretsmanager:GetSecretValue on ecr-pullthroughcache/* ("Amazon ECR service-linked role for pull
# through cache"): no kms:Decrypt. So these secrets are encrypted with Secrets Manager's AWS-managed key,
# which Secrets Manager uses on a caller's behalf; a customer-managed key would need a key-policy grant to
# a role that only exists once the first rule does. A person sets each value once per account
# (docs/INFRASTRUCTURE.md): {"username": …, "accessToken": …}.
resource "aws_secretsmanager_secret" "upstream" {
  #checkov:skip=CKV_AWS_149:ECR's pull-through-cache service-linked role can't decrypt with a customer-managed key (its policy has no kms:Decrypt); the AWS-managed key is used (comment above).
  #checkov:skip=CKV2_AWS_57:The upstream registry issues the access token; it is rotated there and set here by a person, not by a Lambda.
  for_each = local.authenticated

  name                    = "ecr-pullthroughcache/${local.name}-${each.key}"
  description             = "Login to ${each.value.upstream_registry_url} for ${local.name}'s pull-through cache prefix ${each.key} (value set by a person: username, accessToken)"
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, { Name = "${local.name}-ecr-${each.key}" })
}

resource "aws_ecr_pull_through_cache_rule" "this" {
  for_each = var.pull_through_cache

  ecr_repository_prefix = each.key
  upstream_registry_url = each.value.upstream_registry_url
  credential_arn        = each.value.authenticated ? aws_secretsmanager_secret.upstream[each.key].arn : null
}

# The nodes pull with AmazonEC2ContainerRegistryPullOnly (eks module). A first pull of an upstream
# image through the cache also needs ecr:BatchImportUpstreamImage, and ecr:CreateRepository when its
# repository doesn't exist yet (ECR User Guide, "IAM permissions required to sync an upstream registry"):
# on the cache prefixes only.
data "aws_iam_policy_document" "node_pull_through_cache" {
  count = length(var.pull_through_cache) > 0 ? 1 : 0

  statement {
    sid       = "ImportThroughTheCache"
    actions   = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    resources = [for p in keys(var.pull_through_cache) : "${local.repository_arn_prefix}/${p}/*"]
  }
}

resource "aws_iam_role_policy" "node_pull_through_cache" {
  count = length(var.pull_through_cache) > 0 ? 1 : 0

  name   = "${local.name}-ecr-pull-through-cache"
  role   = var.node_role_name
  policy = data.aws_iam_policy_document.node_pull_through_cache[0].json
}

# ---------------------------------------------------------------------------------------------------
# Each service's CI pushes its image with a role only that service's GitHub repository may assume, from
# push_ref, through the account's GitHub OIDC provider. The service repositories keep GitHub's default
# subject, repo:<owner>/<name>:ref:<ref> (GitHub Docs, "OpenID Connect reference"; AWS IAM User Guide,
# "Configuring a role for GitHub OIDC identity provider": the sub condition is what binds the role to
# the repository). It may get a registry login token and push to its own repository, nothing else.
data "aws_iam_policy_document" "push_trust" {
  for_each = local.made

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${lookup(var.service_repositories, each.key, "")}:ref:${var.push_ref}"]
    }
  }
}

resource "aws_iam_role" "push" {
  for_each = local.made

  name               = "${local.name}-${each.key}-ecr-push"
  description        = "Assumed by ${lookup(var.service_repositories, each.key, "")}'s CI at ${var.push_ref}: pushes ${var.project}/${each.key} only"
  assume_role_policy = data.aws_iam_policy_document.push_trust[each.key].json
  tags               = merge(var.tags, { Name = "${local.name}-${each.key}-ecr-push", Service = each.key })
}

data "aws_iam_policy_document" "push" {
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions (Resource "*" is the only form); the push actions name the service's repository.
  for_each = local.made

  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "PushOwnRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
    ]
    resources = [aws_ecr_repository.service[each.key].arn]
  }
}

resource "aws_iam_role_policy" "push" {
  for_each = local.made

  name   = "${local.name}-${each.key}-ecr-push"
  role   = aws_iam_role.push[each.key].id
  policy = data.aws_iam_policy_document.push[each.key].json
}

# ---------------------------------------------------------------------------------------------------
# The service repositories' images, copied to the DR region as they are pushed, so the DR environment
# (production's overlay in that region) pulls them from its own region's registry when the home region
# is lost. Within one account, cross-Region replication needs no registry policy, and ECR creates a
# destination repository that does not exist yet (ECR User Guide, "Private image replication"); only
# images pushed after the rule exists are copied. A registry has one replication configuration, which
# PutReplicationConfiguration replaces whole (ECR API Reference): this is the only one in the account's
# home region.
resource "aws_ecr_replication_configuration" "this" {
  count = var.replicate_to_region == null ? 0 : 1

  replication_configuration {
    rule {
      destination {
        region      = var.replicate_to_region
        registry_id = local.account_id
      }
      # The service repositories (`<project>/<service>`), not the pull-through cache's (ECR does not
      # replicate those).
      repository_filter {
        filter      = local.service_prefix
        filter_type = "PREFIX_MATCH"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.replicate_to_region != local.region
      error_message = "replicate_to_region is this registry's own region (${local.region}): replication copies to another Region."
    }
  }
}
