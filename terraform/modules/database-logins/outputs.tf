output "service_secret_names" {
  description = "Service => name of its login secret `<project>/<env>/db/<service>` (JSON username, password)."
  value       = { for k, s in aws_secretsmanager_secret.service : k => s.name }
}
