# CloudFront's rules: a us-east-1 certificate, aliases only with one, WAF's minimum rate.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  project                           = "authorworks"
  environment                       = "production"
  media_bucket_regional_domain_name = "authorworks-production-media.s3.us-east-1.amazonaws.com"
  aliases                           = ["media.authorworks.io"]
}

run "aliases_with_a_us_east_1_certificate_plan" {
  command = plan
  variables {
    publish_aliases = true
    certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    zone_id         = "Z0123456789ABCDEFGHIJ"
  }
  assert {
    condition     = length(aws_route53_record.alias) == 2
    error_message = "each alias gets an A and an AAAA record pointing at the distribution"
  }
}

run "not_yet_delegated_serves_the_default_name" {
  command = plan
  assert {
    condition     = length(aws_route53_record.alias) == 0 && length(aws_cloudfront_distribution.media.aliases) == 0
    error_message = "without publish_aliases the distribution answers only for its cloudfront.net name"
  }
}

run "certificate_outside_us_east_1_is_refused" {
  command = plan
  variables {
    publish_aliases = true
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    zone_id         = "Z0123456789ABCDEFGHIJ"
  }
  expect_failures = [aws_cloudfront_distribution.media]
}

run "aliases_without_a_certificate_are_refused" {
  command = plan
  variables {
    publish_aliases = true
  }
  expect_failures = [aws_cloudfront_distribution.media]
}

run "rate_limit_below_wafs_minimum_is_refused" {
  command = plan
  variables {
    rate_limit_per_5min = 50
  }
  expect_failures = [var.rate_limit_per_5min]
}

# The CLOUDFRONT web ACL can only be made in us-east-1: that run moved with the ACL to modules/waf-acl's
# tests (a_cloudfront_web_acl_outside_us_east_1_is_refused).
