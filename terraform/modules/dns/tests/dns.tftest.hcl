# The zone's rules: delegation before certificate validation, delegations only of subdomains.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

mock_provider "aws" {
  alias = "us_east_1"
}

# What the provider knows at plan time: one validation record per name (the apex and the wildcard share it).
override_resource {
  target          = aws_acm_certificate.this
  override_during = plan
  values = {
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    domain_validation_options = [
      { domain_name = "authorworks.io", resource_record_name = "_x.authorworks.io.", resource_record_type = "CNAME", resource_record_value = "_y.acm-validations.aws." },
    ]
  }
}

# Easy DKIM's three tokens, known to the provider after VerifyDomainDkim.
override_resource {
  target          = aws_ses_domain_dkim.this
  override_during = plan
  values = {
    dkim_tokens = ["token1", "token2", "token3"]
  }
}

variables {
  project     = "authorworks"
  environment = "production"
  domain_name = "authorworks.io"
}

run "undelegated_zone_waits_on_nothing" {
  command = plan
  variables {
    zone_delegated = false
  }
  assert {
    condition     = length(aws_acm_certificate_validation.this) == 0 && output.certificate_arn == null
    error_message = "an undelegated zone must not wait for ACM, nor hand out an unissued certificate"
  }
}

run "the_domain_sends_mail_signed_with_easy_dkim" {
  command = plan
  variables {
    zone_delegated = false
  }
  assert {
    condition     = aws_ses_domain_identity.this.domain == "authorworks.io" && aws_route53_record.dkim[1].name == "token2._domainkey.authorworks.io" && aws_route53_record.dkim[1].records == toset(["token2.dkim.amazonses.com"])
    error_message = "the domain's SES identity, its three DKIM CNAMEs in the zone"
  }
}

run "delegated_zone_validates_and_delegates_children" {
  command = plan
  variables {
    zone_delegated = true
    delegations    = { "dev.authorworks.io" = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"] }
  }
  assert {
    condition     = length(aws_acm_certificate_validation.this) == 1 && aws_route53_record.delegation["dev.authorworks.io"].type == "NS"
    error_message = "a delegated zone validates its certificate and delegates its children"
  }
}

run "delegation_outside_the_domain_is_refused" {
  command = plan
  variables {
    zone_delegated = true
    delegations    = { "dev.example.com" = ["ns-1.awsdns-01.org"] }
  }
  expect_failures = [var.delegations]
}

run "delegation_without_name_servers_is_refused" {
  command = plan
  variables {
    zone_delegated = true
    delegations    = { "dev.authorworks.io" = [] }
  }
  expect_failures = [var.delegations]
}

run "uppercase_domain_is_refused" {
  command = plan
  variables {
    zone_delegated = false
    domain_name    = "AuthorWorks.io"
  }
  expect_failures = [var.domain_name]
}

# In us-east-1 CloudFront uses the environment's certificate; in another Region (dr) a second one is
# requested in us-east-1 for the same names.
run "in_us_east_1_cloudfront_shares_the_certificate" {
  command = plan
  variables {
    zone_delegated = true
  }
  assert {
    condition     = length(aws_acm_certificate.cloudfront) == 0
    error_message = "no second certificate in us-east-1"
  }
}

run "outside_us_east_1_cloudfront_gets_its_own_certificate_there" {
  command = plan
  variables {
    zone_delegated = true
  }
  override_data {
    target = data.aws_region.current
    values = { name = "us-west-2" }
  }
  assert {
    condition     = length(aws_acm_certificate.cloudfront) == 1 && length(aws_acm_certificate_validation.cloudfront) == 1
    error_message = "a certificate for CloudFront in us-east-1, validated through the zone's records"
  }
}
