# What the xtask's later steps read (kubeconfig, helm --set, backup, schedule, cost).

output "region" {
  description = "The environment's region."
  value       = data.aws_region.current.name
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint (private: reached from the CI runners and through `cargo xtask tunnel`; public too only for api_public_access_cidrs)."
  value       = module.eks.cluster_endpoint
}

output "node_group_names" {
  description = "Managed node group names (cargo xtask schedule scales them)."
  value       = module.eks.node_group_names
}

output "db_instance_identifier" {
  description = "RDS primary (cargo xtask backup snapshots it)."
  value       = module.database.instance_identifier
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master password in."
  value       = module.database.master_secret_arn
}

output "db_address" {
  description = "Host name of the PostgreSQL primary (PgBouncer's upstream)."
  value       = module.database.address
}

output "app_secret_names" {
  description = "Application secret => its Secrets Manager name `<project>/<env>/app/<name>` (values are set out of band; the overlay's ExternalSecrets read them)."
  value       = module.security.application_secret_names
}

output "db_secret_names" {
  description = "Service => name of its database login secret `<project>/<env>/db/<service>` (JSON username, password)."
  value       = module.database_logins.service_secret_names
}

output "workload_role_arns" {
  description = "Service => ARN of its IRSA role (the ServiceAccount annotation eks.amazonaws.com/role-arn)."
  value       = module.workloads.role_arns
}

output "ebs_kms_key_arn" {
  description = "KMS key the gp3 StorageClass encrypts volumes with (the eks key)."
  value       = module.security.kms_key_arns["eks"]
}

output "backup_retention_days" {
  description = "How long backups are kept (cargo xtask backup prunes its snapshots past it)."
  value       = var.sizing.backup_retention_days
}

output "backups_bucket" {
  description = "The backups bucket (state copies land here)."
  value       = module.storage.bucket_names["backups"]
}

output "bucket_names" {
  description = "Bucket name per purpose."
  value       = module.storage.bucket_names
}

output "dr_backup_kms_key_arn" {
  description = "KMS key in the DR region that snapshot copies are encrypted with (null without DR)."
  value       = module.storage.replica_kms_key_arn
}

output "cache_endpoint" {
  description = "Redis endpoint (null where the cache is left out)."
  value       = try(module.cache[0].primary_endpoint, null)
}

output "cache_replication_group_id" {
  description = "Redis replication group ID, the host name a service's IAM authentication token is signed for (null where the cache is left out)."
  value       = try(module.cache[0].replication_group_id, null)
}

output "cache_user_names" {
  description = "Service => the Redis user it connects as with IAM authentication, keys under `<service>:` (null where the cache is left out)."
  value       = try(module.cache[0].user_names, null)
}

output "vpc_id" {
  description = "VPC ID."
  value       = module.network.vpc_id
}

output "domain_name" {
  description = "The environment's domain."
  value       = module.dns.domain_name
}

output "zone_id" {
  description = "Route53 zone ID (external-dns)."
  value       = module.dns.zone_id
}

output "certificate_arn" {
  description = "ACM certificate for the domain and its wildcard (ingress TLS at the load balancer)."
  value       = module.dns.certificate_arn
}

output "alertmanager_role_arn" {
  description = "IRSA role of Alertmanager (monitoring/alertmanager): publishes alerts to the alert topic."
  value       = module.security.controller_role_arns["alertmanager"]
}

output "external_dns_role_arn" {
  description = "IRSA role of external-dns."
  value       = module.security.controller_role_arns["external-dns"]
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role of the cluster autoscaler."
  value       = module.security.controller_role_arns["cluster-autoscaler"]
}

output "external_secrets_role_arn" {
  description = "IRSA role of external-secrets."
  value       = module.security.controller_role_arns["external-secrets"]
}

output "ebs_csi_role_arn" {
  description = "IRSA role of the EBS CSI driver."
  value       = module.security.controller_role_arns["ebs-csi"]
}

output "github_deploy_role_arn" {
  description = "Role GitHub Actions assumes to deploy (set it as the variable AWS_DEPLOY_ROLE_ARN of the GitHub environment <env>)."
  value       = module.security.github_deploy_role_arn
}

output "aws_load_balancer_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller."
  value       = module.edge.controller_role_arn
}

output "alb_security_group_id" {
  description = "The ALB's security group (the network module's `alb` tier): the gateway Ingress binds it as `$${terraform:alb_security_group_id}`, so every environment's overlay, dr's production overlay too, names its own."
  value       = module.network.security_group_ids["alb"]
}

output "alb_web_acl_arn" {
  description = "Regional web ACL the controller associates with the ALB, or `none` where the environment has no WAF."
  value       = module.edge.web_acl_arn
}

output "alb_access_logs_bucket" {
  description = "Bucket the ALB writes its access logs to (the logs bucket)."
  value       = module.storage.bucket_names["logs"]
}

output "alb_access_logs_prefix" {
  description = "Key prefix of the ALB's access logs in that bucket."
  value       = module.edge.access_logs_prefix
}

output "github_operations_role_arn" {
  description = "Role the operations workflow assumes (set it as the variable AWS_OPERATIONS_ROLE_ARN of the GitHub environment operations-<env>)."
  value       = module.security.github_operations_role_arn
}

output "cluster_role_arns" {
  description = "The people's roles (assumed with MFA), the Kubernetes group each maps to and whether it is cluster admin."
  value       = module.security.cluster_role_arns
}

output "github_plan_role_arn" {
  description = "Read-only role the plan jobs assume (pull requests' plans; the plan jobs on main): terraform plan with refresh, the state lock, nothing else written. Set it as a repository variable for the plan workflows (docs/INFRASTRUCTURE.md)."
  value       = module.security.github_plan_role_arn
}

output "github_subjects" {
  description = "The OIDC subject each GitHub role trusts (deploy, operations, plan): the repository's subject is customised to repo, context and job_workflow_ref (docs/SECURITY.md)."
  value       = module.security.github_subjects
}

output "ci_runner_project" {
  description = "CodeBuild project whose runners serve this environment's cluster jobs (`{project}-{env}-ci-runner`): runs-on codebuild-<it>-$${{ github.run_id }}-$${{ github.run_attempt }}. Null until the GitHub connection is authorised."
  value       = module.ci_runner.project_name
}

output "ci_runner_connection_arn" {
  description = "The runners' GitHub connection (AWS CodeConnections): complete it in the console while it is PENDING (docs/INFRASTRUCTURE.md, First apply in a new account); null where it is left out."
  value       = module.ci_runner.connection_arn
}

output "bastion_instance_id" {
  description = "The SSM-managed instance `cargo xtask tunnel <env>` port-forwards through to the private API endpoint."
  value       = module.bastion.instance_id
}

output "name_servers" {
  description = "The zone's name servers: delegate domain_name to them (parent environment's dns_delegations, or the registrar), then set dns_delegated = true."
  value       = module.dns.name_servers
}

output "alert_topic_arn" {
  description = "SNS topic of every alert."
  value       = module.monitoring.alert_topic_arn
}

output "cdn_domain_name" {
  description = "CloudFront domain of the media CDN (null where the CDN is left out)."
  value       = try(module.cdn[0].domain_name, null)
}

output "monthly_budget_usd" {
  description = "The monthly budget (cargo xtask cost-report's gate)."
  value       = var.monthly_budget_usd
}

output "db_backups_replication_arn" {
  description = "ARN of the database's automated backups replicated to the DR region (arn:aws:rds:<dr region>:<account>:auto-backup:ab-…): what the dr environment restores from (TF_VAR_db_restore_automated_backups_arn); null without DR."
  value       = module.database.backups_replication_arn
}

output "config_recorder_name" {
  description = "The AWS Config recorder of this account and region (null where the organisation's records it)."
  value       = module.governance.config_recorder_name
}

output "loki_role_arn" {
  description = "IRSA role of Loki (monitoring/loki): its chunks and index in the loki bucket."
  value       = module.security.controller_role_arns["loki"]
}

output "loki_bucket" {
  description = "The bucket Loki keeps its chunks and index in (helm-values/loki: loki.storage.bucketNames.chunks)."
  value       = module.storage.bucket_names["loki"]
}

output "registry_host" {
  description = "The environment's ECR registry host, <account>.dkr.ecr.<region>.amazonaws.com (the overlays' images name it)."
  value       = module.ecr.registry_host
}

output "repository_urls" {
  description = "Service => its ECR repository URL."
  value       = module.ecr.repository_urls
}

output "ecr_push_role_arns" {
  description = "Service => the role its own CI assumes to push its image (set as that repository's AWS_ECR_PUSH_ROLE_ARN)."
  value       = module.ecr.push_role_arns
}

output "pull_through_cache_prefixes" {
  description = "Cache prefix => upstream registry: <registry_host>/<prefix>/<path> pulls <upstream>/<path> through ECR."
  value       = module.ecr.pull_through_cache_prefixes
}

output "ecr_upstream_secret_names" {
  description = "Cache prefix => the Secrets Manager secret a person fills once per account with the upstream login (username, accessToken)."
  value       = module.ecr.upstream_secret_names
}
