output "alert_topic_arn" {
  description = "SNS topic every alarm and budget alert goes to."
  value       = aws_sns_topic.alerts.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch overview dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail (null when enable_cloudtrail is off)."
  value       = try(aws_cloudtrail.this["this"].arn, null)
}

output "guardduty_detector_id" {
  description = "GuardDuty detector ID (null when disabled)."
  value       = try(aws_guardduty_detector.this[0].id, null)
}
