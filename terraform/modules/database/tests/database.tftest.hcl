# RDS rules AWS enforces, refused at plan time: storage autoscaling above the allocation, a major-only
# engine version under automatic minor upgrades, and the exported logs' groups made before RDS makes
# its own. Offline: the AWS provider is mocked.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  project               = "authorworks"
  environment           = "production"
  instance_class        = "db.r5.large"
  backup_retention_days = 35
  subnet_ids            = ["subnet-a", "subnet-b"]
  security_group_ids    = ["sg-database"]
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  logs_kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
}

run "production_sizing_plans" {
  command = plan

  variables {
    allocated_storage_gb     = 100
    max_allocated_storage_gb = 500
    create_read_replica      = true
  }

  assert {
    condition     = aws_db_instance.primary.max_allocated_storage == 500 && aws_db_instance.primary.engine_version == "15"
    error_message = "autoscaling to 500 GiB on PostgreSQL 15, minor chosen by RDS"
  }
  assert {
    condition = toset([for g in aws_cloudwatch_log_group.exports : g.name]) == toset([
      "/aws/rds/instance/authorworks-production-postgres/postgresql",
      "/aws/rds/instance/authorworks-production-postgres/upgrade",
      "/aws/rds/instance/authorworks-production-postgres-replica/postgresql",
      "/aws/rds/instance/authorworks-production-postgres-replica/upgrade",
    ])
    error_message = "every exported log of the primary and the replica has its group, made by terraform"
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.exports : g.retention_in_days == 30 && g.kms_key_id == var.logs_kms_key_arn])
    error_message = "the exported logs' groups have retention and the logs key"
  }
}

run "autoscaling_ceiling_equal_to_the_allocation_is_refused" {
  command = plan

  variables {
    allocated_storage_gb     = 100
    max_allocated_storage_gb = 100
  }

  expect_failures = [var.max_allocated_storage_gb]
}

run "autoscaling_ceiling_less_than_ten_percent_above_is_refused" {
  command = plan

  variables {
    allocated_storage_gb     = 100
    max_allocated_storage_gb = 105
  }

  expect_failures = [var.max_allocated_storage_gb]
}

run "autoscaling_off_plans" {
  command = plan

  variables {
    allocated_storage_gb     = 100
    max_allocated_storage_gb = 0
  }

  assert {
    condition     = aws_db_instance.primary.max_allocated_storage == null
    error_message = "0 turns storage autoscaling off"
  }
}

run "a_pinned_minor_under_automatic_minor_upgrades_is_refused" {
  command = plan

  variables {
    engine_version = "15.12"
  }

  expect_failures = [var.engine_version]
}

run "a_pinned_minor_without_automatic_upgrades_plans" {
  command = plan

  variables {
    engine_version             = "15.12"
    auto_minor_version_upgrade = false
  }
}
