# ElastiCache rules refused at plan time: a Redis 7 pin that automatic minor upgrades would move, and
# failover where AWS requires it. Offline: the AWS provider is mocked.

mock_provider "aws" {}

variables {
  project            = "authorworks"
  environment        = "production"
  node_type          = "cache.r5.large"
  subnet_ids         = ["subnet-a", "subnet-b"]
  security_group_ids = ["sg-cache"]
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  logs_kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
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
