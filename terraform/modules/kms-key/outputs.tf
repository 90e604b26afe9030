output "arns" {
  description = "Key => ARN of the KMS key (what a resource's kms_key_id or an IAM statement names)."
  value       = { for k, v in aws_kms_key.this : k => v.arn }
}
