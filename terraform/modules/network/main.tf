# Zones are chosen by zone ID, not by name: a name (us-east-1a) maps to a different physical zone in
# every account, a zone ID (use1-az1) to the same one. EKS refuses a cluster whose subnets are in
# use1-az3 (us-east-1), usw1-az2 (us-west-1) or cac1-az3 (ca-central-1) (EKS User Guide, "View Amazon
# EKS networking requirements for VPC and subnets": UnsupportedAvailabilityZoneException), so those
# are never chosen; Local and Wavelength Zones are not availability zones and are left out too.
locals {
  eks_unsupported_zone_ids = ["use1-az3", "usw1-az2", "cac1-az3"]
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:The first az_count zone IDs in sorted order are taken; zone IDs are the same physical zones in every account, so the choice is stable.
  state            = "available"
  exclude_zone_ids = local.eks_unsupported_zone_ids

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }
}

locals {
  name = "${var.project}-${var.environment}"
  # The zone IDs taken (the first az_count in sorted order) and their names in this account.
  zone_name_of = zipmap(data.aws_availability_zones.available.zone_ids, data.aws_availability_zones.available.names)
  zone_ids     = slice(sort(data.aws_availability_zones.available.zone_ids), 0, min(var.az_count, length(data.aws_availability_zones.available.zone_ids)))
  azs          = [for id in local.zone_ids : local.zone_name_of[id]]
  # One NAT per zone, or one shared by all.
  nat_count = var.single_nat_gateway ? 1 : var.az_count
  vpc_bits  = tonumber(split("/", var.vpc_cidr)[1])
  subnets_outside_vpc = [
    for c in concat(var.public_subnet_cidrs, var.private_subnet_cidrs, var.database_subnet_cidrs) : c
    if tonumber(split("/", c)[1]) < local.vpc_bits || cidrsubnet("${cidrhost(c, 0)}/${local.vpc_bits}", 0, 0) != cidrsubnet(var.vpc_cidr, 0, 0)
  ]
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = "${local.name}-vpc" })

  lifecycle {
    precondition {
      condition     = length(var.public_subnet_cidrs) == var.az_count && length(var.private_subnet_cidrs) == var.az_count && length(var.database_subnet_cidrs) == var.az_count
      error_message = "give exactly one public, one private and one database subnet per zone (az_count)."
    }
    precondition {
      condition     = length(local.zone_ids) == var.az_count
      error_message = "the region has ${length(local.zone_ids)} availability zones EKS accepts (zone IDs ${join(", ", sort(data.aws_availability_zones.available.zone_ids))}, less ${join(", ", local.eks_unsupported_zone_ids)}); az_count is ${var.az_count}."
    }
    precondition {
      condition     = length(setintersection(local.zone_ids, local.eks_unsupported_zone_ids)) == 0
      error_message = "EKS refuses subnets in zone IDs ${join(", ", local.eks_unsupported_zone_ids)} (UnsupportedAvailabilityZoneException); chosen: ${join(", ", local.zone_ids)}."
    }
    # EC2 CreateSubnet: a subnet's CIDR must lie inside its VPC's.
    precondition {
      condition     = length(local.subnets_outside_vpc) == 0
      error_message = "EC2 CreateSubnet: every subnet must lie inside the VPC ${var.vpc_cidr}; outside it: ${join(", ", local.subnets_outside_vpc)}."
    }
  }
}

# The default security group allows nothing.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${local.name}-default-deny" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${local.name}-igw" })
}

resource "aws_subnet" "public" {
  count = var.az_count

  vpc_id               = aws_vpc.this.id
  cidr_block           = var.public_subnet_cidrs[count.index]
  availability_zone_id = local.zone_ids[count.index]
  tags = merge(var.tags, {
    Name                                        = "${local.name}-public-${local.azs[count.index]}"
    "kubernetes.io/role/elb"                    = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  })
}

resource "aws_subnet" "private" {
  count = var.az_count

  vpc_id               = aws_vpc.this.id
  cidr_block           = var.private_subnet_cidrs[count.index]
  availability_zone_id = local.zone_ids[count.index]
  tags = merge(var.tags, {
    Name                                        = "${local.name}-private-${local.azs[count.index]}"
    "kubernetes.io/role/internal-elb"           = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  })
}

resource "aws_subnet" "database" {
  count = var.az_count

  vpc_id               = aws_vpc.this.id
  cidr_block           = var.database_subnet_cidrs[count.index]
  availability_zone_id = local.zone_ids[count.index]
  tags                 = merge(var.tags, { Name = "${local.name}-database-${local.azs[count.index]}" })
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"
  tags   = merge(var.tags, { Name = "${local.name}-nat-${count.index}" })
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(var.tags, { Name = "${local.name}-nat-${local.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${local.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = var.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  count = var.az_count

  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${local.name}-private-${local.azs[count.index]}" })
}

resource "aws_route" "private_nat" {
  count = var.az_count

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

resource "aws_route_table_association" "private" {
  count = var.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# The database tier has no route out of the VPC.
resource "aws_route_table" "database" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${local.name}-database" })
}

resource "aws_route_table_association" "database" {
  count = var.az_count

  subnet_id      = aws_subnet.database[count.index].id
  route_table_id = aws_route_table.database.id
}

# Network ACL on the database tier: PostgreSQL and Redis from the private subnets, their replies.
resource "aws_network_acl" "database" {
  vpc_id     = aws_vpc.this.id
  subnet_ids = aws_subnet.database[*].id
  tags       = merge(var.tags, { Name = "${local.name}-database" })
}

resource "aws_network_acl_rule" "database_in" {
  for_each = { for i, pair in setproduct(var.private_subnet_cidrs, [5432, 6379]) : "${pair[0]}-${pair[1]}" => { cidr = pair[0], port = pair[1], n = i } }

  network_acl_id = aws_network_acl.database.id
  rule_number    = 100 + each.value.n
  egress         = false
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = each.value.cidr
  from_port      = each.value.port
  to_port        = each.value.port
}

resource "aws_network_acl_rule" "database_replies" {
  for_each = { for i, cidr in var.private_subnet_cidrs : cidr => i }

  network_acl_id = aws_network_acl.database.id
  rule_number    = 100 + each.value
  egress         = true
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = each.key
  from_port      = 1024
  to_port        = 65535
}

# Flow logs: every accepted and rejected flow, to an encrypted log group.
resource "aws_cloudwatch_log_group" "flow" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); a year of these logs in CloudWatch would break the dev and staging budgets. The audit record (CloudTrail) is kept 7 years in S3.
  name              = "/aws/vpc/${local.name}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.name}-flow-logs" })
}

data "aws_caller_identity" "current" {}

# Only flow logs of this account may assume the role (the confused-deputy guard AWS recommends).
data "aws_iam_policy_document" "flow_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role" "flow" {
  name               = "${local.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_trust.json
  tags               = merge(var.tags, { Name = "${local.name}-flow-logs" })
}

resource "aws_iam_role_policy" "flow" {
  name   = "${local.name}-flow-logs"
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn
  tags            = merge(var.tags, { Name = "${local.name}-flow-logs" })
}

# Security groups: ALB ← internet, cluster ← ALB, database and cache ← nodes. The nodes (and their pods,
# which share the nodes' interfaces' groups) carry the group EKS made for the cluster and `nodes`
# (the eks module's launch template names both); the data tier admits exactly `nodes`.
resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module: the cluster group by the eks module, the database and cache groups by their modules, the load-balancer group by the ingress controller's load balancer.
  name        = "${local.name}-alb"
  description = "Load balancers: HTTP and HTTPS from the internet"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${local.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  #checkov:skip=CKV_AWS_260:The public load balancer serves the platform to the internet on 80 (redirected to 443) and 443.
  for_each = toset(["80", "443"])

  security_group_id = aws_security_group.alb.id
  description       = "HTTP(S) from the internet"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.key)
  to_port           = tonumber(each.key)
}

resource "aws_vpc_security_group_egress_rule" "alb" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the security group description names the rule.
  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.cluster.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_security_group" "cluster" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module: the cluster group by the eks module, the database and cache groups by their modules, the load-balancer group by the ingress controller's load balancer.
  name        = "${local.name}-cluster"
  description = "Cluster ingress: HTTPS from the load balancers"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${local.name}-cluster" })
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_alb" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the security group description names the rule.
  security_group_id            = aws_security_group.cluster.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_vpc_security_group_egress_rule" "cluster" {
  security_group_id = aws_security_group.cluster.id
  description       = "Nodes reach AWS APIs, registries and the data tier"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_security_group" "nodes" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module: the cluster group by the eks module, the database and cache groups by their modules, the load-balancer group by the ingress controller's load balancer.
  name        = "${local.name}-nodes"
  description = "Worker nodes and their pods: what the data tier admits"
  vpc_id      = aws_vpc.this.id
  # No kubernetes.io/cluster tag: the load balancer controller picks the one group on a node that has it
  # (the cluster group EKS made) for its rules.
  tags = merge(var.tags, { Name = "${local.name}-nodes" })
}

resource "aws_vpc_security_group_egress_rule" "nodes" {
  security_group_id = aws_security_group.nodes.id
  description       = "Nodes reach AWS APIs, registries and the data tier"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# The data tier: one group per store, each admitting the nodes' group on its port and nothing else.
locals {
  data_tier = {
    database = { engine = "PostgreSQL", port = 5432 }
    cache    = { engine = "Redis", port = 6379 }
  }
}

resource "aws_security_group" "data" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module: the cluster group by the eks module, the database and cache groups by their modules, the load-balancer group by the ingress controller's load balancer.
  for_each    = local.data_tier
  name        = "${local.name}-${each.key}"
  description = "${each.value.engine} from the nodes"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_vpc_security_group_ingress_rule" "data" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the security group description names the rule.
  for_each                     = local.data_tier
  security_group_id            = aws_security_group.data[each.key].id
  referenced_security_group_id = aws_security_group.nodes.id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

# The stores' groups were one resource each before: applied stacks keep them.
moved {
  from = aws_security_group.database
  to   = aws_security_group.data["database"]
}

moved {
  from = aws_security_group.cache
  to   = aws_security_group.data["cache"]
}

moved {
  from = aws_vpc_security_group_ingress_rule.database
  to   = aws_vpc_security_group_ingress_rule.data["database"]
}

moved {
  from = aws_vpc_security_group_ingress_rule.cache
  to   = aws_vpc_security_group_ingress_rule.data["cache"]
}

# ---------------------------------------------------------------------------------------------------
# VPC endpoints. S3 through a gateway endpoint on the private route tables: free, and it takes every S3
# transfer off the NAT gateways ($0.045/GB) — image layers among them, which ECR serves from S3 (ECR
# User Guide, "Amazon ECR interface VPC endpoints": the layers come from S3, so image pulls need the S3
# gateway endpoint). Interface endpoints (var.interface_endpoints) cost per zone-hour and per GB, and
# are made only where their traffic pays for them (docs/COST_OPTIMIZATION.md, the break-even).
data "aws_region" "current" {}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
  tags              = merge(var.tags, { Name = "${local.name}-s3" })
}

# Interface endpoints answer on 443 on their own interfaces: admitted from the nodes' group (the group
# the nodes and their pods send with), nothing else.
resource "aws_security_group" "endpoints" {
  count = length(var.interface_endpoints) > 0 ? 1 : 0

  name        = "${local.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the nodes"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${local.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the security group description names the rule.
  count = length(var.interface_endpoints) > 0 ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  referenced_security_group_id = aws_security_group.nodes.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.interface_endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${local.name}-${replace(each.key, ".", "-")}" })
}
