data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name         = "${var.project}-${var.environment}"
  project_name = "${local.name}-ci-runner"
  # CodeConnections CreateConnection: ConnectionName is 1-32 characters (API Reference).
  connection_name = "${local.name}-github"
  account_id      = data.aws_caller_identity.current.account_id
  region          = data.aws_region.current.name
  partition       = data.aws_partition.current.partition
  # The project and its webhook need the connection AVAILABLE (see var.connection_authorized).
  runner_enabled = var.create_connection && var.connection_authorized
  project_arn    = "arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/${local.project_name}"
  connection_arn = try(aws_codeconnections_connection.github[0].arn, null)
  log_group      = "/aws/codebuild/${local.project_name}"
  # WORKFLOW_NAME is a regular expression on the workflow's name: anchored, dots literal.
  workflow_pattern = "^(${join("|", [for w in var.runner_workflows : replace(w, ".", "\\.")])})$"
}

# ---------------------------------------------------------------------------------------------------
# The GitHub connection: CodeBuild registers each runner with GitHub and receives the workflow_job
# webhooks through it (the "AWS Connector for GitHub" app, installed on the repository's owner when a
# person completes the connection in the console; it is PENDING until then).

resource "aws_codeconnections_connection" "github" {
  count = var.create_connection ? 1 : 0

  name          = local.connection_name
  provider_type = "GitHub"
  tags          = merge(var.tags, { Name = local.connection_name })

  lifecycle {
    precondition {
      condition     = length(local.connection_name) <= 32
      error_message = "CodeConnections names are at most 32 characters: ${local.connection_name} has ${length(local.connection_name)}; shorten the project name."
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# The runners' own identity. A job gets its AWS identity from GitHub's OIDC token and the environment's
# role (configure-aws-credentials); this service role only lets CodeBuild run the container: write its
# logs, place its interface in the VPC, and use the connection.

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }
    # Confused-deputy guard: only this account's project of this name ("Cross-service confused deputy
    # prevention", CodeBuild User Guide).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.project_arn]
    }
  }
}

resource "aws_iam_role" "runner" {
  name               = local.project_name
  description        = "CodeBuild service role of the ${local.name} CI runners (logs, VPC interfaces, the GitHub connection)"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = merge(var.tags, { Name = local.project_name })
}

data "aws_iam_policy_document" "runner" {
  #checkov:skip=CKV_AWS_111:The EC2 Describe* and network-interface calls CodeBuild makes for a VPC build have no resource-level permissions; CreateNetworkInterfacePermission is limited to the runners' subnets and to CodeBuild ("Allow CodeBuild access to AWS services required to create a VPC network interface").
  #checkov:skip=CKV_AWS_356:As above: the documented VPC policy of CodeBuild names "*" for the calls without resource-level permissions.
  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runner.arn}:*"]
  }

  # Exactly the policy "Allow CodeBuild access to AWS services required to create a VPC network
  # interface" (CodeBuild User Guide, identity-based policy examples).
  statement {
    sid = "VpcInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeDhcpOptions",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "VpcInterfacePermission"
    actions   = ["ec2:CreateNetworkInterfacePermission"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:Subnet"
      values   = [for s in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${s}"]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:AuthorizedService"
      values   = ["codebuild.amazonaws.com"]
    }
  }

  # "Grant CodeBuild project IAM role access to use the connection" (GetConnectionToken, GetConnection);
  # CreateProject also checks UseConnection with this role (aws/aws-cdk#38504, #37522).
  dynamic "statement" {
    for_each = var.create_connection ? ["connection"] : []
    content {
      sid       = "UseTheGitHubConnection"
      actions   = ["codeconnections:GetConnectionToken", "codeconnections:GetConnection", "codeconnections:UseConnection"]
      resources = [local.connection_arn]
    }
  }
}

resource "aws_iam_role_policy" "runner" {
  name   = local.project_name
  role   = aws_iam_role.runner.id
  policy = data.aws_iam_policy_document.runner.json
}

resource "aws_cloudwatch_log_group" "runner" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); the same job logs stay on GitHub, and a year of them here would break the dev and staging budgets.
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.project_name}-logs" })
}

# ---------------------------------------------------------------------------------------------------
# Network: nothing in; HTTPS out (GitHub, the package registries and AWS APIs through the NAT gateway,
# and the cluster's private API endpoint), and the API endpoint admits the runners on 443.

resource "aws_security_group" "runner" {
  #checkov:skip=CKV2_AWS_5:Attached by the CodeBuild project's vpc_config, which exists once the GitHub connection is authorised (var.connection_authorized).
  name        = local.project_name
  description = "CI runners: HTTPS out only (GitHub, registries, AWS APIs via NAT; the cluster API); nothing in"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.project_name })
}

resource "aws_vpc_security_group_egress_rule" "runner_https" {
  security_group_id = aws_security_group.runner.id
  description       = "HTTPS: GitHub, registries, AWS APIs (through NAT) and the cluster API"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_runner" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the runner group's description names the rule.
  security_group_id            = var.cluster_security_group_id
  referenced_security_group_id = aws_security_group.runner.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

# ---------------------------------------------------------------------------------------------------
# The runners: one CodeBuild build per queued workflow job whose runs-on names
# codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }} ("Tutorial: Configure a
# CodeBuild-hosted GitHub Actions runner"); CodeBuild replaces the buildspec with the runner.

resource "aws_codebuild_project" "runner" {
  #checkov:skip=CKV_AWS_147:The project has no artifacts and no cache (NO_ARTIFACTS): there is nothing for a customer-managed key to encrypt; the logs are encrypted with the logs key.
  count = local.runner_enabled ? 1 : 0

  name           = local.project_name
  description    = "GitHub Actions runners inside the ${local.name} VPC for ${var.github_repository}'s cluster jobs"
  service_role   = aws_iam_role.runner.arn
  build_timeout  = var.build_timeout_minutes
  queued_timeout = var.queued_timeout_minutes

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    compute_type                = var.compute_type
    image                       = var.image
    type                        = "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false
  }

  source {
    type            = "GITHUB"
    location        = "https://github.com/${var.github_repository}.git"
    git_clone_depth = 1

    auth {
      type     = "CODECONNECTIONS"
      resource = local.connection_arn
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.runner.name
      status     = "ENABLED"
    }
    s3_logs {
      status = "DISABLED"
    }
  }

  vpc_config {
    vpc_id             = var.vpc_id
    subnets            = var.subnet_ids
    security_group_ids = [aws_security_group.runner.id]
  }

  tags = merge(var.tags, { Name = local.project_name })

  # CreateProject checks the connection with the role's permissions at once (aws/aws-cdk#38504).
  depends_on = [aws_iam_role_policy.runner]
}

resource "aws_codebuild_webhook" "runner" {
  count = local.runner_enabled ? 1 : 0

  project_name = aws_codebuild_project.runner[0].name
  build_type   = "BUILD"

  filter_group {
    filter {
      type    = "EVENT"
      pattern = "WORKFLOW_JOB_QUEUED"
    }
    filter {
      type    = "WORKFLOW_NAME"
      pattern = local.workflow_pattern
    }
  }
}
