# RDS rules AWS enforces, refused at plan time: storage autoscaling above the allocation, a major-only
# engine version under automatic minor upgrades, and the exported logs' groups made before RDS makes
# its own, service logins PostgreSQL or RDS would refuse, and restore sources RestoreDBInstanceToPointInTime
# would refuse. Offline (the provider below calls nothing).

# Not a mock_provider: Terraform 1.11's mocks refuse any configuration with an ephemeral resource ("No
# ephemeral resource types in mock providers"). The provider is configured to make no call instead
# (static fake keys, no credential, account or metadata look-ups), and every run plans nothing that
# asks AWS: planned creates, and data sources the provider answers itself (partition, policy
# documents). Only the run that targets the secrets names services, so the ephemeral password (a
# GetRandomPassword call) is never opened here; `cargo xtask plan <env> --emulated` and `deploy local`
# open it against the emulator.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  endpoints {
    secretsmanager = "http://127.0.0.1:9"
  }
}

# The DR Region, where automated backups are replicated to.
provider "aws" {
  alias                       = "dr"
  region                      = "us-west-2"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
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
  secrets_kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/77777777-8888-9999-0000-111111111111"
  service_databases     = []
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

run "each_service_gets_its_login_secret" {
  command = plan

  variables {
    service_databases = ["user-service", "content-service"]
  }
  plan_options {
    target = [aws_secretsmanager_secret.service]
  }

  assert {
    condition     = aws_secretsmanager_secret.service["user-service"].name == "authorworks/production/db/user-service" && aws_secretsmanager_secret.service["user-service"].kms_key_id == var.secrets_kms_key_arn
    error_message = "one secret per service, <project>/<env>/db/<service>, under the secrets key"
  }
  assert {
    condition     = local.service_roles["content-service"] == "content_service"
    error_message = "roles and databases are named like the service with underscores"
  }
}

run "a_service_name_that_is_no_identifier_is_refused" {
  command = plan

  variables {
    service_databases = ["User_Service"]
  }

  expect_failures = [var.service_databases]
}

run "a_reserved_role_name_is_refused" {
  command = plan

  variables {
    service_databases = ["pg-stats"]
  }

  expect_failures = [var.service_databases]
}

run "a_service_named_like_the_master_user_is_refused" {
  command = plan

  variables {
    service_databases = ["authorworks-admin"]
  }

  expect_failures = [var.service_databases]
}

run "a_fractional_password_version_is_refused" {
  command = plan

  variables {
    password_version = 1.5
  }

  expect_failures = [var.password_version]
}

# Production replicates its automated backups to the DR Region (point-in-time restore there), encrypted
# with a key of that Region.
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
