data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_region" "dr" {
  provider = aws.dr
}

locals {
  name          = "${var.project}-${var.environment}"
  identifier    = "${local.name}-postgres"
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  # Without the module's group, RDS picks the engine's default group itself (named after the version
  # it chose, so not written here).
  parameter_group = var.custom_parameter_group ? aws_db_parameter_group.this[0].name : null
  log_exports     = ["postgresql", "upgrade"]
  restore         = var.restore_source
  # RDS writes each exported log to /aws/rds/instance/<identifier>/<log> and creates that group itself,
  # without retention or key, unless it exists (RDS User Guide, "Publishing database logs to Amazon
  # CloudWatch Logs"): created here first, for the primary and the replica.
  instances = concat([local.identifier], var.create_read_replica ? ["${local.identifier}-replica"] : [])
  # RestoreDBInstanceToPointInTime from replicated automated backups: the backups' ARN names the
  # Region they are in, which must be this instance's ("Restoring to a specified time from a
  # replicated backup", RDS User Guide: run the restore in the destination Region).
  restore_arn_region = try(split(":", var.restore_source.source_automated_backups_arn)[3], null)
  log_groups = { for pair in setproduct(local.instances, local.log_exports) :
    "${pair[0]}/${pair[1]}" => "/aws/rds/instance/${pair[0]}/${pair[1]}"
  }
}

resource "aws_cloudwatch_log_group" "exports" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); a year of these logs in CloudWatch would break the dev and staging budgets. The audit record (CloudTrail) is kept 7 years in S3.
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = each.key })
}

resource "aws_db_subnet_group" "this" {
  name       = "${local.identifier}-subnets"
  subnet_ids = var.subnet_ids
  tags       = merge(var.tags, { Name = "${local.identifier}-subnets" })
}

# TLS is required; slow statements and connections are logged.
resource "aws_db_parameter_group" "this" {
  count = var.custom_parameter_group ? 1 : 0

  name_prefix = "${local.identifier}-"
  family      = "postgres15"
  description = "${local.identifier}: TLS only, query logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  tags = merge(var.tags, { Name = "${local.identifier}-params" })

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval_seconds > 0 ? 1 : 0

  name               = "${local.identifier}-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_trust.json
  tags               = merge(var.tags, { Name = "${local.identifier}-monitoring" })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval_seconds > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "primary" {
  #checkov:skip=CKV2_AWS_30:Query logging is on through the custom parameter group (log_min_duration_statement, above) wherever custom_parameter_group is (all but the emulator); checkov's graph stops resolving the conditional parameter_group_name once the stack grows past its rendering limits.
  #checkov:skip=CKV_AWS_293:Deletion protection follows var.protected: on in staging and production, off where environments are torn down (dev, local).
  #checkov:skip=CKV_AWS_157:Multi-AZ follows var.multi_az: on in staging and production, off in dev to keep it under budget.
  #checkov:skip=CKV_AWS_353:Performance Insights follows var.enable_performance_insights: on everywhere but the emulator, which cannot keep the setting.
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  # A restored instance takes its database and master user from the backup: RestoreDBInstanceFromDBSnapshot
  # and RestoreDBInstanceToPointInTime have no MasterUsername, and their DBName "doesn't apply to" PostgreSQL
  # (RDS API Reference). After the restore both read back as before, so the next plan has nothing to change.
  db_name  = local.restore == null ? var.database_name : null
  username = local.restore == null ? var.master_username : null
  # RDS manages the restored instance's master password too: provider 5.x sets it by a ModifyDBInstance
  # after the restore (hashicorp/terraform-provider-aws #33699, #35589), in a new secret.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  # Restore (`cargo xtask restore <env>`): the old instance renamed aside first, this one created under
  # its name from a snapshot or a point in time (RDS User Guide, "Renaming to replace an existing DB
  # instance"). What it was created from matters only at creation: ignore_changes below, so later plans,
  # which pass no restore source, keep it.
  snapshot_identifier = try(local.restore.snapshot_identifier, null)
  dynamic "restore_to_point_in_time" {
    for_each = try(local.restore.snapshot_identifier, null) == null && local.restore != null ? [local.restore] : []
    content {
      source_dbi_resource_id                   = restore_to_point_in_time.value.source_dbi_resource_id
      source_db_instance_automated_backups_arn = restore_to_point_in_time.value.source_automated_backups_arn
      restore_time                             = restore_to_point_in_time.value.restore_time
      use_latest_restorable_time               = restore_to_point_in_time.value.use_latest_restorable_time
    }
  }

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb == 0 ? null : var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  parameter_group_name   = local.parameter_group

  iam_database_authentication_enabled   = true
  performance_insights_enabled          = var.enable_performance_insights
  performance_insights_kms_key_id       = var.enable_performance_insights ? var.kms_key_arn : null
  performance_insights_retention_period = var.enable_performance_insights ? 7 : null
  monitoring_interval                   = var.monitoring_interval_seconds
  monitoring_role_arn                   = var.monitoring_interval_seconds > 0 ? aws_iam_role.monitoring[0].arn : null
  enabled_cloudwatch_logs_exports       = local.log_exports

  backup_retention_period   = var.backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = !var.protected
  deletion_protection       = var.protected
  skip_final_snapshot       = !var.protected
  final_snapshot_identifier = var.protected ? "${local.identifier}-final" : null

  auto_minor_version_upgrade = var.auto_minor_version_upgrade
  apply_immediately          = !var.protected

  tags = merge(var.tags, { Name = local.identifier })

  lifecycle {
    ignore_changes = [snapshot_identifier, restore_to_point_in_time]
    precondition {
      condition     = local.restore_arn_region == null ? true : local.restore_arn_region == data.aws_region.current.name
      error_message = "RDS restore rule: replicated automated backups are restored in the Region they are in; restore_source.source_automated_backups_arn is in ${coalesce(local.restore_arn_region, "?")}, this instance in ${data.aws_region.current.name}."
    }
  }

  depends_on = [aws_cloudwatch_log_group.exports]
}

# Cross-Region automated backup replication (production): RDS copies every snapshot and the
# transaction logs to the DR Region as they are written, so the DR Region can restore to any point
# in time within the retention, seconds to minutes behind the primary ("Replicating automated backups
# to another AWS Region", RDS User Guide). The replicated backups are encrypted with a KMS key of the
# destination Region; the destination must be another Region than the source; retention 1-35 days.
resource "aws_db_instance_automated_backups_replication" "dr" {
  count    = var.backup_replication == null ? 0 : 1
  provider = aws.dr

  source_db_instance_arn = aws_db_instance.primary.arn
  kms_key_id             = var.backup_replication.kms_key_arn
  retention_period       = var.backup_retention_days

  lifecycle {
    precondition {
      condition     = data.aws_region.dr.name != data.aws_region.current.name
      error_message = "RDS rule: automated backups are replicated to another Region; the DR provider is in ${data.aws_region.dr.name}, as the instance."
    }
    precondition {
      condition     = split(":", var.backup_replication.kms_key_arn)[3] == data.aws_region.dr.name
      error_message = "RDS rule: replicated automated backups are encrypted with a KMS key of the destination Region (${data.aws_region.dr.name}); backup_replication.kms_key_arn is in ${split(":", var.backup_replication.kms_key_arn)[3]}."
    }
  }
}

resource "aws_db_instance" "replica" {
  #checkov:skip=CKV_AWS_157:A read replica serves reads; the primary carries Multi-AZ.
  #checkov:skip=CKV_AWS_353:Performance Insights follows var.enable_performance_insights: on everywhere but the emulator.
  count = var.create_read_replica ? 1 : 0

  identifier          = "${local.identifier}-replica"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = coalesce(var.replica_instance_class, var.instance_class)
  storage_encrypted   = true
  kms_key_id          = var.kms_key_arn

  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  parameter_group_name   = local.parameter_group

  iam_database_authentication_enabled   = true
  performance_insights_enabled          = var.enable_performance_insights
  performance_insights_kms_key_id       = var.enable_performance_insights ? var.kms_key_arn : null
  performance_insights_retention_period = var.enable_performance_insights ? 7 : null
  monitoring_interval                   = var.monitoring_interval_seconds
  monitoring_role_arn                   = var.monitoring_interval_seconds > 0 ? aws_iam_role.monitoring[0].arn : null
  enabled_cloudwatch_logs_exports       = local.log_exports

  copy_tags_to_snapshot      = true
  deletion_protection        = var.protected
  skip_final_snapshot        = true
  auto_minor_version_upgrade = var.auto_minor_version_upgrade

  tags = merge(var.tags, { Name = "${local.identifier}-replica" })

  depends_on = [aws_cloudwatch_log_group.exports]
}

locals {
  alarms = {
    cpu = {
      metric      = "CPUUtilization"
      comparison  = "GreaterThanThreshold"
      threshold   = 80
      description = "CPU above 80% for 15 minutes"
    }
    free-storage = {
      metric      = "FreeStorageSpace"
      comparison  = "LessThanThreshold"
      threshold   = 5 * 1024 * 1024 * 1024
      description = "Less than 5 GiB of storage left"
    }
    freeable-memory = {
      metric      = "FreeableMemory"
      comparison  = "LessThanThreshold"
      threshold   = 128 * 1024 * 1024
      description = "Less than 128 MiB of memory free"
    }
    connections = {
      metric      = "DatabaseConnections"
      comparison  = "GreaterThanThreshold"
      threshold   = 80
      description = "More than 80 connections"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.identifier}-${each.key}"
  alarm_description   = "${local.identifier}: ${each.value.description}"
  namespace           = "AWS/RDS"
  metric_name         = each.value.metric
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  dimensions          = { DBInstanceIdentifier = aws_db_instance.primary.identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = merge(var.tags, { Name = "${local.identifier}-${each.key}" })
}

# The read replica falling behind: readers see stale data, and promoting it would lose what it lacks.
resource "aws_cloudwatch_metric_alarm" "replica_lag" {
  count = var.create_read_replica ? 1 : 0

  alarm_name          = "${local.identifier}-replica-lag"
  alarm_description   = "${local.identifier}-replica: more than 5 minutes behind the primary for 15 minutes"
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 300
  dimensions          = { DBInstanceIdentifier = aws_db_instance.replica[0].identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = merge(var.tags, { Name = "${local.identifier}-replica-lag" })
}
