# EKS rules: access entries, max pods from the ENI formula, node group sizes. Offline: the provider is mocked.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

override_resource {
  target          = aws_eks_cluster.this
  override_during = plan
  values = {
    arn                   = "arn:aws:eks:us-east-1:123456789012:cluster/authorworks-dev-eks"
    identity              = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC" }] }]
    vpc_config            = { cluster_security_group_id = "sg-0cluster", vpc_id = "vpc-1" }
    certificate_authority = [{ data = "Y2E=" }]
  }
}

variables {
  project                 = "authorworks"
  environment             = "dev"
  subnet_ids              = ["subnet-a", "subnet-b"]
  secrets_kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"
  logs_kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000002"
  node_security_group_ids = ["sg-0nodes"]
  node_groups = {
    system = { instance_types = ["t3.small"], capacity_type = "ON_DEMAND", min_size = 1, max_size = 2, desired_size = 1 }
  }
  access_entries = {
    deploy = { principal_arn = "arn:aws:iam::123456789012:role/authorworks-dev-github-deploy", cluster_admin = true }
    admin  = { principal_arn = "arn:aws:iam::123456789012:role/authorworks-dev-admin", kubernetes_groups = ["authorworks:admins"] }
  }
}

run "nodes_carry_both_groups_and_110_pods" {
  command = plan

  assert {
    condition     = toset(aws_launch_template.node["system"].vpc_security_group_ids) == toset(["sg-0cluster", "sg-0nodes"])
    error_message = "nodes carry the cluster group EKS made and the group the data tier admits"
  }
  assert {
    # t3.small: 3 ENIs x ((4 - 1) x 16) + 2 = 146, capped at 110 below 30 vCPUs.
    condition     = local.max_pods["system"] == 110 && strcontains(base64decode(aws_launch_template.node["system"].user_data), "maxPods: 110")
    error_message = "a t3.small with prefix delegation runs 110 pods"
  }
  assert {
    condition     = toset([for t in aws_launch_template.node["system"].tag_specifications : t.resource_type]) == toset(["instance", "volume", "network-interface"])
    error_message = "the launch template tags instances, volumes and interfaces"
  }
  assert {
    condition     = aws_eks_cluster.this.access_config[0].authentication_mode == "API" && aws_eks_cluster.this.access_config[0].bootstrap_cluster_creator_admin_permissions == false
    error_message = "API authentication, no hidden creator admin"
  }
  assert {
    condition     = length(aws_eks_access_policy_association.cluster_admin) == 1
    error_message = "only the deploy role is cluster admin"
  }
}

run "instance_type_without_eni_limits_is_refused" {
  command = plan
  variables {
    node_groups = {
      system = { instance_types = ["c7g.large"], capacity_type = "ON_DEMAND", min_size = 1, max_size = 2, desired_size = 1 }
    }
  }
  expect_failures = [aws_launch_template.node["system"]]
}

run "system_group_in_an_access_entry_is_refused" {
  command = plan
  variables {
    access_entries = { admin = { principal_arn = "arn:aws:iam::123456789012:role/x", kubernetes_groups = ["system:masters"] } }
  }
  expect_failures = [var.access_entries]
}

run "access_entry_granting_nothing_is_refused" {
  command = plan
  variables {
    access_entries = { admin = { principal_arn = "arn:aws:iam::123456789012:role/x" } }
  }
  expect_failures = [var.access_entries]
}

run "desired_size_above_max_is_refused" {
  command = plan
  variables {
    node_groups = {
      system = { instance_types = ["t3.small"], capacity_type = "ON_DEMAND", min_size = 1, max_size = 2, desired_size = 3 }
    }
  }
  expect_failures = [var.node_groups]
}

run "public_endpoint_open_to_the_internet_is_refused" {
  command = plan
  variables {
    endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.endpoint_public_access_cidrs]
}

run "the_admin_role_is_cluster_admin_too" {
  command = plan
  variables {
    access_entries = {
      deploy    = { principal_arn = "arn:aws:iam::123456789012:role/authorworks-dev-github-deploy", cluster_admin = true }
      admin     = { principal_arn = "arn:aws:iam::123456789012:role/authorworks-dev-admin", kubernetes_groups = ["authorworks:admins"], cluster_admin = true }
      developer = { principal_arn = "arn:aws:iam::123456789012:role/authorworks-dev-developer", kubernetes_groups = ["authorworks:developers"] }
    }
  }
  assert {
    condition     = toset(keys(aws_eks_access_policy_association.cluster_admin)) == toset(["deploy", "admin"]) && aws_eks_access_policy_association.cluster_admin["admin"].access_scope[0].type == "cluster"
    error_message = "the deploy and admin roles are cluster admins; the developer role only has its group"
  }
  assert {
    condition     = aws_eks_access_entry.this["developer"].kubernetes_groups == toset(["authorworks:developers"])
    error_message = "developers get the namespace-scoped group rbac.yaml binds"
  }
}

run "public_access_from_a_private_range_is_refused" {
  command = plan
  variables {
    endpoint_public_access_cidrs = ["203.0.113.0/24", "10.20.0.0/16"]
  }
  expect_failures = [var.endpoint_public_access_cidrs]
}

run "more_than_40_public_access_ranges_are_refused" {
  command = plan
  variables {
    endpoint_public_access_cidrs = [for i in range(41) : "203.0.${i}.0/24"]
  }
  expect_failures = [var.endpoint_public_access_cidrs]
}

run "an_ipv6_public_access_range_is_refused" {
  command = plan
  variables {
    endpoint_public_access_cidrs = ["2001:db8::/32"]
  }
  expect_failures = [var.endpoint_public_access_cidrs]
}

run "operator_ranges_open_the_public_endpoint_to_them_only" {
  command = plan
  variables {
    endpoint_public_access_cidrs = ["203.0.113.0/24"]
  }
  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access && aws_eks_cluster.this.vpc_config[0].endpoint_private_access && aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "an allow-list keeps the private endpoint and opens the public one to the listed ranges only"
  }
}

# Spot: one empty capacity pool must not take the whole group; three types of one shape plan.
run "spot_group_of_three_types_of_one_shape_plans" {
  command = plan
  variables {
    node_groups = {
      application = { instance_types = ["t3.medium", "t3a.medium", "c5.large"], capacity_type = "SPOT", min_size = 1, max_size = 3, desired_size = 1 }
    }
  }
  assert {
    condition     = length(aws_eks_node_group.this["application"].instance_types) == 3
    error_message = "the spot group draws from three pools"
  }
}

run "spot_group_of_one_type_is_refused" {
  command = plan
  variables {
    node_groups = {
      batch = { instance_types = ["t3.large"], capacity_type = "SPOT", min_size = 0, max_size = 6, desired_size = 0 }
    }
  }
  expect_failures = [var.node_groups]
}

run "group_of_two_shapes_is_refused" {
  command = plan
  variables {
    node_groups = {
      application = { instance_types = ["t3.medium", "t3a.medium", "t3.large"], capacity_type = "SPOT", min_size = 1, max_size = 3, desired_size = 1 }
    }
  }
  expect_failures = [aws_launch_template.node["application"]]
}

# Prefix delegation: production's groups (system 3 and application 12 t3.large nodes at most, three
# zones) need 8 nodes' prefixes in a zone when another is lost: 8 x (8 prefixes + 1 interface) + 4 = 76
# whole /28 blocks. A /24 has 14; the stack's /20 has 254.
run "private_subnets_too_small_for_the_prefixes_are_refused" {
  command = plan
  variables {
    subnet_ids   = ["subnet-a", "subnet-b", "subnet-c"]
    subnet_cidrs = ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"]
    node_groups = {
      system      = { instance_types = ["t3.large"], capacity_type = "ON_DEMAND", min_size = 2, max_size = 3, desired_size = 2 }
      application = { instance_types = ["t3.large"], capacity_type = "ON_DEMAND", min_size = 3, max_size = 12, desired_size = 4 }
    }
  }
  expect_failures = [aws_eks_cluster.this]
}

run "private_subnets_of_a_20_hold_production_at_its_maximum" {
  command = plan
  variables {
    subnet_ids   = ["subnet-a", "subnet-b", "subnet-c"]
    subnet_cidrs = ["10.0.32.0/20", "10.0.48.0/20", "10.0.64.0/20"]
    node_groups = {
      system      = { instance_types = ["t3.large"], capacity_type = "ON_DEMAND", min_size = 2, max_size = 3, desired_size = 2 }
      application = { instance_types = ["t3.large"], capacity_type = "ON_DEMAND", min_size = 3, max_size = 12, desired_size = 4 }
    }
  }
  assert {
    condition     = local.blocks_needed == 76 && local.blocks_available == 254
    error_message = "76 /28 blocks needed per zone at production's maximum with a zone lost; a /20 has 254"
  }
}
