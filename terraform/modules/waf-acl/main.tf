# WAFv2 web ACLs with the platform's rule set, written once for the CDN's (scope CLOUDFRONT, made with
# the us-east-1 provider) and the load balancer's (scope REGIONAL). Requests are allowed unless a rule
# blocks them; in priority order:
# - AWS managed rule groups (AWS WAF developer guide, "Baseline rule groups" and "Use-case specific rule
#   groups"): the common rule set, known bad inputs (which carries the Log4j CVE-2021-44228 rules) and,
#   where the origin runs SQL (`sql_injection`), the SQL database rule set; each as its vendor sets it
#   (override none);
# - a rate limit per client address over five minutes, blocked beyond it.
# The baseline groups and the rate limit are written out rule by rule rather than with a dynamic block,
# so that checkov sees them. Every rule and the ACL publish CloudWatch metrics and keep sampled requests.
#
# A map of ACLs rather than one per module instance, like the other building blocks: a caller's ACL is
# `module.<call>.aws_wafv2_web_acl.this["<key>"]` and an environment without WAF passes an empty map.

data "aws_region" "current" {}

locals {
  # The metric of each rule: the caller's name for it, or "<ACL name>-<rule>".
  metric = { for k, a in var.acls : k => merge(
    { for rule in ["common", "known-bad-inputs", "sql-injection", "rate-limit"] : rule => "${a.name}-${rule}" },
    a.metric_names,
  ) }
}

resource "aws_wafv2_web_acl" "this" {
  #checkov:skip=CKV2_AWS_31:Logging is the caller's to decide (a Firehose or an aws-waf-logs-* log group in the ACL's Region); sampled requests and per-rule CloudWatch metrics are kept here. The callers say what records requests instead.
  for_each = var.acls

  name        = each.value.name
  description = each.value.description
  scope       = each.value.scope

  default_action {
    allow {}
  }

  rule {
    name     = "common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = local.metric[each.key]["common"]
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = local.metric[each.key]["known-bad-inputs"]
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = each.value.sql_injection ? [1] : []
    content {
      name     = "sql-injection"
      priority = 3
      override_action {
        none {}
      }
      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = "AWSManagedRulesSQLiRuleSet"
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = local.metric[each.key]["sql-injection"]
        sampled_requests_enabled   = true
      }
    }
  }

  rule {
    name     = "rate-limit"
    priority = each.value.sql_injection ? 4 : 3
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = each.value.rate_limit_per_5min
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = local.metric[each.key]["rate-limit"]
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = each.value.name
    sampled_requests_enabled   = true
  }

  tags = merge(var.tags, { Name = each.value.name })

  lifecycle {
    precondition {
      condition     = each.value.scope != "CLOUDFRONT" || data.aws_region.current.name == "us-east-1"
      error_message = "WAF rule: a CLOUDFRONT web ACL is created in us-east-1 (\"For CLOUDFRONT, you must create your WAFv2 resources in the US East (N. Virginia) Region\", WAFV2 API Reference, CreateWebACL Scope); ${each.value.name} would be made in ${data.aws_region.current.name}. Call the module with the us-east-1 provider (providers = { aws = aws.us_east_1 })."
    }
  }
}
