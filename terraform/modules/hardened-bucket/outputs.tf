output "names" {
  description = "Key => name of the bucket."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "arns" {
  description = "Key => ARN of the bucket."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "regional_domain_names" {
  description = "Key => regional domain name of the bucket (what a CloudFront origin names)."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket_regional_domain_name }
}

output "policy_bucket_names" {
  description = "Key => name of the bucket, taken from its policy (only buckets that have one): what a service names when it must wait for the policy that admits it."
  value       = { for k, p in aws_s3_bucket_policy.this : k => p.bucket }
}

output "versioned_names" {
  description = "Key => name of the bucket, taken from its versioning configuration: what a lifecycle rule or a replication configuration names, since S3 wants versioning on before either."
  value       = { for k, v in aws_s3_bucket_versioning.this : k => v.bucket }
}
