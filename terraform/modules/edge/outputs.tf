output "controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller)."
  value       = module.irsa.arns[local.service_account]
}

output "web_acl_arn" {
  description = "ARN of the load balancer's regional web ACL, or `none` where the environment has no WAF (the controller's documented value for \"no web ACL\": it removes any association)."
  value       = var.enable_waf ? module.waf.arns["alb"] : "none"
}

output "access_logs_prefix" {
  description = "Key prefix the load balancer's access logs are written under in the logs bucket (the storage module grants Elastic Load Balancing exactly that prefix)."
  value       = local.access_logs_prefix
}
