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

  # No cost filter: each environment is an account of its own, so the budget is what the account
  # spends — including what carries no tag (data transfer, support, tax, untagged resources). A tag
  # filter would only see costs of a cost-allocation tag someone activated, and only from then on.

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

# Cost Anomaly Detection allows one DIMENSIONAL/SERVICE ("AWS services") monitor per account (AWS
# Billing and Cost Management User Guide, Cost Anomaly Detection, "Monitor types"). A fresh account has none,
# so the default creates it; where the account has one already (made by hand, or by the organisation
# with the AWS-recommended setup), pass its ARN as existing_anomaly_monitor_arn and the subscription
# attaches to it — or adopt it into this state:
#   terraform import 'module.stack.module.budget[0].aws_ce_anomaly_monitor.this[0]' <monitor arn>
# (`aws ce get-anomaly-monitors` lists them).
locals {
  create_monitor = var.enable_anomaly_detection && var.existing_anomaly_monitor_arn == null
  monitor_arn    = var.existing_anomaly_monitor_arn != null ? var.existing_anomaly_monitor_arn : try(aws_ce_anomaly_monitor.this[0].arn, null)
}

resource "aws_ce_anomaly_monitor" "this" {
  count = local.create_monitor ? 1 : 0

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
  monitor_arn_list = [local.monitor_arn]

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
