output "kms_key_arns" {
  description = "KMS key ARN per purpose (eks, rds, s3, logs, cache, secrets, sns, ecr)."
  value       = module.keys.arns
}

output "controller_role_arns" {
  description = "IRSA role ARN per cluster controller."
  value       = module.irsa.arns
}

output "github_deploy_role_arn" {
  description = "ARN of the role GitHub Actions assumes to deploy this environment."
  value       = aws_iam_role.github_deploy.arn
}

output "application_secret_names" {
  description = "Name per application secret (`<project>/<env>/app/<name>`): the remote keys of the overlay's ExternalSecrets."
  value       = { for k, v in aws_secretsmanager_secret.app : k => v.name }
}

output "application_secret_arns" {
  description = "ARN per application secret."
  value       = { for k, v in aws_secretsmanager_secret.app : k => v.arn }
}

output "github_operations_role_arn" {
  description = "ARN of the role the operations workflow assumes (GitHub environment operations-<env>, variable AWS_OPERATIONS_ROLE_ARN)."
  value       = one(aws_iam_role.github_operations[*].arn)
}

output "cluster_role_arns" {
  description = "The people's roles (MFA) by suffix, with the Kubernetes group each maps to and whether it is cluster admin."
  value       = { for k, r in aws_iam_role.people : k => { arn = r.arn, kubernetes_group = var.cluster_roles[k].kubernetes_group, cluster_admin = var.cluster_roles[k].cluster_admin } }
}

output "cluster_role_names" {
  description = "The people's roles by suffix: their IAM role names (the bastion module lets them open the tunnel)."
  value       = { for k, r in aws_iam_role.people : k => r.name }
}

output "github_plan_role_arn" {
  description = "ARN of the read-only role the plan jobs assume (pull requests; main): terraform plan with refresh, the state lock and nothing else written."
  value       = aws_iam_role.github_plan.arn
}

output "github_subjects" {
  description = "The OIDC subject (customised: repo, context, job_workflow_ref) each GitHub role trusts."
  value       = local.github_subjects
}

output "sns_key_publishers" {
  description = "The AWS services the sns key's policy lets publish to topics it encrypts (kms:GenerateDataKey*, kms:Decrypt): what the topics' publishers are checked against."
  value       = var.sns_key_publishers
}

output "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub Actions OIDC provider (made here, or named by its fixed ARN where another environment of the account made it)."
  value       = local.github_provider_arn
}
