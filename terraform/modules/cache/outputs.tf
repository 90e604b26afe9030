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

output "replication_group_id" {
  description = "Replication group ID: the host name an IAM authentication token is signed for."
  value       = aws_elasticache_replication_group.this.id
}

output "replication_group_arn" {
  description = "Replication group ARN (the resource of elasticache:Connect)."
  value       = aws_elasticache_replication_group.this.arn
}

output "user_names" {
  description = "Service => the IAM-authenticated user it connects as (user ID and user name alike)."
  value       = { for k, u in aws_elasticache_user.service : k => u.user_name }
}

output "user_arns" {
  description = "Service => ARN of its user (the other resource of its elasticache:Connect)."
  value       = { for k, u in aws_elasticache_user.service : k => u.arn }
}

output "member_clusters" {
  description = "The replication group's cache clusters (CacheClusterId: what ElastiCache publishes metrics by), sorted."
  value       = sort(aws_elasticache_replication_group.this.member_clusters)
}
