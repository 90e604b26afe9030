output "arns" {
  description = "Key => ARN of the web ACL (what a CloudFront distribution's web_acl_id or the load balancer controller's wafv2AclArn names)."
  value       = { for k, a in aws_wafv2_web_acl.this : k => a.arn }
}

output "scopes" {
  description = "Key => scope of the web ACL (CLOUDFRONT or REGIONAL)."
  value       = { for k, a in aws_wafv2_web_acl.this : k => a.scope }
}

output "rule_names" {
  description = "Key => the web ACL's rules, in priority order (what a caller's tests and readers check it carries)."
  value       = { for k, a in aws_wafv2_web_acl.this : k => [for p in sort([for r in a.rule : format("%02d %s", r.priority, r.name)]) : substr(p, 3, -1)] }
}
