data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name           = "${var.project}-${var.environment}"
  account_id     = data.aws_caller_identity.current.account_id
  region         = data.aws_region.current.name
  partition      = data.aws_partition.current.partition
  secrets_prefix = "${var.project}/${var.environment}"
  account_root   = "arn:${local.partition}:iam::${local.account_id}:root"
}

# ---------------------------------------------------------------------------------------------------
# KMS: one key per purpose, rotated yearly.
#
# Every key's policy lets the account administer and use it (as AWS's default key policy does: IAM
# policies then decide who in the account may). That is enough for every service that uses a key on a
# caller's behalf through grants it creates with the caller's permissions (kms:ViaService): RDS and its
# Performance Insights and managed master secret (rds), ElastiCache (cache), Secrets Manager and
# external-secrets' reads (secrets), S3 default encryption and the replication role (s3), EKS's
# envelope encryption of Kubernetes secrets, created with the applier's kms:CreateGrant (eks), and the
# EBS CSI driver's IRSA role (eks). Services that act as themselves need a statement of their own:
#
# - eks: the nodes' root volumes are encrypted with it (launch template), and managed node groups launch
#   through EC2 Auto Scaling, whose service-linked role AWSServiceRoleForAutoScaling gets no customer-
#   managed key by default: it needs Encrypt/Decrypt/ReEncrypt*/GenerateDataKey*/DescribeKey and
#   CreateGrant for AWS resources, or no instance ever launches ("Required AWS KMS key policy for use
#   with encrypted volumes", EC2 Auto Scaling User Guide).
# - logs: CloudWatch Logs (logs.<region>.amazonaws.com) for every log group here, conditioned on the
#   encryption context naming a log group of this account and region ("Encrypt log data in CloudWatch
#   Logs using AWS KMS"); CloudTrail, which encrypts the trail's log and digest files with it and needs
#   kms:Decrypt because the trail bucket uses an S3 Bucket Key ("Configure AWS KMS key policies for
#   CloudTrail"), conditioned on the aws:cloudtrail:arn encryption context and aws:SourceArn.
# - s3: CloudFront reads SSE-KMS media objects through origin access control as cloudfront.amazonaws.com,
#   which needs kms:Decrypt ("Restrict access to an Amazon S3 origin", SSE-KMS section). The condition
#   names this account's distributions: the exact ARN exists only once the distribution does, and the
#   distribution needs the bucket, so naming it would hold every key of this module behind CloudFront.
#   Each environment is its own account with one distribution.
# - sns: the services that publish to the encrypted alert topic (var.sns_key_publishers: CloudWatch
#   alarms, Budgets, Cost Anomaly Detection, EventBridge rules) need kms:GenerateDataKey* and kms:Decrypt
#   ("Enable compatibility between event sources from AWS services and encrypted topics", SNS Developer
#   Guide, "Managing Amazon SNS encryption keys and costs"). CloudWatch and Budgets requests carry
#   aws:SourceAccount, the confused-deputy guard. EventBridge's do not: "Adding the aws:SourceAccount and
#   aws:SourceArn to a AWS KMS policy is not supported for EventBridge-to-encrypted topics" (same page),
#   and Cost Anomaly Detection's carry none either, so a condition on them would drop every
#   notification (FailedInvocations, nothing else): those get the topic-ARN encryption context only,
#   which SNS itself sets on every data key it asks for.
locals {
  # Publishers whose KMS requests carry aws:SourceAccount (the confused-deputy guard).
  sns_source_account_publishers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "cloudtrail.amazonaws.com"]
}

# Each key's statements for the services that use it as themselves; the kms-key building block puts the
# account's administration (AccountAdministers) before them.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource is always "*" (the key itself).
  #checkov:skip=CKV_AWS_356:A key policy's Resource is always "*" (the key itself).
  for_each = var.key_purposes

  # eks: EC2 Auto Scaling launches the node groups' instances with encrypted root volumes.
  dynamic "statement" {
    for_each = each.key == "eks" ? ["use"] : []
    content {
      sid       = "AutoScalingUsesKeyForNodeVolumes"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = [local.autoscaling_role_arn]
      }
    }
  }
  dynamic "statement" {
    for_each = each.key == "eks" ? ["grant"] : []
    content {
      sid       = "AutoScalingGrantsForNodeVolumes"
      actions   = ["kms:CreateGrant"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = [local.autoscaling_role_arn]
      }
      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }

  # logs: CloudWatch Logs, for this account's log groups in this region.
  dynamic "statement" {
    for_each = each.key == "logs" ? ["logs"] : []
    content {
      sid       = "CloudWatchLogsEncryptsLogGroups"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
      }
    }
  }

  # logs: CloudTrail encrypts this account's trails' log files (and reads them back through the Bucket Key).
  dynamic "statement" {
    for_each = each.key == "logs" ? ["cloudtrail"] : []
    content {
      sid       = "CloudTrailEncryptsTrails"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["cloudtrail.amazonaws.com"]
      }
      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:aws:cloudtrail:arn"
        values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/*"]
      }
    }
  }
  dynamic "statement" {
    for_each = each.key == "logs" ? ["cloudtrail-describe"] : []
    content {
      sid       = "CloudTrailDescribesKey"
      actions   = ["kms:DescribeKey"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["cloudtrail.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/*"]
      }
    }
  }

  # s3: CloudFront (origin access control) decrypts the media objects it serves.
  dynamic "statement" {
    for_each = each.key == "s3" && var.cloudfront_reads_s3_key ? ["cloudfront"] : []
    content {
      sid       = "CloudFrontDecryptsMedia"
      actions   = ["kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:${local.partition}:cloudfront::${local.account_id}:distribution/*"]
      }
    }
  }

  # sns: the services that publish alerts to this account's encrypted topics.
  dynamic "statement" {
    for_each = each.key == "sns" ? var.sns_key_publishers : []
    content {
      sid       = "Publish${replace(title(replace(split(".", statement.value)[0], "-", " ")), " ", "")}"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = [statement.value]
      }
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:sns:topicArn"
        values   = ["arn:${local.partition}:sns:${local.region}:${local.account_id}:*"]
      }
      dynamic "condition" {
        for_each = contains(local.sns_source_account_publishers, statement.value) ? [local.account_id] : []
        content {
          test     = "StringEquals"
          variable = "aws:SourceAccount"
          values   = [condition.value]
        }
      }
    }
  }
}

# The EC2 Auto Scaling service-linked role, named by the eks key's policy. KMS refuses a policy whose
# principal does not exist, and AWS creates this role only with the account's first Auto Scaling group,
# so a fresh account gets it here; an account that already has it (one per account: the DR environment
# shares production's) names it by its fixed ARN. The check below reads it at every plan and warns
# when it is missing: a warning, not an error, so an environment planned against an empty emulator
# account (`plan dr --emulated`) still plans; the apply then stops at the key (KMS refuses the policy).
resource "aws_iam_service_linked_role" "autoscaling" {
  count = var.create_autoscaling_service_linked_role ? 1 : 0

  aws_service_name = "autoscaling.amazonaws.com"
  description      = "EC2 Auto Scaling (EKS managed node groups) for ${local.name}"
}

locals {
  autoscaling_role_arn = var.create_autoscaling_service_linked_role ? aws_iam_service_linked_role.autoscaling[0].arn : "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

# (A list, not aws_iam_role: that data source retries a missing role for minutes, IAM's eventual
# consistency, where a list answers at once. Not a data source scoped to the check either: those are
# read again at every apply, so no plan would ever be clean.)
data "aws_iam_roles" "autoscaling" {
  count = var.create_autoscaling_service_linked_role ? 0 : 1

  name_regex  = "^AWSServiceRoleForAutoScaling$"
  path_prefix = "/aws-service-role/autoscaling.amazonaws.com/"
}

check "autoscaling_service_linked_role_exists" {
  assert {
    condition     = var.create_autoscaling_service_linked_role ? true : length(flatten(data.aws_iam_roles.autoscaling[*].arns)) == 1
    error_message = "The account has no EC2 Auto Scaling service-linked role ${local.autoscaling_role_arn}, which the eks key's policy names: set create_autoscaling_service_linked_role = true (a fresh account), or apply the environment that makes it first."
  }
}

# One key per purpose, made by the shared building block (rotated, an alias, administered by the account),
# with the statements above.
module "keys" {
  source = "../kms-key"

  keys = { for p in var.key_purposes : p => {
    name        = "${local.name}-${p}"
    description = "${local.name} ${p}"
    policy_json = data.aws_iam_policy_document.kms[p].json
  } }
  tags = var.tags
}

moved {
  from = aws_kms_key.this
  to   = module.keys.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.keys.aws_kms_alias.this
}

# ---------------------------------------------------------------------------------------------------
# IRSA roles for the cluster's controllers: each trusts only its controller's ServiceAccount (the
# irsa-role building block writes that trust).

module "irsa" {
  source = "../irsa-role"

  oidc_provider_arn = var.oidc_provider_arn
  oidc_issuer       = var.oidc_issuer
  roles = { for k, c in var.controllers : k => {
    name             = "${local.name}-${k}-irsa"
    description      = "IRSA role of ${k} (${c.namespace}/${c.service_account})"
    service_accounts = ["${c.namespace}:${c.service_account}"]
  } }
  tags = var.tags
}

# The roles were made here before the building block: an applied state keeps them.
moved {
  from = aws_iam_role.controller
  to   = module.irsa.aws_iam_role.this
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
    # Alertmanager's SNS receiver publishes every alert to the environment's alert topic, which is
    # encrypted with the `sns` key: publishing needs the key too (SNS developer guide, "Encryption at
    # rest": publishers need kms:GenerateDataKey* and kms:Decrypt on the topic's key).
    alertmanager = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "PublishAlerts", Effect = "Allow", Action = ["sns:Publish"], Resource = [var.alert_topic_arn] },
        { Sid = "EncryptForTheTopic", Effect = "Allow", Action = ["kms:GenerateDataKey*", "kms:Decrypt"], Resource = [module.keys.arns["sns"]] },
      ]
    })
    # The EBS CSI driver's volumes are encrypted with the eks key. AWS's policy for a customer-managed
    # key ("Use a custom KMS key for the Amazon EBS CSI driver", EKS User Guide, Amazon EBS CSI driver
    # IAM role): grants for AWS resources (kms:CreateGrant, ListGrants, RevokeGrant with
    # kms:GrantIsForAWSResource), which EC2 needs to attach an encrypted volume, create one from a
    # snapshot and resize it, and Encrypt, Decrypt, ReEncrypt*, GenerateDataKey* and DescribeKey.
    # Narrower (Decrypt and GenerateDataKeyWithoutPlaintext only) works for a plain new volume and fails
    # a restore from a snapshot or an expansion.
    ebs-csi = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "Volumes", Effect = "Allow", Action = ["ec2:CreateVolume", "ec2:DeleteVolume", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot", "ec2:ModifyVolume", "ec2:CreateTags", "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeInstances", "ec2:DescribeAvailabilityZones", "ec2:DescribeVolumesModifications", "ec2:DescribeTags"], Resource = "*", Condition = { StringEquals = { "aws:RequestedRegion" = local.region } } },
        { Sid = "GrantsForVolumes", Effect = "Allow", Action = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], Resource = [module.keys.arns["eks"]], Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } } },
        { Sid = "EncryptVolumes", Effect = "Allow", Action = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], Resource = [module.keys.arns["eks"]] },
      ]
    })
    external-secrets = data.aws_iam_policy_document.external_secrets.json
    # Loki on S3 (Grafana Loki docs, "Deploy the Loki Helm chart on AWS": s3:ListBucket on the bucket,
    # s3:PutObject/GetObject/DeleteObject on its objects — the compactor deletes what is past retention);
    # the bucket is SSE-KMS with the `s3` key (bucket key on), which Loki's writes and reads use.
    loki = jsonencode({
      Version = "2012-10-17"
      Statement = [
        { Sid = "ListTheLogBucket", Effect = "Allow", Action = ["s3:ListBucket"], Resource = [var.loki_bucket_arn] },
        { Sid = "ReadWriteLogObjects", Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource = ["${var.loki_bucket_arn}/*"] },
        { Sid = "EncryptLogObjects", Effect = "Allow", Action = ["kms:GenerateDataKey", "kms:Decrypt"], Resource = [module.keys.arns["s3"]] },
      ]
    })
  }
}

# external-secrets reads exactly the secrets the workloads' ExternalSecrets name: the application
# secrets here, the secrets named in var.external_secret_names (the services' database logins) and
# var.external_secret_arns (the RDS-managed master secret the database-setup job uses). A secret this
# stack names is given as its name followed by `-??????`: Secrets Manager appends six random characters
# to every secret's ARN, and that pattern matches exactly the secret of that name (Secrets Manager User
# Guide, "Permissions policy examples": ARN endings), which keeps the policy known at plan time. It
# decrypts through Secrets Manager with exactly their keys: `secrets` (application secrets and
# database logins) and `rds` (RDS encrypts the master secret with the instance's key). Both keys'
# policies delegate to IAM (AccountAdministers: "Allows access to the AWS account and enables IAM
# policies", AWS KMS Developer Guide, Default key policy), so this policy is the whole grant and no key
# policy names the role; kms:ViaService limits the decrypt to Secrets Manager's own calls ("How AWS
# Secrets Manager uses AWS KMS").
locals {
  secret_arn_prefix = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:"
  external_secrets_reads = concat(
    [for name in concat([for k in sort(var.application_secrets) : "${local.secrets_prefix}/app/${k}"], var.external_secret_names) : "${local.secret_arn_prefix}${name}-??????"],
    var.external_secret_arns,
  )
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadWorkloadSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.external_secrets_reads
  }
  statement {
    sid       = "DecryptThemThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [module.keys.arns["secrets"], module.keys.arns["rds"]]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "controller" {
  for_each = { for k, v in var.controllers : k => v if contains(keys(local.controller_policies), k) }

  name   = "${local.name}-${each.key}"
  role   = module.irsa.names[each.key]
  policy = local.controller_policies[each.key]
}

# ---------------------------------------------------------------------------------------------------
# GitHub Actions: the deploy, operations and plan roles, each assumable only by the workflow file that
# is that job, at the ref it runs from, in its GitHub environment (or, for plans, outside any).

# One provider per account and URL. A fresh account gets it here; where another stack made it (the DR
# environment shares production's), it is named by its fixed ARN: IAM refuses the roles' trust policies
# at apply if it is missing (no plan-time read: the only data source for it retries a missing provider
# for minutes, and would fail an emulated plan from an empty account).
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags            = merge(var.tags, { Name = "${local.name}-github-oidc" })
}

# The subject each role trusts. IAM evaluates GitHub's `sub` claim (token.actions.githubusercontent.com:sub;
# AWS IAM User Guide, "Configuring a role for GitHub OIDC identity provider"), and GitHub's default `sub`
# names only the repository and the environment, so any branch's workflow that says `environment: dev`
# would get dev's roles. The repository's subject is therefore customised (a first-apply step:
# `PUT /repos/{owner}/{repo}/actions/oidc/customization/sub` with include_claim_keys
# ["repo", "context", "job_workflow_ref"]), which GitHub documents as the format
#   repo:<owner>/<repo>:<context>:job_workflow_ref:<owner>/<repo>/.github/workflows/<file>@<ref>
# where <context> is what follows the repository in the default subject: `environment:<name>` for a job
# in a GitHub environment, else `pull_request` on pull requests, else `ref:<ref>` (GitHub Docs, "OpenID
# Connect reference", customizing the subject claims: "Example: Requiring a reusable workflow and other
# claims"). For a job that calls no reusable workflow, job_workflow_ref is its own workflow file at the
# ref it runs from. docs/SECURITY.md lists the subjects.
locals {
  # Not created here (another environment of the account made it): named by its fixed ARN, as IAM
  # forms it, rather than read, so an environment sharing the account plans without it existing yet.
  github_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  repo                = var.github_repository
  workflow            = "${var.github_repository}/.github/workflows"
  wf                  = var.github_workflows
  github_subjects = merge({
    # The apply job: deploy.yml from main, in the GitHub environment `<env>` (its reviewers gate it).
    deploy = ["repo:${local.repo}:environment:${var.environment}:job_workflow_ref:${local.workflow}/${local.wf.deploy}@refs/heads/main"]
    # Plans: a pull request's plan workflow (at the pull request's merge ref), and the plan jobs that run
    # from main after a merge or on a schedule; none in a GitHub environment.
    plan = concat(
      [for f in local.wf.plan_pull_request : "repo:${local.repo}:pull_request:job_workflow_ref:${local.workflow}/${f}@refs/pull/*/merge"],
      [for f in local.wf.plan_main : "repo:${local.repo}:ref:refs/heads/main:job_workflow_ref:${local.workflow}/${f}@refs/heads/main"],
    )
    }, local.wf.operations == null ? {} : {
    # The day-2 jobs: operations.yml from main, in `operations-<env>` (unattended).
    operations = ["repo:${local.repo}:environment:operations-${var.environment}:job_workflow_ref:${local.workflow}/${local.wf.operations}@refs/heads/main"]
  })
}

data "aws_iam_policy_document" "github_trust" {
  for_each = local.github_subjects

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
    # StringLike only where a subject has a wildcard (the pull request number).
    condition {
      test     = anytrue([for v in each.value : strcontains(v, "*")]) ? "StringLike" : "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = each.value
    }
  }
}

# The session each workflow asks for (configure-aws-credentials role-duration-seconds) must be within
# the role's max_session_duration, and at least the job's timeout-minutes, or a long apply loses its
# credentials mid-write. deploy.yml: timeout 90 min, session 5400 s; operations.yml: 120 min, 7200 s.
resource "aws_iam_role" "github_deploy" {
  name                 = "${local.name}-github-deploy"
  description          = "Assumed by ${var.github_repository}'s ${local.wf.deploy} from main in the ${var.environment} GitHub environment"
  assume_role_policy   = data.aws_iam_policy_document.github_trust["deploy"].json
  max_session_duration = var.deploy_max_session_seconds
  tags                 = merge(var.tags, { Name = "${local.name}-github-deploy" })
}

resource "aws_iam_role_policy_attachment" "github_deploy" {
  #checkov:skip=CKV_AWS_274:The deploy role applies this whole stack (IAM, KMS, EKS, RDS, networking); it is assumable only by this repository's deploy workflow file from main running in this GitHub environment, whose reviewers gate it.
  role       = aws_iam_role.github_deploy.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role" "github_operations" {
  count = local.wf.operations == null ? 0 : 1

  name                 = "${local.name}-github-operations"
  description          = "Assumed by ${var.github_repository}'s ${local.wf.operations} from main in the operations-${var.environment} GitHub environment"
  assume_role_policy   = data.aws_iam_policy_document.github_trust["operations"].json
  max_session_duration = var.operations_max_session_seconds
  tags                 = merge(var.tags, { Name = "${local.name}-github-operations" })
}

# Exactly what `cargo xtask backup`, `restore-drill`, `schedule` and `cost-report --actual` call
# (xtask/src/rds/, commands/schedule.rs, cost/), after the `init` and `outputs` steps read the state.
locals {
  ops       = var.operations
  db_arn    = "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:${local.ops.db_instance_identifier}"
  drill_arn = "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:${local.ops.db_instance_identifier}-drill-*"
  snapshots = "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*"
  # RDS names automated snapshots rds:<instance>-<date>: the drill restores the newest of either kind.
  automated_snapshots = "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:rds:${local.ops.db_instance_identifier}-*"
  state_alias         = "alias/${var.project}-${var.environment}-tfstate"
}

data "aws_iam_policy_document" "github_operations" {
  count = local.wf.operations == null ? 0 : 1

  #checkov:skip=CKV_AWS_356:Only ce:GetCostAndUsage and the key alias condition statement use "*": Cost Explorer has no resource-level permissions, and the state key (bootstrap root) is named by its alias condition (kms:ResourceAliases); every other statement names its resources.
  statement {
    sid       = "ReadState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.ops.state_bucket}"]
  }
  statement {
    sid       = "ReadStateObject"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.ops.state_bucket}/${var.environment}/terraform.tfstate"]
  }
  # The state key lives in the bootstrap root, outside this stack: it is named by its alias.
  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = [local.state_alias]
    }
  }
  statement {
    sid       = "CopyStateToBackups"
    actions   = ["s3:PutObject"]
    resources = ["${local.ops.backups_bucket_arn}/terraform-state/${var.environment}/*"]
  }
  statement {
    sid       = "EncryptBackups"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [module.keys.arns["s3"]]
  }
  statement {
    sid       = "Snapshot"
    actions   = ["rds:CreateDBSnapshot", "rds:AddTagsToResource"]
    resources = [local.db_arn, local.snapshots]
  }
  statement {
    sid       = "DescribeSnapshotsAndInstances"
    actions   = ["rds:DescribeDBSnapshots", "rds:DescribeDBInstances"]
    resources = concat([local.db_arn, local.drill_arn, local.snapshots, local.automated_snapshots], local.ops.dr_region == null ? [] : ["arn:${local.partition}:rds:${local.ops.dr_region}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*"])
  }
  # Pruning deletes only the snapshots `backup` made (tag xtask:made-by=cargo-xtask-backup), here and
  # their copies in the DR region.
  statement {
    sid       = "PruneOwnSnapshots"
    actions   = ["rds:DeleteDBSnapshot"]
    resources = concat([local.snapshots], local.ops.dr_region == null ? [] : ["arn:${local.partition}:rds:${local.ops.dr_region}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*"])
    condition {
      test     = "StringEquals"
      variable = "rds:snapshot-tag/xtask:made-by"
      values   = ["cargo-xtask-backup"]
    }
  }
  # restore-drill: a scratch instance named <db>-drill-<time>, from a snapshot, in the db's subnet group.
  statement {
    sid     = "RestoreDrill"
    actions = ["rds:RestoreDBInstanceFromDBSnapshot", "rds:AddTagsToResource", "rds:DeleteDBInstance"]
    resources = [
      local.drill_arn,
      local.snapshots,
      local.automated_snapshots,
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:subgrp:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:pg:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:og:*",
    ]
  }
  # Restoring and copying encrypted snapshots: RDS uses the keys through grants on the caller's behalf.
  statement {
    sid       = "UseDatabaseKeys"
    actions   = ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    resources = compact([module.keys.arns["rds"], local.ops.dr_backup_kms_key_arn])
    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["rds.*.amazonaws.com"]
    }
  }
  dynamic "statement" {
    for_each = local.ops.dr_region == null ? [] : [local.ops.dr_region]
    content {
      sid       = "CopySnapshotToDr"
      actions   = ["rds:CopyDBSnapshot", "rds:AddTagsToResource", "rds:DescribeDBSnapshots"]
      resources = [local.snapshots, "arn:${local.partition}:rds:${statement.value}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*"]
    }
  }
  # The DR region's copies: `backup` prunes its own there too (the tag travels with --copy-tags), and
  # `restore-drill --region dr` restores the newest into a scratch instance there (the region's default
  # VPC's subnet group unless --db-subnet-group) and deletes it.
  dynamic "statement" {
    for_each = local.ops.dr_region == null ? [] : [local.ops.dr_region]
    content {
      sid       = "PruneOwnCopiesInDr"
      actions   = ["rds:DeleteDBSnapshot"]
      resources = ["arn:${local.partition}:rds:${statement.value}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*"]
      condition {
        test     = "StringEquals"
        variable = "rds:snapshot-tag/xtask:made-by"
        values   = ["cargo-xtask-backup"]
      }
    }
  }
  dynamic "statement" {
    for_each = local.ops.dr_region == null ? [] : [local.ops.dr_region]
    content {
      sid     = "RestoreDrillInDr"
      actions = ["rds:RestoreDBInstanceFromDBSnapshot", "rds:AddTagsToResource", "rds:DeleteDBInstance", "rds:DescribeDBInstances"]
      resources = [
        "arn:${local.partition}:rds:${statement.value}:${local.account_id}:db:${local.ops.db_instance_identifier}-drill-*",
        "arn:${local.partition}:rds:${statement.value}:${local.account_id}:snapshot:${local.ops.db_instance_identifier}-*",
        "arn:${local.partition}:rds:${statement.value}:${local.account_id}:subgrp:*",
        "arn:${local.partition}:rds:${statement.value}:${local.account_id}:pg:*",
        "arn:${local.partition}:rds:${statement.value}:${local.account_id}:og:*",
      ]
    }
  }
  # schedule down/up: node group sizes and the database's state, the sizes kept in one parameter.
  statement {
    sid       = "ScaleNodeGroups"
    actions   = ["eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"]
    resources = ["arn:${local.partition}:eks:${local.region}:${local.account_id}:nodegroup/${var.cluster_name}/*/*"]
  }
  statement {
    sid       = "StopStartDatabase"
    actions   = ["rds:StopDBInstance", "rds:StartDBInstance"]
    resources = [local.db_arn]
  }
  statement {
    sid       = "RememberSizes"
    actions   = ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${var.project}/${var.environment}/schedule/*"]
  }
  # cost-report --actual: Cost Explorer has no resource-level permissions.
  statement {
    sid       = "ReadSpend"
    actions   = ["ce:GetCostAndUsage"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "github_operations" {
  count = local.wf.operations == null ? 0 : 1

  name   = "${local.name}-github-operations"
  role   = aws_iam_role.github_operations[0].id
  policy = data.aws_iam_policy_document.github_operations[0].json
}

# ---------------------------------------------------------------------------------------------------
# The plan role: `terraform plan` (with refresh) against the real state, and nothing written but the
# state lock. Pull requests' plans and the plan jobs on main assume it (github_subjects["plan"]).
#
# Base: AWS's ReadOnlyAccess managed policy. A refresh reads every resource of the stack, across some
# thirty services, and AWS keeps that policy current with each service's read calls; a hand-written
# list would go stale with every new resource. ViewOnlyAccess is too little (no s3:GetBucketPolicy,
# kms:GetKeyPolicy, iam:GetRolePolicy and the like). What the refresh needs beyond it is added below.

resource "aws_iam_role" "github_plan" {
  name                 = "${local.name}-github-plan"
  description          = "Assumed by ${var.github_repository}'s plan jobs (pull requests; main): read-only, plus the state lock"
  assume_role_policy   = data.aws_iam_policy_document.github_trust["plan"].json
  max_session_duration = 3600
  tags                 = merge(var.tags, { Name = "${local.name}-github-plan" })

  lifecycle {
    # IAM quotas: a role trust policy is at most 2,048 characters (without white space) unless the
    # account's quota is raised (IAM User Guide, "IAM and AWS STS quotas").
    precondition {
      condition     = length(data.aws_iam_policy_document.github_trust["plan"].minified_json) <= 2048
      error_message = "the plan role's trust policy is ${length(data.aws_iam_policy_document.github_trust["plan"].minified_json)} characters; IAM allows 2,048: trust fewer plan workflows (github_workflows)."
    }
  }
}

resource "aws_iam_role_policy_attachment" "github_plan_read_only" {
  role       = aws_iam_role.github_plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

locals {
  state_key_arn = "arn:${local.partition}:s3:::${local.ops.state_bucket}/${var.environment}/terraform.tfstate"
}

data "aws_iam_policy_document" "github_plan" {
  #checkov:skip=CKV_AWS_356:Only the calls without resource-level permissions (secretsmanager:GetRandomPassword) and the state key's alias condition statement use "*"; every other statement names its resources.
  #checkov:skip=CKV_AWS_111:The one write is the state lock object, named exactly.
  # terraform's S3 backend with use_lockfile: GetObject, PutObject and DeleteObject on `<key>.tflock`,
  # reading the state (and its digest beside it) with GetObject (Terraform docs, "Backend Type: s3",
  # S3 Bucket Permissions). Nothing else is written: no PutObject on the state itself.
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.ops.state_bucket}"]
  }
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_key_arn}*"]
  }
  statement {
    sid       = "HoldTheStateLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_key_arn}.tflock"]
  }
  # The bucket's default encryption key (bootstrap root), named by its alias.
  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = [local.state_alias]
    }
  }
  # Refreshing an aws_secretsmanager_secret_version calls GetSecretValue even when the value is
  # write-only (terraform-provider-aws, secretsmanager/secret_version.go: resourceSecretVersionRead then
  # drops secret_string): exactly the secrets whose versions this stack writes, decrypted through
  # Secrets Manager only.
  dynamic "statement" {
    for_each = length(var.refreshed_secret_names) > 0 ? ["refresh"] : []
    content {
      sid       = "RefreshSecretVersions"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [for n in var.refreshed_secret_names : "${local.secret_arn_prefix}${n}-??????"]
    }
  }
  dynamic "statement" {
    for_each = length(var.refreshed_secret_names) > 0 ? ["decrypt"] : []
    content {
      sid       = "DecryptThemThroughSecretsManager"
      actions   = ["kms:Decrypt"]
      resources = [module.keys.arns["secrets"]]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
  # The database logins' ephemeral passwords are opened at plan time (ephemeral
  # aws_secretsmanager_random_password: GetRandomPassword, which has no resource-level permissions).
  statement {
    sid       = "OpenEphemeralPasswords"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
  # Read calls of resources here that ReadOnlyAccess may not list (newer services and actions).
  statement {
    sid       = "ReadConnectionsAndBudgets"
    actions   = ["codeconnections:GetConnection", "codeconnections:ListTagsForResource", "budgets:ViewBudget", "budgets:ListTagsForResource"]
    resources = ["arn:${local.partition}:codeconnections:${local.region}:${local.account_id}:connection/*", "arn:${local.partition}:budgets::${local.account_id}:budget/*"]
  }
}

resource "aws_iam_role_policy" "github_plan" {
  name   = "${local.name}-github-plan"
  role   = aws_iam_role.github_plan.id
  policy = data.aws_iam_policy_document.github_plan.json
}

# ---------------------------------------------------------------------------------------------------
# People: an admin and a developer role per environment, made here (a fresh account has no role a person
# could assume, and EKS refuses an access entry for a principal that does not exist), assumable by the
# account's IAM identities only with MFA (the account root as principal delegates to IAM: a person's own
# policy must allow sts:AssumeRole on the role, IAM User Guide, "Cross account access" / "Creating a role
# to delegate permissions to an IAM user"). EKS access entries (eks module) map them: admin is cluster
# admin (AmazonEKSClusterAdminPolicy) and in authorworks:admins; developer only in authorworks:developers,
# which k8s/base/rbac.yaml binds in the workload namespace.

data "aws_iam_policy_document" "people_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "people" {
  for_each = var.cluster_roles

  name               = "${local.name}-${each.key}"
  description        = "People of ${local.name}: Kubernetes group ${each.value.kubernetes_group}${each.value.cluster_admin ? ", cluster admin" : ""} (MFA required)"
  assume_role_policy = data.aws_iam_policy_document.people_trust.json
  tags               = merge(var.tags, { Name = "${local.name}-${each.key}" })
}

# `aws eks update-kubeconfig` needs DescribeCluster; what they may do inside is Kubernetes RBAC's.
resource "aws_iam_role_policy" "people" {
  for_each = var.cluster_roles

  name = "${local.name}-${each.key}-kubeconfig"
  role = aws_iam_role.people[each.key].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "Kubeconfig", Effect = "Allow", Action = ["eks:DescribeCluster"], Resource = "arn:${local.partition}:eks:${local.region}:${local.account_id}:cluster/${var.cluster_name}" }]
  })
}

# ---------------------------------------------------------------------------------------------------
# Application secrets: the containers only; values are put by operators, read through external-secrets

# Where the environment has a DR region, each is replicated there (encrypted with that region's key):
# their values come from third parties or the team, so a rebuild in the DR region (environment dr)
# finds them in that region's Secrets Manager under the same name even when this region is down.
# Secrets Manager refuses a replica in the secret's own Region (ReplicateSecretToRegions).
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:These hold a credential issued by a third party (the AI provider) and a signing key; they are rotated by their issuers' procedures, not by a Lambda.
  for_each = var.application_secrets

  name                    = "${local.secrets_prefix}/app/${each.key}"
  description             = "${each.key} for ${local.name} (value set out of band)"
  kms_key_id              = module.keys.arns["secrets"]
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = merge(var.tags, { Name = "${local.name}-${each.key}" })

  dynamic "replica" {
    for_each = var.application_secret_replica == null ? [] : [var.application_secret_replica]
    content {
      region     = replica.value.region
      kms_key_id = replica.value.kms_key_arn
    }
  }

  lifecycle {
    precondition {
      condition     = var.application_secret_replica == null ? true : var.application_secret_replica.region != local.region
      error_message = "Secrets Manager rule (ReplicateSecretToRegions): a secret can't be replicated to its own Region ${local.region}; application_secret_replica.region must be another."
    }
  }
}
