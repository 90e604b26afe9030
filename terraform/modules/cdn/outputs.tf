output "distribution_id" {
  description = "ID of the distribution."
  value       = aws_cloudfront_distribution.media.id
}

output "distribution_arn" {
  description = "ARN of the distribution (the media bucket policy admits it)."
  value       = aws_cloudfront_distribution.media.arn
}

output "domain_name" {
  description = "The distribution's cloudfront.net name."
  value       = aws_cloudfront_distribution.media.domain_name
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL (null when WAF is off)."
  value       = try(module.waf.arns["cdn"], null)
}
