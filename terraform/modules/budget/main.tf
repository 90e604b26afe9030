locals {
  name = "${var.project}-${var.environment}"
  # Alerts at 80% and 100% of actual spend, and when the forecast passes 100%.
  notifications = {
    actual-80    = { type = "ACTUAL", threshold = 80 }
    actual-100   = { type = "ACTUAL", threshold = 100 }
    forecast-100 = { type = "FORECASTED", threshold = 100 }
  }
}

resource "aws_budgets_budget" "monthly" {
  name         = "${local.name}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  # Only what carries this project's cost-allocation tag (the provider's default_tags). Budgets ORs the
  # values of one filter, so Project and Environment can't be ANDed here; each environment has an
  # account of its own, which narrows the budget to the environment.
  cost_filter {
    name   = "TagKeyValue"
    values = ["user:Project$${var.project}"]
  }

  dynamic "notification" {
    for_each = local.notifications
    content {
      comparison_operator        = "GREATER_THAN"
      threshold                  = notification.value.threshold
      threshold_type             = "PERCENTAGE"
      notification_type          = notification.value.type
      subscriber_sns_topic_arns  = [var.alert_topic_arn]
      subscriber_email_addresses = var.alert_emails
    }
  }

  tags = merge(var.tags, { Name = "${local.name}-monthly" })
}

resource "aws_ce_anomaly_monitor" "this" {
  count = var.enable_anomaly_detection ? 1 : 0

  name         = "${local.name}-services"
  monitor_type = "DIMENSIONAL"
  # One service-level monitor per account is AWS's recommended shape.
  monitor_dimension = "SERVICE"
  tags              = merge(var.tags, { Name = "${local.name}-services" })
}

resource "aws_ce_anomaly_subscription" "this" {
  count = var.enable_anomaly_detection ? 1 : 0

  name             = "${local.name}-anomalies"
  frequency        = "IMMEDIATE"
  monitor_arn_list = [aws_ce_anomaly_monitor.this[0].arn]

  subscriber {
    type    = "SNS"
    address = var.alert_topic_arn
  }

  threshold_expression {
    dimension {
      key           = "ANOMALY_TOTAL_IMPACT_ABSOLUTE"
      match_options = ["GREATER_THAN_OR_EQUAL"]
      values        = [tostring(var.anomaly_threshold_usd)]
    }
  }

  tags = merge(var.tags, { Name = "${local.name}-anomalies" })
}
