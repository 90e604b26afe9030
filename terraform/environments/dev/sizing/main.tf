# dev's sizing: how big dev is, and so local (dev's shape on the AWS emulator), whose root calls this
# module too: a change here is a change to both.
# What each field means: variable "sizing" in terraform/stack/variables.tf.
output "values" {
  description = "dev's sizing (the stack's `sizing`): one shared NAT, two zones, small and partly spot nodes, the smallest database and cache."
  value = {
    vpc_cidr           = "10.2.0.0/16"
    az_count           = 2
    single_nat_gateway = true

    node_groups = {
      system = {
        instance_types = ["t3.small"]
        capacity_type  = "ON_DEMAND"
        min_size       = 1
        max_size       = 2
        desired_size   = 1
        labels         = { workload = "system" }
      }
      # Spot: three types of one shape (2 vCPUs, 4 GiB), so one empty capacity pool takes no more than
      # its share; a 2 GiB shape has only two x86 types (t3.small, t3a.small).
      application = {
        instance_types = ["t3.medium", "t3a.medium", "c5.large"]
        capacity_type  = "SPOT"
        min_size       = 1
        max_size       = 3
        desired_size   = 1
        labels         = { workload = "application" }
      }
    }

    db_instance_class     = "db.t3.micro"
    backup_retention_days = 7
    # Storage autoscaling ceiling: at least 10% above the allocation (RDS refuses less).
    db_max_allocated_storage_gb = 50

    cache_node_type = "cache.t3.micro"
    cache_nodes     = 1
  }
}
