# ElastiCache rules refused at plan time: a Redis 7 pin that automatic minor upgrades would move,
# failover where AWS requires it, and user IDs IAM authentication can't use. Offline: the AWS provider is mocked.

mock_provider "aws" {}

variables {
  project            = "authorworks"
  environment        = "production"
  node_type          = "cache.r5.large"
  subnet_ids         = ["subnet-a", "subnet-b"]
  security_group_ids = ["sg-cache"]
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  logs_kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
  users              = ["gateway", "user-service"]
}

run "cluster_mode_plans_with_failover" {
  command = plan

  variables {
    cluster_mode            = true
    num_node_groups         = 2
    replicas_per_node_group = 1
    log_retention_days      = 90
  }

  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "cluster mode with replicas fails over across zones"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.engine_version == "7.1" && aws_cloudwatch_log_group.slow.retention_in_days == 90
    error_message = "Redis 7.1, slow log kept as long as the environment's logs"
  }
}

run "cluster_mode_without_replicas_still_enables_failover" {
  command = plan

  variables {
    cluster_mode            = true
    replicas_per_node_group = 0
  }

  assert {
    condition     = aws_elasticache_replication_group.this.automatic_failover_enabled && !aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "AWS requires automatic failover in cluster mode; Multi-AZ needs a replica"
  }
}

run "a_single_node_has_neither" {
  command = plan

  assert {
    condition     = !aws_elasticache_replication_group.this.automatic_failover_enabled && !aws_elasticache_replication_group.this.multi_az_enabled
    error_message = "one node: nothing to fail over to"
  }
}

run "an_older_minor_under_automatic_upgrades_is_refused" {
  command = plan

  variables {
    engine_version = "7.0"
  }

  expect_failures = [var.engine_version]
}

run "an_older_minor_without_automatic_upgrades_plans" {
  command = plan

  variables {
    engine_version             = "7.0"
    auto_minor_version_upgrade = false
  }
}

run "each_service_is_its_own_iam_user_beside_the_disabled_default" {
  command = plan

  assert {
    condition     = alltrue([for u in aws_elasticache_user.service : u.user_id == u.user_name && u.authentication_mode[0].type == "iam"])
    error_message = "IAM-enabled users: user ID and user name identical, IAM authentication"
  }
  assert {
    condition     = aws_elasticache_user.service["user-service"].access_string == "on ~user-service:* &user-service:* +@all -@dangerous"
    error_message = "a service reaches only the keys and channels under its own prefix"
  }
  assert {
    condition     = contains(aws_elasticache_user_group.this.user_ids, aws_elasticache_user.default.user_id) && length(aws_elasticache_user_group.this.user_ids) == 3 && aws_elasticache_user.default.access_string == "off -@all"
    error_message = "the user group keeps its required default user, switched off, beside the services' users"
  }
}

run "an_uppercase_user_is_refused" {
  command = plan

  variables {
    users = ["Gateway"]
  }

  expect_failures = [var.users]
}

run "a_user_named_default_is_refused" {
  command = plan

  variables {
    users = ["default"]
  }

  expect_failures = [var.users]
}
