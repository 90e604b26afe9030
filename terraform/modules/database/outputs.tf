output "instance_identifier" {
  description = "Identifier of the primary instance."
  value       = aws_db_instance.primary.identifier
}

output "instance_arn" {
  description = "ARN of the primary instance."
  value       = aws_db_instance.primary.arn
}

output "endpoint" {
  description = "host:port of the primary."
  value       = aws_db_instance.primary.endpoint
}

output "address" {
  description = "Host name of the primary (PgBouncer's upstream)."
  value       = aws_db_instance.primary.address
}

output "master_username" {
  description = "The instance's master user (RDS keeps its password): no service's login may take its name."
  value       = var.master_username
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.primary.port
}

output "master_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master password in."
  value       = try(aws_db_instance.primary.master_user_secret[0].secret_arn, null)
}

output "replica_identifier" {
  description = "Identifier of the read replica, if any."
  value       = try(aws_db_instance.replica[0].identifier, null)
}

output "parameter_group_name" {
  description = "Name of the instance's parameter group: the module's (TLS forced) unless custom_parameter_group is off, else the engine default."
  value       = aws_db_instance.primary.parameter_group_name
}

output "backups_replication_arn" {
  description = "ARN of the automated backups replicated to the DR Region (arn:aws:rds:<dr region>:<account>:auto-backup:ab-…): what the dr environment restores from (null without replication)."
  value       = try(aws_db_instance_automated_backups_replication.dr[0].id, null)
}
