output "instance_id" {
  description = "The SSM-managed instance `cargo xtask tunnel` port-forwards through."
  value       = aws_instance.bastion.id
}

output "instance_arn" {
  description = "ARN of the bastion instance (the people's roles may start sessions on it)."
  value       = aws_instance.bastion.arn
}

output "security_group_id" {
  description = "The bastion's security group (admitted by the cluster API on 443)."
  value       = aws_security_group.bastion.id
}

output "tunnel_parameter_name" {
  description = "SSM parameter holding the instance ID and the cluster name, read by `cargo xtask tunnel`."
  value       = aws_ssm_parameter.tunnel.name
}

output "role_arn" {
  description = "ARN of the bastion's instance role (Systems Manager only)."
  value       = aws_iam_role.bastion.arn
}
