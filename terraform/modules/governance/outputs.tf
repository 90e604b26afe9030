output "config_recorder_name" {
  description = "Name of the AWS Config recorder (null where enable_config is off)."
  value       = try(aws_config_configuration_recorder.this[0].name, null)
}

output "config_rule_names" {
  description = "The AWS managed Config rules evaluated here."
  value       = [for r in aws_config_config_rule.this : r.name]
}

output "security_hub_standards" {
  description = "ARNs of the Security Hub standards this module subscribes to."
  value       = [for s in aws_securityhub_standards_subscription.fsbp : s.standards_arn]
}

output "access_analyzer_arn" {
  description = "ARN of the account's IAM Access Analyzer (null where it is off)."
  value       = try(aws_accessanalyzer_analyzer.this[0].arn, null)
}

output "finding_rule_names" {
  description = "The EventBridge rules that publish high-severity findings to the alert topic."
  value       = [for r in aws_cloudwatch_event_rule.findings : r.name]
}
