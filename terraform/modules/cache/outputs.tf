output "primary_endpoint" {
  description = "Address writes go to (the configuration endpoint in cluster mode)."
  value       = var.cluster_mode ? aws_elasticache_replication_group.this.configuration_endpoint_address : aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint" {
  description = "Address reads may go to (null in cluster mode)."
  value       = var.cluster_mode ? null : aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = 6379
}

output "app_user_name" {
  description = "The IAM-authenticated user applications connect as."
  value       = aws_elasticache_user.app.user_name
}
