output "bucket_names" {
  description = "Bucket name per purpose: media, exports, backups, logs."
  value       = module.buckets.names
}

output "bucket_arns" {
  description = "Bucket ARN per purpose."
  value       = module.buckets.arns
}

output "media_bucket_regional_domain_name" {
  description = "Regional domain name of the media bucket (the CDN's origin)."
  value       = module.buckets.regional_domain_names["media"]
}

output "replica_bucket_arns" {
  description = "ARNs of the DR-region replicas (empty without replication)."
  value       = module.replicas.arns
}

output "replica_kms_key_arn" {
  description = "KMS key of the DR region's copies, also used to encrypt RDS snapshots copied there (null without replication)."
  value       = lookup(module.replica_key.arns, "replica", null)
}

output "config_delivery_bucket" {
  description = "The logs bucket's name, taken from its policy, so AWS Config's delivery channel is made after the policy that admits it (null without config_delivery_prefix)."
  value       = var.config_delivery_prefix == "" ? null : module.buckets.policy_bucket_names["logs"]
}
