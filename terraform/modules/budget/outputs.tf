output "budget_name" {
  description = "Name of the monthly budget."
  value       = aws_budgets_budget.monthly.name
}

output "monthly_limit_usd" {
  description = "The monthly budget in USD (cargo xtask cost-report gates on it)."
  value       = var.monthly_limit_usd
}

output "anomaly_monitor_arn" {
  description = "ARN of the cost anomaly monitor the subscription uses, created or existing (null when off)."
  value       = var.enable_anomaly_detection ? local.monitor_arn : null
}
