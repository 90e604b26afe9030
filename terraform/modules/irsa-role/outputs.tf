output "arns" {
  description = "Key => ARN of the role (what a ServiceAccount's eks.amazonaws.com/role-arn annotation names)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "names" {
  description = "Key => name of the role (what an aws_iam_role_policy's role or an attachment names)."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}
