data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  trail_name = "${local.name}-trail"
  # Known before the trail exists, so its bucket's policy can name it (aws:SourceArn).
  trail_arn = "arn:${data.aws_partition.current.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"
}

# ---------------------------------------------------------------------------------------------------
# Logs, alerts, alarms, dashboard

# No application log groups: nothing ships container logs to CloudWatch. Application errors alert
# through Prometheus and Alertmanager in the cluster, which publish to the alert topic below; error
# metric filters on log groups nobody writes to would be alarms that can never fire.

resource "aws_sns_topic" "alerts" {
  name              = "${local.name}-alerts"
  kms_master_key_id = var.sns_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.name}-alerts" })
}

# Who may publish: the account (Alertmanager's role in it), and the services that alert on its behalf,
# each only for this account: CloudWatch alarms (database), Budgets and Cost Anomaly Detection (budget
# module), EventBridge (GuardDuty findings below; Security Hub and Access Analyzer findings, governance
# module). Budgets and anomaly alerts are dropped without this policy. CloudTrail is not among them:
# the trail notifies nobody (see the trail below).
#
# The topic is encrypted with the sns key: SNS asks KMS for a data key as the publishing service, so a
# service this policy admits but the key's policy does not grant kms:GenerateDataKey* and kms:Decrypt
# publishes nothing ("Managing Amazon SNS encryption keys and costs", SNS Developer Guide: event sources
# from AWS services need the key policy statement). The policy below is refused unless the key grants
# every one of them (var.sns_key_publishers, the security module's output).
locals {
  publishing_services = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com", "events.amazonaws.com"]
  ungranted_services  = setsubtract(local.publishing_services, var.sns_key_publishers)
}

data "aws_iam_policy_document" "alerts" {
  statement {
    sid       = "AccountManages"
    actions   = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesPublish"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = local.publishing_services
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json

  lifecycle {
    precondition {
      condition     = length(local.ungranted_services) == 0
      error_message = "Encrypted topic rule (SNS Developer Guide, \"Managing Amazon SNS encryption keys and costs\"): ${join(", ", sort(local.ungranted_services))} may publish to ${local.name}-alerts but the topic's key (sns_key_publishers) does not let it use the key; every such message would be dropped. Add it to the security module's sns_key_publishers."
    }
  }
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.key
}

# The overview dashboard reads only metrics AWS publishes for this stack without an agent:
# - EKS: the control plane's vended metrics, free for clusters from 1.28, in AWS/EKS by ClusterName
#   ("Monitor cluster data with Amazon CloudWatch", EKS User Guide: apiserver_request_total,
#   apiserver_request_total_5XX, scheduler_pending_pods). Container Insights (the ContainerInsights
#   namespace) needs the CloudWatch agent (the amazon-cloudwatch-observability add-on), which this
#   stack does not run: node and pod memory are Prometheus's (Grafana's dashboards in the cluster);
# - nodes: EC2's CPUUtilization per Auto Scaling group (AutoScalingGroupName: the groups EKS made for
#   the node groups), which EC2 publishes for groups with detailed monitoring or at five minutes;
# - RDS: per DBInstanceIdentifier;
# - ElastiCache: per CacheClusterId, the replication group's member clusters (the engine and host
#   metrics are published per cache cluster and node, not per replication group: "Metrics for Valkey
#   and Redis OSS", ElastiCache User Guide).
locals {
  # Namespace => the dimension each of its metrics on this dashboard is read by.
  dashboard_dimensions = {
    "AWS/EKS"         = "ClusterName"
    "AWS/EC2"         = "AutoScalingGroupName"
    "AWS/RDS"         = "DBInstanceIdentifier"
    "AWS/ElastiCache" = "CacheClusterId"
  }
  # Each widget: its metrics as {namespace, metric, dimension, value, right (the right-hand axis)}.
  dashboard_widgets = concat(
    [
      {
        title = "EKS control plane: API requests, 5XX, pending pods"
        stat  = "Sum"
        metrics = [
          { namespace = "AWS/EKS", metric = "apiserver_request_total", dimension = "ClusterName", value = var.cluster_name, right = false },
          { namespace = "AWS/EKS", metric = "apiserver_request_total_5XX", dimension = "ClusterName", value = var.cluster_name, right = false },
          { namespace = "AWS/EKS", metric = "scheduler_pending_pods", dimension = "ClusterName", value = var.cluster_name, right = true },
        ]
      },
      {
        title   = "Nodes: CPU per node group"
        stat    = "Average"
        metrics = [for g in var.node_autoscaling_group_names : { namespace = "AWS/EC2", metric = "CPUUtilization", dimension = "AutoScalingGroupName", value = g, right = false }]
      },
      {
        title = "PostgreSQL"
        stat  = "Average"
        metrics = [
          { namespace = "AWS/RDS", metric = "CPUUtilization", dimension = "DBInstanceIdentifier", value = var.db_instance_identifier, right = false },
          { namespace = "AWS/RDS", metric = "DatabaseConnections", dimension = "DBInstanceIdentifier", value = var.db_instance_identifier, right = false },
          { namespace = "AWS/RDS", metric = "FreeStorageSpace", dimension = "DBInstanceIdentifier", value = var.db_instance_identifier, right = true },
        ]
      },
    ],
    length(var.cache_cluster_ids) == 0 ? [] : [
      {
        title = "Redis: engine CPU and memory per cache cluster"
        stat  = "Average"
        metrics = flatten([for c in var.cache_cluster_ids : [
          { namespace = "AWS/ElastiCache", metric = "EngineCPUUtilization", dimension = "CacheClusterId", value = c, right = false },
          { namespace = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", dimension = "CacheClusterId", value = c, right = false },
        ]])
      },
    ],
  )
  dashboard_misread = [for w in local.dashboard_widgets : w.title if anytrue([for m in w.metrics : lookup(local.dashboard_dimensions, m.namespace, "") != m.dimension])]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${local.name}-overview"
  dashboard_body = jsonencode({
    # A metric widget needs a metric (CloudWatch refuses an empty one): those without are left out.
    widgets = [for i, w in [for w in local.dashboard_widgets : w if length(w.metrics) > 0] : {
      type = "metric", x = (i % 2) * 12, y = floor(i / 2) * 6, width = 12, height = 6
      properties = {
        title   = w.title
        region  = local.region
        metrics = [for m in w.metrics : [m.namespace, m.metric, m.dimension, m.value, { yAxis = m.right ? "right" : "left" }]]
        stat    = w.stat
        period  = 300
      }
    }]
  })

  lifecycle {
    precondition {
      condition     = length(local.dashboard_misread) == 0
      error_message = "Dashboard rule: widgets ${join(", ", local.dashboard_misread)} read a metric by a dimension its namespace does not publish it by (${jsonencode(local.dashboard_dimensions)})."
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# CloudTrail: API activity, validated, encrypted, kept in its own bucket and in CloudWatch Logs.
#
# Optional (enable_cloudtrail): in an AWS Organizations member account an organisation trail, owned
# by the management account, may already record this account's activity; a second trail of the same
# management events costs money and adds nothing. A fresh stand-alone account has none: the default
# creates the trail.
#
# The trail notifies nobody per log file (no sns_topic_name): CloudTrail would publish every file it
# delivers — several an hour — which is noise on an alert topic, and the topic's policy would have to
# admit cloudtrail.amazonaws.com. What matters in the trail reaches people as GuardDuty findings
# (below); the log files are read when someone investigates.

locals {
  trail = var.enable_cloudtrail ? toset(["this"]) : toset([])
  # A log file is never overwritten; a noncurrent version exists only after a delete.
  trail_noncurrent_expiration_days = 30
}

# S3 lifecycle of the trail's bucket: GLACIER after trail_archive_after_days, deleted after
# trail_retention_days, checked against S3's lifecycle rules by the shared building block.
module "trail_lifecycle_rules" {
  source = "../s3-lifecycle-rules"

  rules = { trail = {
    transitions                = [{ days = var.trail_archive_after_days, storage_class = "GLACIER" }]
    expiration_days            = var.trail_retention_days
    noncurrent_expiration_days = local.trail_noncurrent_expiration_days
  } }
}

# The trail's bucket, hardened by the shared building block (versioned, SSE-KMS with the logs key, public
# access blocked, ACLs off, TLS-only), its policy letting CloudTrail check the ACL and write this
# account's log files, for this trail only (aws:SourceArn). Not replicated: the trail is itself the
# audit record, versioned and locked to CloudTrail writes. No access logs: reads of it are recorded by
# CloudTrail data events where enabled, and access logs would log the log. No consumer of its events.
module "trail_bucket" {
  source = "../hardened-bucket"

  buckets = { for k in local.trail : k => {
    name          = "${local.name}-cloudtrail-${local.account_id}"
    kms_key_arn   = var.logs_kms_key_arn
    force_destroy = var.force_destroy
    tags          = { Name = "${local.name}-cloudtrail" }
  } }
  policy_statements = { for k in local.trail : k => [
    {
      sid        = "CloudTrailAclCheck"
      actions    = ["s3:GetBucketAcl"]
      bucket     = true
      principal  = { type = "Service", identifiers = ["cloudtrail.amazonaws.com"] }
      conditions = [{ test = "StringEquals", variable = "aws:SourceArn", values = [local.trail_arn] }]
    },
    {
      sid       = "CloudTrailWrite"
      actions   = ["s3:PutObject"]
      objects   = ["AWSLogs/${local.account_id}/*"]
      principal = { type = "Service", identifiers = ["cloudtrail.amazonaws.com"] }
      conditions = [
        { test = "StringEquals", variable = "s3:x-amz-acl", values = ["bucket-owner-full-control"] },
        { test = "StringEquals", variable = "aws:SourceArn", values = [local.trail_arn] },
      ]
    },
  ] }
  enforce_tls = var.enforce_tls
  tags        = var.tags
}

# State written before the building block existed keeps the trail's bucket: the resources moved into it.
moved {
  from = aws_s3_bucket.trail
  to   = module.trail_bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_versioning.trail
  to   = module.trail_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.trail
  to   = module.trail_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_public_access_block.trail
  to   = module.trail_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_policy.trail
  to   = module.trail_bucket.aws_s3_bucket_policy.this
}

resource "aws_s3_bucket_lifecycle_configuration" "trail" {
  for_each = local.trail

  # Named through its versioning: S3 refuses noncurrent-version rules before versioning is on.
  bucket = module.trail_bucket.versioned_names[each.key]

  rule {
    id     = "archive"
    status = "Enabled"
    filter {}

    transition {
      days          = var.trail_archive_after_days
      storage_class = "GLACIER"
    }

    expiration {
      days = var.trail_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = local.trail_noncurrent_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  lifecycle {
    precondition {
      condition     = length(module.trail_lifecycle_rules.problems["trail"]) == 0
      error_message = "S3 lifecycle rules (module monitoring, CloudTrail bucket): ${join("; ", module.trail_lifecycle_rules.problems["trail"])}."
    }
  }
}

resource "aws_cloudwatch_log_group" "trail" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); a year of these logs in CloudWatch would break the dev and staging budgets. The audit record (CloudTrail) is kept 7 years in S3.
  for_each = local.trail

  name              = "/aws/cloudtrail/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.name}-cloudtrail" })
}

data "aws_iam_policy_document" "trail_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "trail_logs" {
  for_each = local.trail

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trail[each.key].arn}:*"]
  }
}

resource "aws_iam_role" "trail" {
  for_each = local.trail

  name               = "${local.name}-cloudtrail"
  assume_role_policy = data.aws_iam_policy_document.trail_trust.json
  tags               = merge(var.tags, { Name = "${local.name}-cloudtrail" })
}

resource "aws_iam_role_policy" "trail" {
  for_each = local.trail

  name   = "${local.name}-cloudtrail"
  role   = aws_iam_role.trail[each.key].id
  policy = data.aws_iam_policy_document.trail_logs[each.key].json
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252:Per-log-file delivery notices (several an hour) would be noise on the alert topic; findings reach people through GuardDuty and EventBridge instead (see above).
  for_each = local.trail

  name                          = local.trail_name
  s3_bucket_name                = module.trail_bucket.policy_bucket_names[each.key]
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.logs_kms_key_arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.trail[each.key].arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.trail[each.key].arn
  tags                          = merge(var.tags, { Name = local.trail_name })

  depends_on = [aws_iam_role_policy.trail]
}

# ---------------------------------------------------------------------------------------------------
# GuardDuty: one detector per account and region. Optional (enable_guardduty): where the account has
# one already (an organisation's delegated administrator enables it in member accounts), either leave
# it to its owner (enable_guardduty = false) or adopt it into this state:
#   terraform import 'module.stack.module.monitoring.aws_guardduty_detector.this[0]' <detector id>
# (`aws guardduty list-detectors` prints the id). A fresh account has none: the default creates it.

resource "aws_guardduty_detector" "this" {
  #checkov:skip=CKV2_AWS_3:Each environment is its own account without an AWS Organization; the detector covers the account and region.
  count = var.enable_guardduty ? 1 : 0

  enable                       = true
  finding_publishing_frequency = "FIFTEEN_MINUTES"
  tags                         = merge(var.tags, { Name = "${local.name}-guardduty" })
}

resource "aws_guardduty_detector_feature" "this" {
  for_each = var.enable_guardduty && var.enable_guardduty_features ? toset(["S3_DATA_EVENTS", "EKS_AUDIT_LOGS"]) : toset([])

  detector_id = aws_guardduty_detector.this[0].id
  name        = each.key
  status      = "ENABLED"
}

# GuardDuty findings of high severity (7.0 and above) reach people through the alert topic; lower ones
# wait in the console. EventBridge publishes them (the topic policy admits events.amazonaws.com). The
# rule is there whoever owns the detector: a member account whose detector an organisation's
# administrator manages gets its own findings on its own event bus too ("Creating custom responses to
# GuardDuty findings with Amazon EventBridge", GuardDuty User Guide).
resource "aws_cloudwatch_event_rule" "guardduty" {
  name        = "${local.name}-guardduty-findings"
  description = "High-severity GuardDuty findings to ${local.name}-alerts"
  event_pattern = jsonencode({
    source        = ["aws.guardduty"]
    "detail-type" = ["GuardDuty Finding"]
    detail        = { severity = [{ numeric = [">=", 7] }] }
  })
  tags = merge(var.tags, { Name = "${local.name}-guardduty-findings" })
}

resource "aws_cloudwatch_event_target" "guardduty" {
  rule = aws_cloudwatch_event_rule.guardduty.name
  arn  = aws_sns_topic.alerts.arn
}
