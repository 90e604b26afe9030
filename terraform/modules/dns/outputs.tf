output "zone_id" {
  description = "ID of the hosted zone."
  value       = aws_route53_zone.this.zone_id
}

output "zone_arn" {
  description = "ARN of the hosted zone."
  value       = aws_route53_zone.this.arn
}

output "name_servers" {
  description = "Name servers to delegate the domain to."
  value       = aws_route53_zone.this.name_servers
}

output "certificate_arn" {
  description = "ARN of the certificate for the domain and its wildcard (validated when validation is on)."
  value       = var.enable_certificate_validation ? aws_acm_certificate_validation.this[0].certificate_arn : aws_acm_certificate.this.arn
}

output "domain_name" {
  description = "The environment's domain."
  value       = var.domain_name
}
