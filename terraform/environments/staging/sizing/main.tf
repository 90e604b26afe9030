# staging's sizing: how big staging is.
# What each field means: variable "sizing" in terraform/stack/variables.tf.
output "values" {
  description = "staging's sizing (the stack's `sizing`): production-like across three zones, smaller instances."
  value = {
    vpc_cidr = "10.1.0.0/16"
    az_count = 3

    node_groups = {
      system = {
        instance_types = ["t3.medium"]
        capacity_type  = "ON_DEMAND"
        min_size       = 1
        max_size       = 2
        desired_size   = 1
        labels         = { workload = "system" }
      }
      application = {
        instance_types = ["t3.medium"]
        capacity_type  = "ON_DEMAND"
        min_size       = 2
        max_size       = 4
        desired_size   = 2
        labels         = { workload = "application" }
      }
    }

    db_instance_class     = "db.t3.small"
    db_multi_az           = true
    backup_retention_days = 30
    # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
    db_max_allocated_storage_gb = 100

    cache_node_type = "cache.t3.small"
    cache_nodes     = 2
  }
}
