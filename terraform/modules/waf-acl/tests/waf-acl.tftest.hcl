# The rule set every web ACL gets, in order; the SQL database rule group where asked; each rule's
# metric; a CLOUDFRONT ACL only from us-east-1. Offline: the provider is mocked.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  acls = {
    cdn = {
      name                = "authorworks-production-cdn"
      description         = "In front of the CDN"
      scope               = "CLOUDFRONT"
      rate_limit_per_5min = 2000
      metric_names        = { known-bad-inputs = "authorworks-production-bad-inputs" }
    }
    alb = {
      name                = "authorworks-production-alb"
      description         = "On the ALB"
      scope               = "REGIONAL"
      sql_injection       = true
      rate_limit_per_5min = 500
    }
  }
  tags = { Team = "platform" }
}

run "each_acl_gets_the_rule_set_in_order" {
  command = plan

  assert {
    condition     = output.rule_names["cdn"] == ["common", "known-bad-inputs", "rate-limit"] && output.rule_names["alb"] == ["common", "known-bad-inputs", "sql-injection", "rate-limit"]
    error_message = "the managed groups first (SQL injection only where asked), the rate limit last"
  }
  assert {
    condition = toset(flatten([for r in aws_wafv2_web_acl.this["alb"].rule : [for s in r.statement : [for m in s.managed_rule_group_statement : "${r.name} ${m.vendor_name}/${m.name}"]]])) == toset([
      "common AWS/AWSManagedRulesCommonRuleSet", "known-bad-inputs AWS/AWSManagedRulesKnownBadInputsRuleSet", "sql-injection AWS/AWSManagedRulesSQLiRuleSet",
    ])
    error_message = "each managed rule is the AWS group of its name"
  }
  assert {
    condition     = alltrue([for r in aws_wafv2_web_acl.this["alb"].rule : length(r.override_action) == 1 && length(one(r.override_action).none) == 1 if r.name != "rate-limit"])
    error_message = "the managed groups act as their vendor sets them (override none)"
  }
  assert {
    condition     = one([for r in aws_wafv2_web_acl.this["alb"].rule : [for s in r.statement : [for b in s.rate_based_statement : "${b.limit} ${b.evaluation_window_sec} ${b.aggregate_key_type}"]] if r.name == "rate-limit"])[0] == ["500 300 IP"] && length(one([for r in aws_wafv2_web_acl.this["alb"].rule : r.action if r.name == "rate-limit"])[0].block) == 1
    error_message = "the rate limit counts each client address over five minutes and blocks beyond the caller's limit"
  }
  assert {
    condition     = length(one(aws_wafv2_web_acl.this["alb"].default_action).allow) == 1
    error_message = "what no rule blocks is allowed"
  }
}

run "metrics_are_named_after_the_acl_unless_the_caller_names_them" {
  command = plan

  assert {
    condition     = { for r in aws_wafv2_web_acl.this["alb"].rule : r.name => one(r.visibility_config).metric_name } == { common = "authorworks-production-alb-common", known-bad-inputs = "authorworks-production-alb-known-bad-inputs", sql-injection = "authorworks-production-alb-sql-injection", rate-limit = "authorworks-production-alb-rate-limit" }
    error_message = "a rule's metric is <ACL name>-<rule>"
  }
  assert {
    condition     = { for r in aws_wafv2_web_acl.this["cdn"].rule : r.name => one(r.visibility_config).metric_name }["known-bad-inputs"] == "authorworks-production-bad-inputs"
    error_message = "a metric the caller names keeps that name"
  }
  assert {
    condition     = alltrue([for r in aws_wafv2_web_acl.this["cdn"].rule : one(r.visibility_config).cloudwatch_metrics_enabled && one(r.visibility_config).sampled_requests_enabled]) && one(aws_wafv2_web_acl.this["cdn"].visibility_config).metric_name == "authorworks-production-cdn"
    error_message = "every rule and the ACL publish metrics and keep sampled requests"
  }
  assert {
    condition     = aws_wafv2_web_acl.this["cdn"].tags["Name"] == "authorworks-production-cdn" && aws_wafv2_web_acl.this["cdn"].tags["Team"] == "platform"
    error_message = "the ACL carries its name and the caller's tags"
  }
}

# Moved here from modules/cdn's tests with the ACL: a cdn module run with another Region's provider
# (dr's home, us-west-2) is refused.
run "a_cloudfront_web_acl_outside_us_east_1_is_refused" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }

  expect_failures = [aws_wafv2_web_acl.this["cdn"]]
}

run "a_regional_web_acl_may_be_anywhere" {
  command = plan

  variables {
    acls = { alb = { name = "authorworks-dr-alb", description = "On the ALB", scope = "REGIONAL", rate_limit_per_5min = 2000 } }
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }

  assert {
    condition     = output.scopes == { alb = "REGIONAL" }
    error_message = "a REGIONAL ACL plans in any Region"
  }
}

run "rate_limit_below_wafs_minimum_is_refused" {
  command = plan

  variables {
    acls = { alb = { name = "authorworks-dev-alb", description = "On the ALB", scope = "REGIONAL", rate_limit_per_5min = 5 } }
  }

  expect_failures = [var.acls]
}

run "a_metric_for_a_rule_outside_the_set_is_refused" {
  command = plan

  variables {
    acls = { alb = { name = "authorworks-dev-alb", description = "On the ALB", scope = "REGIONAL", rate_limit_per_5min = 2000, metric_names = { geo = "x" } } }
  }

  expect_failures = [var.acls]
}
