output "role_arns" {
  description = "Service => ARN of its IRSA role (its ServiceAccount's eks.amazonaws.com/role-arn)."
  value       = { for k, r in aws_iam_role.service : k => r.arn }
}
