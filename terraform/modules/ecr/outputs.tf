output "registry_host" {
  description = "The registry's host, <account>.dkr.ecr.<region>.amazonaws.com: what image references start with."
  value       = local.registry_host
}

output "repository_urls" {
  description = "Service => repository URL (<registry_host>/<project>/<service>)."
  value       = { for k, r in aws_ecr_repository.service : k => r.repository_url }
}

output "repository_arns" {
  description = "Service => repository ARN."
  value       = { for k, r in aws_ecr_repository.service : k => r.arn }
}

output "push_role_arns" {
  description = "Service => ARN of the role its CI assumes to push its image (the service repository's AWS_ECR_PUSH_ROLE_ARN)."
  value       = { for k, r in aws_iam_role.push : k => r.arn }
}

output "pull_through_cache_prefixes" {
  description = "Cache prefix => upstream registry URL: <registry_host>/<prefix>/<path> pulls <upstream>/<path> through the cache."
  value       = { for p, r in aws_ecr_pull_through_cache_rule.this : p => r.upstream_registry_url }
}

output "upstream_secret_names" {
  description = "Cache prefix => name of the Secrets Manager secret a person fills with the upstream login (username, accessToken)."
  value       = { for p, s in aws_secretsmanager_secret.upstream : p => s.name }
}
