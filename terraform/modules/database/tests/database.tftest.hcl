# RDS rules AWS enforces, refused at plan time: storage autoscaling above the allocation, a major-only
# engine version under automatic minor upgrades, and the exported logs' groups made before RDS makes
# its own, and restore sources RestoreDBInstanceToPointInTime would refuse. Offline, on mock providers
# (the services' logins, whose ephemeral passwords Terraform 1.11's mocks refuse, are the
# database-logins module's); each data source a precondition compares is given its value.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

# The DR Region, where automated backups are replicated to.
mock_provider "aws" {
  alias = "dr"
  mock_data "aws_region" {
    defaults = { name = "us-west-2" }
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

run "backups_replicate_to_the_dr_region" {
  command = plan
  variables {
    backup_replication = { kms_key_arn = "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-00000000000d" }
  }
  assert {
    condition     = aws_db_instance_automated_backups_replication.dr[0].retention_period == 35 && aws_db_instance_automated_backups_replication.dr[0].kms_key_id == "arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-00000000000d"
    error_message = "the backups are replicated for the whole retention with the DR Region's key"
  }
}

run "a_replica_key_of_the_source_region_is_refused" {
  command = plan
  variables {
    backup_replication = { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-00000000000d" }
  }
  expect_failures = [aws_db_instance_automated_backups_replication.dr[0]]
}

# The DR environment restores the primary from the replicated backups, at the latest restorable time.
run "a_restore_from_replicated_backups_plans" {
  command = plan
  variables {
    restore_source = { source_automated_backups_arn = "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-ABCDEFGHIJKLMNOPQRSTUVWXYZ", use_latest_restorable_time = true }
  }
  assert {
    condition     = one(aws_db_instance.primary.restore_to_point_in_time).use_latest_restorable_time == true && one(aws_db_instance.primary.restore_to_point_in_time).source_db_instance_automated_backups_arn == "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    error_message = "restored from the replicated backups at the latest restorable time"
  }
}

run "replicated_backups_of_another_region_are_refused" {
  command = plan
  variables {
    restore_source = { source_automated_backups_arn = "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-ABCDEFGHIJKLMNOPQRSTUVWXYZ", use_latest_restorable_time = true }
  }
  expect_failures = [aws_db_instance.primary]
}

# Restores (`cargo xtask restore <env>`): the instance created from a snapshot or a point in time.
run "a_restore_from_a_snapshot_plans" {
  command = plan

  variables {
    restore_source = { snapshot_identifier = "authorworks-production-postgres-20261204t030000z" }
  }

  assert {
    condition     = aws_db_instance.primary.snapshot_identifier == "authorworks-production-postgres-20261204t030000z" && length(aws_db_instance.primary.restore_to_point_in_time) == 0
    error_message = "the primary is created from the snapshot"
  }
  assert {
    condition     = aws_db_instance.primary.identifier == "authorworks-production-postgres" && aws_db_instance.primary.manage_master_user_password
    error_message = "under the old instance's name (renamed aside first), its master password managed by RDS"
  }
}

run "a_restore_to_a_point_in_time_plans" {
  command = plan

  variables {
    restore_source = { source_dbi_resource_id = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", restore_time = "2026-12-04T09:30:00Z" }
  }

  assert {
    condition     = aws_db_instance.primary.restore_to_point_in_time[0].source_dbi_resource_id == "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ" && aws_db_instance.primary.restore_to_point_in_time[0].restore_time == "2026-12-04T09:30:00Z"
    error_message = "the primary is created from the automated backups at that time"
  }
}

run "a_restore_of_replicated_backups_at_their_latest_plans" {
  command = plan

  variables {
    restore_source = { source_automated_backups_arn = "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-abcdefghijklmnopqrstuvwxyz", use_latest_restorable_time = true }
  }

  assert {
    condition     = aws_db_instance.primary.restore_to_point_in_time[0].use_latest_restorable_time
    error_message = "the latest restorable time of the replicated backups"
  }
}

run "a_snapshot_and_a_point_in_time_together_are_refused" {
  command = plan

  variables {
    restore_source = { snapshot_identifier = "s", source_dbi_resource_id = "db-A", restore_time = "2026-12-04T09:30:00Z" }
  }

  expect_failures = [var.restore_source]
}

run "two_sources_of_automated_backups_are_refused" {
  command = plan

  variables {
    restore_source = { source_dbi_resource_id = "db-A", source_automated_backups_arn = "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-x", use_latest_restorable_time = true }
  }

  expect_failures = [var.restore_source]
}

run "a_point_in_time_without_a_time_is_refused" {
  command = plan

  variables {
    restore_source = { source_dbi_resource_id = "db-A" }
  }

  expect_failures = [var.restore_source]
}

run "a_time_and_the_latest_restorable_time_together_are_refused" {
  command = plan

  variables {
    restore_source = { source_dbi_resource_id = "db-A", restore_time = "2026-12-04T09:30:00Z", use_latest_restorable_time = true }
  }

  expect_failures = [var.restore_source]
}

run "a_snapshot_with_a_restore_time_is_refused" {
  command = plan

  variables {
    restore_source = { snapshot_identifier = "s", restore_time = "2026-12-04T09:30:00Z" }
  }

  expect_failures = [var.restore_source]
}

run "a_restore_time_not_in_utc_is_refused" {
  command = plan

  variables {
    restore_source = { source_dbi_resource_id = "db-A", restore_time = "2026-12-04T10:30:00+01:00" }
  }

  expect_failures = [var.restore_source]
}
