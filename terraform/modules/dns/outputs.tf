output "zone_id" {
  description = "ID of the hosted zone."
  value       = aws_route53_zone.this.zone_id
}

output "zone_arn" {
  description = "ARN of the hosted zone."
  value       = aws_route53_zone.this.arn
}

output "name_servers" {
  description = "Name servers to delegate the domain to: NS records in the parent zone (another environment's `delegations`) or at the registrar."
  value       = aws_route53_zone.this.name_servers
}

output "certificate_arn" {
  description = "ARN of the issued certificate for the domain and its wildcard; null until zone_delegated (nothing may use a certificate ACM has not issued)."
  value       = var.zone_delegated ? aws_acm_certificate_validation.this[0].certificate_arn : null
}

output "domain_name" {
  description = "The environment's domain."
  value       = var.domain_name
}

output "email_identity_arn" {
  description = "ARN of the domain's SES identity (notification-service sends from it)."
  value       = aws_ses_domain_identity.this.arn
}

output "cloudfront_certificate_arn" {
  description = "ARN of the issued certificate CloudFront uses (in us-east-1: the regional one there, a second one elsewhere); null until zone_delegated."
  value       = !var.zone_delegated ? null : local.separate_cloudfront_certificate ? aws_acm_certificate_validation.cloudfront[0].certificate_arn : aws_acm_certificate_validation.this[0].certificate_arn
}
