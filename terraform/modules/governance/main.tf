data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
}

# ---------------------------------------------------------------------------------------------------
# An account that watches itself: AWS Config records every resource, Security Hub checks them against
# AWS's Foundational Security Best Practices, IAM Access Analyzer reports what is shared outside the
# account, new EBS volumes are encrypted by default, no bucket can be made public; findings of high
# severity reach the alert topic.
#
# Each is a per-account (or per-account-and-Region) singleton. In an AWS Organizations member account
# the organisation may own some already (a delegated administrator enables Security Hub, Config or the
# analyzer in every member): switch each off here, or adopt the existing one with `terraform import`
# (terraform/README.md, "Account-wide singletons"). Per Region: the Config recorder and delivery
# channel, Security Hub, the account analyzer, EBS default encryption. Per account: the Config
# service-linked role and the S3 public access block (S3 Control, global).

# ---------------------------------------------------------------------------------------------------
# AWS Config: one recorder and one delivery channel per account and Region ("Managing the
# configuration recorder", AWS Config Developer Guide). The recorder records every supported resource
# type; global ones (IAM) only where include_global_resources is on, in one Region of the account, so
# they are not recorded (and billed) twice. It runs as the Config service-linked role
# (AWSServiceRoleForConfig, one per account), the way AWS recommends, and delivers to the logs bucket,
# whose policy admits config.amazonaws.com (storage module, config_delivery_prefix).

resource "aws_iam_service_linked_role" "config" {
  count = var.enable_config && var.create_config_service_linked_role ? 1 : 0

  aws_service_name = "config.amazonaws.com"
  description      = "AWS Config recorder of ${local.name}"
}

locals {
  config_role_arn = var.enable_config && var.create_config_service_linked_role ? aws_iam_service_linked_role.config[0].arn : "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
}

# Where the role is another environment's (dr shares production's account), it is named by its fixed
# ARN; this reads it at every plan and warns when it is missing (a warning: an emulated plan from an
# empty account still plans; PutConfigurationRecorder then refuses the role at apply).
# (A list, not aws_iam_role: that data source retries a missing role for minutes; and not a data
# source scoped to the check: those are read again at every apply, so no plan would be clean.)
data "aws_iam_roles" "config" {
  count = var.enable_config && !var.create_config_service_linked_role ? 1 : 0

  name_regex  = "^AWSServiceRoleForConfig$"
  path_prefix = "/aws-service-role/config.amazonaws.com/"
}

check "config_service_linked_role_exists" {
  assert {
    condition     = !var.enable_config || var.create_config_service_linked_role ? true : length(flatten(data.aws_iam_roles.config[*].arns)) == 1
    error_message = "The account has no AWS Config service-linked role ${local.config_role_arn}: set create_config_service_linked_role = true (a fresh account), or apply the environment that makes it first."
  }
}

resource "aws_config_configuration_recorder" "this" {
  count = var.enable_config ? 1 : 0

  name     = "${local.name}-recorder"
  role_arn = local.config_role_arn

  recording_group {
    all_supported                 = true
    include_global_resource_types = var.config_include_global_resources
  }
}

resource "aws_config_delivery_channel" "this" {
  count = var.enable_config ? 1 : 0

  name           = "${local.name}-delivery"
  s3_bucket_name = var.config_bucket_name
  s3_key_prefix  = var.config_s3_key_prefix

  snapshot_delivery_properties {
    delivery_frequency = "TwentyFour_Hours"
  }

  depends_on = [aws_config_configuration_recorder.this]
}

resource "aws_config_configuration_recorder_status" "this" {
  count = var.enable_config ? 1 : 0

  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true

  depends_on = [aws_config_delivery_channel.this]
}

# A small set of AWS managed rules over what this stack makes (each evaluation is billed): encrypted
# volumes and databases, encrypted buckets, flow logs, a private EKS endpoint, and — where global
# resources are recorded — MFA on the root user.
locals {
  config_rules = merge(
    {
      encrypted-volumes      = "ENCRYPTED_VOLUMES"
      rds-storage-encrypted  = "RDS_STORAGE_ENCRYPTED"
      s3-bucket-encrypted    = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"
      vpc-flow-logs-enabled  = "VPC_FLOW_LOGS_ENABLED"
      eks-endpoint-private   = "EKS_ENDPOINT_NO_PUBLIC_ACCESS"
      rds-not-public         = "RDS_INSTANCE_PUBLIC_ACCESS_CHECK"
      eks-secrets-encrypted  = "EKS_SECRETS_ENCRYPTED"
      guardduty-enabled      = "GUARDDUTY_ENABLED_CENTRALIZED"
      cloudtrail-enabled     = "CLOUD_TRAIL_ENABLED"
      s3-account-public-deny = "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC"
    },
    var.config_include_global_resources ? { root-account-mfa = "ROOT_ACCOUNT_MFA_ENABLED" } : {},
  )
}

resource "aws_config_config_rule" "this" {
  for_each = var.enable_config ? local.config_rules : {}

  name = "${local.name}-${each.key}"

  source {
    owner             = "AWS"
    source_identifier = each.value
  }

  tags = merge(var.tags, { Name = "${local.name}-${each.key}" })

  depends_on = [aws_config_configuration_recorder.this]
}

# ---------------------------------------------------------------------------------------------------
# Security Hub with the AWS Foundational Security Best Practices standard. Its controls evaluate
# resources through service-linked AWS Config rules, so Config must record in this Region ("Enabling
# and configuring AWS Config for Security Hub", Security Hub User Guide): this module's recorder, or an
# organisation's (config_recorded_elsewhere). Consolidated control findings (SECURITY_CONTROL), no
# default standards beyond the one subscribed here.

resource "aws_securityhub_account" "this" {
  count = var.enable_security_hub ? 1 : 0

  enable_default_standards  = false
  control_finding_generator = "SECURITY_CONTROL"
  auto_enable_controls      = true
}

resource "aws_securityhub_standards_subscription" "fsbp" {
  count = var.enable_security_hub ? 1 : 0

  standards_arn = "arn:${local.partition}:securityhub:${local.region}::standards/aws-foundational-security-best-practices/v/1.0.0"

  depends_on = [aws_securityhub_account.this]

  lifecycle {
    precondition {
      condition     = var.enable_config || var.config_recorded_elsewhere
      error_message = "Security Hub rule: the Foundational Security Best Practices controls evaluate through AWS Config, which must record in ${local.region}; turn enable_config on, or set config_recorded_elsewhere where an organisation's recorder does."
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# IAM Access Analyzer for the account (its zone of trust): findings for every resource shared outside
# it. One account analyzer per Region.

resource "aws_accessanalyzer_analyzer" "this" {
  count = var.enable_access_analyzer ? 1 : 0

  analyzer_name = "${local.name}-account"
  type          = "ACCOUNT"
  tags          = merge(var.tags, { Name = "${local.name}-account" })
}

# ---------------------------------------------------------------------------------------------------
# EBS encryption by default (per Region): every new volume and snapshot copy is encrypted, with
# ebs_default_kms_key (the eks key, whose policy lets EC2 Auto Scaling use it) or AWS's aws/ebs key.

resource "aws_ebs_encryption_by_default" "this" {
  count = var.manage_ebs_encryption_by_default ? 1 : 0

  enabled = true
}

resource "aws_ebs_default_kms_key" "this" {
  count = var.manage_ebs_encryption_by_default && var.ebs_default_kms_key != null ? 1 : 0

  key_arn = var.ebs_default_kms_key.arn

  lifecycle {
    precondition {
      condition     = split(":", var.ebs_default_kms_key.arn)[3] == local.region
      error_message = "EBS rule: the default key of ${local.region} must be a KMS key of ${local.region}; ebs_default_kms_key is ${var.ebs_default_kms_key.arn}."
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# The account's S3 Block Public Access (global, one per account: S3 Control): no bucket or object of the
# account can be made public, whatever its own settings.

resource "aws_s3_account_public_access_block" "this" {
  count = var.manage_account_public_access_block ? 1 : 0

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ---------------------------------------------------------------------------------------------------
# Findings of high severity to the alert topic, through EventBridge (the topic's policy admits
# events.amazonaws.com; its key must let EventBridge use it: var.sns_key_publishers). The rules route
# whatever produces the findings here, so an organisation-managed Security Hub or analyzer still
# reaches the account's people. GuardDuty's own rule is the monitoring module's; the Security Hub rule
# leaves out the GuardDuty and Access Analyzer findings Security Hub also imports, so each arrives once.
# Event patterns: "EventBridge event formats for Security Hub" (detail-type "Security Hub Findings -
# Imported", detail.findings[].Severity.Label) and "Monitoring AWS Identity and Access Management
# Access Analyzer with Amazon EventBridge" (detail-type "Access Analyzer Finding", detail.status).
locals {
  finding_rules = {
    securityhub-findings = {
      description = "High and critical Security Hub findings (new, active) to ${local.name}-alerts"
      pattern = {
        source        = ["aws.securityhub"]
        "detail-type" = ["Security Hub Findings - Imported"]
        detail = {
          findings = {
            Severity    = { Label = ["HIGH", "CRITICAL"] }
            Workflow    = { Status = ["NEW"] }
            RecordState = ["ACTIVE"]
            ProductName = [{ "anything-but" = ["GuardDuty", "IAM Access Analyzer"] }]
          }
        }
      }
    }
    access-analyzer-findings = {
      description = "Active IAM Access Analyzer findings (access from outside the account) to ${local.name}-alerts"
      pattern = {
        source        = ["aws.access-analyzer"]
        "detail-type" = ["Access Analyzer Finding"]
        detail        = { status = ["ACTIVE"] }
      }
    }
  }
}

resource "aws_cloudwatch_event_rule" "findings" {
  for_each = local.finding_rules

  name          = "${local.name}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  tags          = merge(var.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_cloudwatch_event_target" "findings" {
  for_each = local.finding_rules

  rule = aws_cloudwatch_event_rule.findings[each.key].name
  arn  = var.alert_topic_arn

  lifecycle {
    # The topic is encrypted: SNS asks KMS for a data key as EventBridge, which the key must allow
    # without source conditions ("Managing Amazon SNS encryption keys and costs", SNS Developer Guide).
    precondition {
      condition     = contains(var.sns_key_publishers, "events.amazonaws.com")
      error_message = "Encrypted topic rule: the alert topic's key does not let events.amazonaws.com use it (sns_key_publishers = ${join(", ", var.sns_key_publishers)}), so EventBridge would deliver no ${each.key}."
    }
  }
}
