# Run with the us-east-1 provider (the stack's aws.us_east_1): CloudFront is global, and a web ACL of
# scope CLOUDFRONT exists only in us-east-1 ("For CLOUDFRONT, you must create your WAFv2 resources in
# the US East (N. Virginia) Region, us-east-1", WAFV2 API Reference, CreateWebACL Scope): modules/waf-acl
# refuses it elsewhere.

locals {
  name      = "${var.project}-${var.environment}"
  origin_id = "media"
  # AWS managed cache and header policies (stable IDs published by CloudFront).
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  security_headers_policy_id  = "67f7725c-6f97-4210-82d7-5512b31e9d03"
}

resource "aws_cloudfront_origin_access_control" "media" {
  name                              = "${local.name}-media"
  description                       = "CloudFront reads the media bucket with SigV4"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# The web ACL in front of the distribution: the platform's rule set (modules/waf-acl: the common and
# known-bad-inputs managed groups, a per-address rate limit), scope CLOUDFRONT. Not logged: WAF logging
# needs a Firehose or a log group named aws-waf-logs-* in us-east-1; sampled requests and CloudWatch
# metrics are kept instead.
module "waf" {
  source = "../waf-acl"

  acls = var.enable_waf ? {
    cdn = {
      name                = "${local.name}-cdn"
      description         = "In front of ${local.name}'s CDN"
      scope               = "CLOUDFRONT"
      rate_limit_per_5min = var.rate_limit_per_5min
      # The metric names the CDN's ACL had before the building block.
      metric_names = { common = "${local.name}-common", known-bad-inputs = "${local.name}-bad-inputs", rate-limit = "${local.name}-rate-limit" }
    }
  } : {}
  tags = var.tags
}

# State written before the building block existed keeps its web ACL.
moved {
  from = aws_wafv2_web_acl.this[0]
  to   = module.waf.aws_wafv2_web_acl.this["cdn"]
}

resource "aws_cloudfront_distribution" "media" {
  #checkov:skip=CKV_AWS_305:The media CDN serves objects by key; there is no index page to default to.
  #checkov:skip=CKV_AWS_86:Standard logging needs an ACL-enabled bucket; the platform's buckets enforce owner-only access. Request metrics are in CloudWatch.
  #checkov:skip=CKV_AWS_310:One origin (the media bucket); there is nothing to fail over to within the region.
  #checkov:skip=CKV_AWS_374:Geo restriction is a business decision: AuthorWorks serves readers everywhere.
  #checkov:skip=CKV_AWS_68:WAF is attached in production (enable_waf); dev and staging CDNs serve test media only.
  #checkov:skip=CKV2_AWS_47:The common rule set is attached whenever WAF is (enable_waf); Log4j-specific rules guard Java origins, and the origin here is S3.
  #checkov:skip=CKV_AWS_174:With aliases (publish_aliases, once the zone is delegated) the minimum is TLSv1.2_2021; until then the distribution answers only for its cloudfront.net name, whose default certificate CloudFront fixes at TLSv1.
  #checkov:skip=CKV2_AWS_32:A security-headers response policy is attached (managed SecurityHeadersPolicy).
  enabled         = true
  is_ipv6_enabled = true
  comment         = "${local.name} media"
  price_class     = var.price_class
  aliases         = var.publish_aliases ? var.aliases : []
  web_acl_id      = var.enable_waf ? module.waf.arns["cdn"] : null
  http_version    = "http2and3"

  origin {
    origin_id                = local.origin_id
    domain_name              = var.media_bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.media.id
  }

  default_cache_behavior {
    target_origin_id           = local.origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = local.security_headers_policy_id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = !var.publish_aliases
    acm_certificate_arn            = var.publish_aliases ? var.certificate_arn : null
    ssl_support_method             = var.publish_aliases ? "sni-only" : null
    minimum_protocol_version       = var.publish_aliases ? "TLSv1.2_2021" : "TLSv1"
  }

  tags = merge(var.tags, { Name = "${local.name}-media" })

  lifecycle {
    # CloudFront takes viewer certificates only from ACM in us-east-1 (CloudFront Developer Guide,
    # "Requirements for using SSL/TLS certificates with CloudFront").
    precondition {
      condition     = !var.publish_aliases || (var.certificate_arn != null && var.zone_id != null)
      error_message = "publish_aliases needs certificate_arn and zone_id: CloudFront refuses aliases without a certificate covering them."
    }
    precondition {
      condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:", var.certificate_arn))
      error_message = "CloudFront needs its viewer certificate from ACM in us-east-1: certificate_arn = ${coalesce(var.certificate_arn, "null")}."
    }
  }
}

# The names the distribution answers for, pointed at it (nothing else creates them: external-dns only
# publishes Kubernetes ingress hosts).
resource "aws_route53_record" "alias" {
  for_each = !var.publish_aliases ? {} : { for p in setproduct(var.aliases, ["A", "AAAA"]) : "${p[0]} ${p[1]}" => { name = p[0], type = p[1] } }

  zone_id = var.zone_id
  name    = each.value.name
  type    = each.value.type

  alias {
    name                   = aws_cloudfront_distribution.media.domain_name
    zone_id                = aws_cloudfront_distribution.media.hosted_zone_id
    evaluate_target_health = false
  }
}
