# AWS's rules for the network, refused at plan time. Offline: the provider is mocked.
mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b", "us-east-1c"], zone_ids = ["use1-az6", "use1-az1", "use1-az2"] }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

override_resource {
  target          = aws_security_group.nodes
  override_during = plan
  values          = { id = "sg-0nodes" }
}

variables {
  project               = "authorworks"
  environment           = "dev"
  vpc_cidr              = "10.2.0.0/16"
  az_count              = 2
  public_subnet_cidrs   = ["10.2.1.0/24", "10.2.2.0/24"]
  private_subnet_cidrs  = ["10.2.11.0/24", "10.2.12.0/24"]
  database_subnet_cidrs = ["10.2.21.0/24", "10.2.22.0/24"]
  single_nat_gateway    = true
  cluster_name          = "authorworks-dev-eks"
  logs_kms_key_arn      = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
}

run "subnets_inside_the_vpc_plan" {
  command = plan

  # The data tier admits the group the nodes carry, and only that one.
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.data : r.referenced_security_group_id == aws_security_group.nodes.id]) && length(aws_vpc_security_group_ingress_rule.data) == 2
    error_message = "the database and cache groups must admit the nodes' group"
  }
}

run "subnet_outside_the_vpc_is_refused" {
  command = plan
  variables {
    private_subnet_cidrs = ["10.2.11.0/24", "10.3.12.0/24"]
  }
  expect_failures = [aws_vpc.this]
}

run "subnet_count_per_zone_is_refused" {
  command = plan
  variables {
    database_subnet_cidrs = ["10.2.21.0/24"]
  }
  expect_failures = [aws_vpc.this]
}

run "vpc_smaller_than_a_20_is_refused" {
  command = plan
  variables {
    vpc_cidr = "10.2.0.0/24"
  }
  expect_failures = [var.vpc_cidr]
}

run "unsupported_flow_log_retention_is_refused" {
  command = plan
  variables {
    flow_log_retention_days = 10
  }
  expect_failures = [var.flow_log_retention_days]
}

# Zones by ID: the lowest zone IDs, whatever names this account gives them.
run "zones_are_chosen_by_zone_id" {
  command = plan

  assert {
    condition     = [for s in aws_subnet.private : s.availability_zone_id] == ["use1-az1", "use1-az2"]
    error_message = "the first two zone IDs in sorted order are taken (use1-az1, use1-az2), not the first two names"
  }
}

# EKS refuses subnets in use1-az3: were the region's answer to offer it, the plan stops.
run "a_zone_eks_refuses_is_refused" {
  command = plan

  override_data {
    target = data.aws_availability_zones.available
    values = { names = ["us-east-1a", "us-east-1e"], zone_ids = ["use1-az1", "use1-az3"] }
  }

  expect_failures = [aws_vpc.this]
}

run "too_few_zones_is_refused" {
  command = plan

  variables {
    az_count              = 3
    public_subnet_cidrs   = ["10.2.1.0/24", "10.2.2.0/24", "10.2.3.0/24"]
    private_subnet_cidrs  = ["10.2.32.0/20", "10.2.48.0/20", "10.2.64.0/20"]
    database_subnet_cidrs = ["10.2.21.0/24", "10.2.22.0/24", "10.2.23.0/24"]
  }

  override_data {
    target = data.aws_availability_zones.available
    values = { names = ["us-east-1a", "us-east-1b"], zone_ids = ["use1-az1", "use1-az2"] }
  }

  expect_failures = [aws_vpc.this]
}

run "s3_goes_through_the_gateway_endpoint_and_interface_endpoints_admit_the_nodes" {
  command = plan

  variables {
    interface_endpoints = ["ecr.api", "sts"]
  }

  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.s3.service_name == "com.amazonaws.us-east-1.s3"
    error_message = "S3 is reached through a gateway endpoint on every private route table"
  }
  assert {
    condition     = aws_vpc_endpoint.interface["sts"].service_name == "com.amazonaws.us-east-1.sts" && aws_vpc_endpoint.interface["ecr.api"].private_dns_enabled
    error_message = "each interface endpoint is in every private subnet, with private DNS"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.endpoints[0].referenced_security_group_id == aws_security_group.nodes.id && aws_vpc_security_group_ingress_rule.endpoints[0].from_port == 443 && aws_vpc_security_group_ingress_rule.endpoints[0].to_port == 443
    error_message = "the endpoints admit HTTPS from the nodes' group"
  }
}

run "no_interface_endpoint_unless_asked" {
  command = plan

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_security_group.endpoints) == 0
    error_message = "interface endpoints cost per zone-hour: none unless listed"
  }
}

run "an_unknown_interface_endpoint_is_refused" {
  command = plan

  variables {
    interface_endpoints = ["ecr"]
  }

  expect_failures = [var.interface_endpoints]
}
