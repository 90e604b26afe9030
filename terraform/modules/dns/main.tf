data "aws_region" "current" {}

locals {
  name = "${var.project}-${var.environment}"
  # CloudFront takes its viewer certificate only from ACM in us-east-1 ("Requirements for using SSL/TLS
  # certificates with CloudFront", CloudFront Developer Guide). Where the environment's Region is
  # another (dr, in us-west-2), the same names get a second certificate there.
  separate_cloudfront_certificate = data.aws_region.current.name != "us-east-1"
}

resource "aws_route53_zone" "this" {
  #checkov:skip=CKV2_AWS_38:DNSSEC signing needs a KMS key in us-east-1 and a DS record at the parent registrar; it is enabled at the registrar, outside this stack.
  #checkov:skip=CKV2_AWS_39:Query logging for public zones must go to a log group in us-east-1; the platform's DNS traffic is visible in the ingress and CloudTrail logs.
  name    = var.domain_name
  comment = "${local.name}: managed by terraform; records by external-dns"
  tags    = merge(var.tags, { Name = "${local.name}-zone" })
}

# Only these certificate authorities may issue for the domain and its subdomains (RFC 8659): ACM for the
# load balancer and CloudFront (every public certificate here is ACM's). With no `issuewild`, `issue` covers
# wildcards too.
resource "aws_route53_record" "caa" {
  zone_id = aws_route53_zone.this.zone_id
  name    = var.domain_name
  type    = "CAA"
  ttl     = 3600
  records = [for issuer in var.caa_issuers : "0 issue \"${issuer}\""]
  # UPSERT rather than CREATE: the stack owns the apex CAA set, so a record left by an interrupted apply
  # (created in Route53, not yet in the state) is taken over instead of failing every rerun with
  # "already exists".
  allow_overwrite = true
}

resource "aws_acm_certificate" "this" {
  domain_name               = var.domain_name
  subject_alternative_names = ["*.${var.domain_name}"]
  validation_method         = "DNS"
  tags                      = merge(var.tags, { Name = "${local.name}-certificate" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for o in aws_acm_certificate.this.domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id         = aws_route53_zone.this.zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

# ACM issues only once its validation records resolve, which needs the parent zone (or the registrar)
# to delegate this zone to name_servers: a step outside this account. Until the environment says it is
# delegated (zone_delegated), nothing waits on it and nothing uses the certificate, so a first apply
# finishes; the apply after delegation waits here (minutes) and switches the consumers on.
resource "aws_acm_certificate_validation" "this" {
  count = var.zone_delegated ? 1 : 0

  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# The CloudFront certificate of an environment outside us-east-1: the same names, requested through the
# us-east-1 provider. ACM answers a domain of the account with the same validation CNAME in every
# Region, so the records above validate it too (checked after creation: the postcondition).
resource "aws_acm_certificate" "cloudfront" {
  count    = local.separate_cloudfront_certificate ? 1 : 0
  provider = aws.us_east_1

  domain_name               = var.domain_name
  subject_alternative_names = ["*.${var.domain_name}"]
  validation_method         = "DNS"
  tags                      = merge(var.tags, { Name = "${local.name}-cloudfront-certificate" })

  lifecycle {
    create_before_destroy = true
    postcondition {
      condition     = toset([for o in self.domain_validation_options : "${o.resource_record_name} ${o.resource_record_value}"]) == toset([for o in aws_acm_certificate.this.domain_validation_options : "${o.resource_record_name} ${o.resource_record_value}"])
      error_message = "ACM asks the us-east-1 certificate of ${var.domain_name} for other validation records than the regional one; the zone holds only the regional one's."
    }
  }
}

resource "aws_acm_certificate_validation" "cloudfront" {
  count    = var.zone_delegated && local.separate_cloudfront_certificate ? 1 : 0
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.cloudfront[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# Child zones of this domain (another environment's, in its own account) delegated from here: their
# name servers are that environment's `name_servers` output, copied after its first apply.
resource "aws_route53_record" "delegation" {
  for_each = var.delegations

  zone_id = aws_route53_zone.this.zone_id
  name    = each.key
  type    = "NS"
  ttl     = 172800
  records = each.value
}

# The environment's mail-sending identity: notification-service sends from addresses of this domain
# through SES (its IRSA role may send from exactly this identity). Easy DKIM signs its mail with keys
# SES publishes under three CNAME records in the zone; once they resolve (the zone delegated), SES
# verifies the domain through them, so no legacy TXT record is needed ("Easy DKIM in Amazon SES", SES
# Developer Guide: a domain whose DKIM records are found is verified). A new account's SES sends only
# to verified recipients (the sandbox) until production access is requested: docs/INFRASTRUCTURE.md,
# first apply in a new account.
resource "aws_ses_domain_identity" "this" {
  domain = var.domain_name
}

resource "aws_ses_domain_dkim" "this" {
  domain = aws_ses_domain_identity.this.domain
}

# Easy DKIM always returns three tokens (VerifyDomainDkim), known only after apply: hence a count.
resource "aws_route53_record" "dkim" {
  count = 3

  zone_id         = aws_route53_zone.this.zone_id
  name            = "${aws_ses_domain_dkim.this.dkim_tokens[count.index]}._domainkey.${var.domain_name}"
  type            = "CNAME"
  ttl             = 1800
  records         = ["${aws_ses_domain_dkim.this.dkim_tokens[count.index]}.dkim.amazonses.com"]
  allow_overwrite = true
}
