output "project_name" {
  description = "The CodeBuild project whose runners serve the environment's cluster jobs (`{project}-{env}-ci-runner`); null until the GitHub connection is authorised."
  value       = try(aws_codebuild_project.runner[0].name, null)
}

output "runner_label" {
  description = "The `runs-on:` label a workflow job uses to run on this project's runners (null until the project exists)."
  value       = try("codebuild-${aws_codebuild_project.runner[0].name}-$${{ github.run_id }}-$${{ github.run_attempt }}", null)
}

output "connection_arn" {
  description = "ARN of the GitHub connection (AWS CodeConnections): complete it in the console while it is PENDING (null where it is left out)."
  value       = local.connection_arn
}

output "security_group_id" {
  description = "The runners' security group (admitted by the cluster API on 443)."
  value       = aws_security_group.runner.id
}

output "role_arn" {
  description = "ARN of the runners' CodeBuild service role."
  value       = aws_iam_role.runner.arn
}
