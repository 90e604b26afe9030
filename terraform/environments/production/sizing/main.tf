# production's sizing: how big production is, and so dr (production rebuilt in us-west-2 at a failover),
# whose root calls this module too: a change here is a change to both, so dr is never rebuilt smaller.
# What each field means: variable "sizing" in terraform/stack/variables.tf.
output "values" {
  description = "production's sizing (the stack's `sizing`): three zones, NAT per zone, 3-12 application nodes, Multi-AZ PostgreSQL, Redis in cluster mode."
  value = {
    vpc_cidr = "10.0.0.0/16"
    az_count = 3

    node_groups = {
      system = {
        instance_types = ["t3.large"]
        capacity_type  = "ON_DEMAND"
        min_size       = 2
        max_size       = 3
        desired_size   = 2
        labels         = { workload = "system" }
      }
      application = {
        instance_types = ["t3.large"]
        capacity_type  = "ON_DEMAND"
        min_size       = 3
        max_size       = 12
        desired_size   = 4
        labels         = { workload = "application" }
      }
    }

    db_instance_class       = "db.r5.large"
    db_allocated_storage_gb = 100
    db_multi_az             = true
    backup_retention_days   = 90
    # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
    db_max_allocated_storage_gb = 500

    cache_node_type          = "cache.r5.large"
    cache_cluster_mode       = true
    cache_shards             = 2
    cache_replicas_per_shard = 1
  }
}
