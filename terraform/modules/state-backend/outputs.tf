output "bucket_name" {
  description = "Name of the state bucket."
  value       = module.bucket.names["state"]
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = module.bucket.arns["state"]
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state."
  value       = module.key.arns["state"]
}
