output "role_arns" {
  description = "Service => ARN of its IRSA role (its ServiceAccount's eks.amazonaws.com/role-arn)."
  value       = module.irsa.arns
}
