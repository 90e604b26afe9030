output "kms_key_arns" {
  description = "KMS key ARN per purpose (eks, rds, s3, logs, cache, secrets, sns)."
  value       = { for k, v in aws_kms_key.this : k => v.arn }
}

output "controller_role_arns" {
  description = "IRSA role ARN per cluster controller."
  value       = { for k, v in aws_iam_role.controller : k => v.arn }
}

output "github_deploy_role_arn" {
  description = "ARN of the role GitHub Actions assumes to deploy this environment."
  value       = aws_iam_role.github_deploy.arn
}

output "application_secret_arns" {
  description = "ARN per application secret."
  value       = { for k, v in aws_secretsmanager_secret.app : k => v.arn }
}
