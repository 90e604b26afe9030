locals {
  name = "${var.project}-${var.environment}-redis"
  # CreateReplicationGroup (ElastiCache API Reference): "AutomaticFailoverEnabled must be enabled for
  # Valkey or Redis OSS (cluster mode enabled) replication groups"; without cluster mode it needs a
  # second node. Multi-AZ needs a replica to fail over to, in either mode.
  failover = var.cluster_mode || var.num_cache_clusters >= 2
  multi_az = var.cluster_mode ? var.replicas_per_node_group > 0 : var.num_cache_clusters >= 2
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${local.name}-subnets"
  subnet_ids = var.subnet_ids
  tags       = merge(var.tags, { Name = "${local.name}-subnets" })
}

# Authentication (ElastiCache User Guide, "Role-Based Access Control (RBAC)" and "Authenticating with
# IAM"): every user group must contain a user named `default`, so the group keeps one that is switched
# off; each service connects as its own user, which authenticates with IAM (no password exists to
# leak). IAM authentication needs Redis OSS 7.0 or later (engine_version) and in-transit encryption
# (transit_encryption_mode below), and an IAM-enabled user's user name must be identical to its user
# ID, which ElastiCache stores in lowercase (CreateUser: UserId `[a-zA-Z][a-zA-Z0-9\-]*`, "stored as a
# lowercase string"): hence one lowercase name for both. A service may touch only the keys and the
# pub/sub channels under its own prefix `<service>:`.
resource "aws_elasticache_user" "default" {
  user_id       = "${local.name}-default"
  user_name     = "default"
  engine        = "redis"
  access_string = "off -@all"

  authentication_mode {
    type = "no-password-required"
  }

  tags = merge(var.tags, { Name = "${local.name}-default" })
}

resource "aws_elasticache_user" "service" {
  for_each = var.users

  user_id       = "${local.name}-${each.key}"
  user_name     = "${local.name}-${each.key}"
  engine        = "redis"
  access_string = "on ~${each.key}:* &${each.key}:* +@all -@dangerous"

  authentication_mode {
    type = "iam"
  }

  tags = merge(var.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = "${local.name}-users"
  engine        = "redis"
  user_ids      = concat([aws_elasticache_user.default.user_id], [for u in aws_elasticache_user.service : u.user_id])
  tags          = merge(var.tags, { Name = "${local.name}-users" })
}

resource "aws_cloudwatch_log_group" "slow" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); a year of these logs in CloudWatch would break the dev and staging budgets. The audit record (CloudTrail) is kept 7 years in S3.
  name              = "/aws/elasticache/${local.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.name}-slow-log" })
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:Failover and Multi-AZ are on whenever there is a second node (staging, production); dev runs one node to stay under budget.
  replication_group_id = local.name
  description          = "Redis for ${var.project} ${var.environment}"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = var.cluster_mode ? "default.redis7.cluster.on" : "default.redis7"

  num_cache_clusters      = var.cluster_mode ? null : var.num_cache_clusters
  num_node_groups         = var.cluster_mode ? var.num_node_groups : null
  replicas_per_node_group = var.cluster_mode ? var.replicas_per_node_group : null

  automatic_failover_enabled = local.failover
  multi_az_enabled           = local.multi_az

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  user_group_ids             = [aws_elasticache_user_group.this.user_group_id]

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = var.auto_minor_version_upgrade
  apply_immediately          = var.environment != "production"

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = merge(var.tags, { Name = local.name })
}
