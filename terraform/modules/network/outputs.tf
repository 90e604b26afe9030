output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "The zones the subnets span (names in this account)."
  value       = local.azs
}

output "availability_zone_ids" {
  description = "The zone IDs the subnets span (the same physical zones in every account)."
  value       = local.zone_ids
}

output "public_subnet_ids" {
  description = "IDs of the public subnets."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "IDs of the database subnets."
  value       = aws_subnet.database[*].id
}

output "nat_public_ips" {
  description = "Public addresses of the NAT gateways (egress IPs to allow-list)."
  value       = aws_eip.nat[*].public_ip
}

output "security_group_ids" {
  description = "Security group ID per tier: alb, cluster (control-plane interfaces), nodes (the nodes and their pods), database, cache."
  value = {
    alb      = aws_security_group.alb.id
    cluster  = aws_security_group.cluster.id
    nodes    = aws_security_group.nodes.id
    database = aws_security_group.data["database"].id
    cache    = aws_security_group.data["cache"].id
  }
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint on the private route tables."
  value       = aws_vpc_endpoint.s3.id
}

output "interface_endpoint_ids" {
  description = "AWS service (ecr.api, ecr.dkr, sts, …) => ID of its interface endpoint."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}
