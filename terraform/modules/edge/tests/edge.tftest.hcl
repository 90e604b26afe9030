# Offline: the provider is mocked; each rule the module enforces has a run that must fail.

mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_elb_service_account" {
    defaults = { arn = "arn:aws:iam::127311923021:root" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  project           = "authorworks"
  cluster_name      = "authorworks-production-eks"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
  oidc_issuer       = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
  vpc_id            = "vpc-0123456789abcdef0"
}

run "production_has_the_web_acl" {
  command = plan
  variables {
    environment = "production"
    enable_waf  = true
  }
  # The ACL is the building block's (modules/waf-acl, whose tests check the rules each setting gets).
  assert {
    condition     = length(module.waf.arns) == 1 && module.waf.scopes["alb"] == "REGIONAL"
    error_message = "production gets one regional web ACL"
  }
  assert {
    condition     = module.waf.rule_names["alb"] == ["common", "known-bad-inputs", "sql-injection", "rate-limit"]
    error_message = "the web ACL carries the three managed rule groups and the rate limit"
  }
}

run "production_without_waf_is_refused" {
  command = plan
  variables {
    environment = "production"
    enable_waf  = false
  }
  expect_failures = [var.enable_waf]
}

run "dev_without_waf_tells_the_controller_none" {
  command = plan
  variables {
    environment = "dev"
    enable_waf  = false
  }
  assert {
    condition     = length(module.waf.arns) == 0 && output.web_acl_arn == "none"
    error_message = "without the WAF there is no web ACL and the controller is told `none`"
  }
}

run "issuer_with_scheme_is_refused" {
  command = plan
  variables {
    environment = "dev"
    oidc_issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
  }
  expect_failures = [var.oidc_issuer]
}

run "rate_limit_below_wafv2_minimum_is_refused" {
  command = plan
  variables {
    environment         = "staging"
    enable_waf          = true
    rate_limit_per_5min = 5
  }
  expect_failures = [var.rate_limit_per_5min]
}
