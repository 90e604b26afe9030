data "aws_partition" "current" {}

locals {
  name         = "${var.project}-${var.environment}"
  cluster_name = "${local.name}-eks"
  partition    = data.aws_partition.current.partition
  addons       = var.enable_addons ? toset(["vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"]) : toset([])

  # Pods per node with VPC CNI prefix delegation (EKS User Guide, "Assign more IP addresses to Amazon
  # EKS nodes with prefixes"; the max-pods calculator of awslabs/amazon-eks-ami):
  #   ENIs × ((IPv4 addresses per ENI − 1) × 16) + 2, at most 110 on instances with fewer than 30 vCPUs
  #   (250 from 30 vCPUs). Without prefixes it is ENIs × (IPs − 1) + 2: 11 on a t3.small.
  # The ENI limits, vCPUs and memory are EC2's (instance types, "Maximum IP addresses per network
  # interface"); a type not listed here is refused by the launch template's precondition rather than
  # guessed.
  eni_limits = {
    "t3.small"   = { enis = 3, ips = 4, vcpus = 2, memory_mib = 2048 }
    "t3a.small"  = { enis = 2, ips = 4, vcpus = 2, memory_mib = 2048 }
    "t3.medium"  = { enis = 3, ips = 6, vcpus = 2, memory_mib = 4096 }
    "t3a.medium" = { enis = 3, ips = 6, vcpus = 2, memory_mib = 4096 }
    "c5.large"   = { enis = 3, ips = 10, vcpus = 2, memory_mib = 4096 }
    "c5a.large"  = { enis = 3, ips = 10, vcpus = 2, memory_mib = 4096 }
    "t3.large"   = { enis = 3, ips = 12, vcpus = 2, memory_mib = 8192 }
    "t3a.large"  = { enis = 3, ips = 12, vcpus = 2, memory_mib = 8192 }
    "m5.large"   = { enis = 3, ips = 10, vcpus = 2, memory_mib = 8192 }
    "m5a.large"  = { enis = 3, ips = 10, vcpus = 2, memory_mib = 8192 }
    "t3.xlarge"  = { enis = 4, ips = 15, vcpus = 4, memory_mib = 16384 }
    "m5.xlarge"  = { enis = 4, ips = 15, vcpus = 4, memory_mib = 16384 }
    "r5.large"   = { enis = 3, ips = 10, vcpus = 2, memory_mib = 16384 }
  }
  unknown_type = { enis = 1, ips = 2, vcpus = 1, memory_mib = 0 }
  max_pods = {
    for name, g in var.node_groups : name => min([
      for t in g.instance_types : min(
        lookup(local.eni_limits, t, local.unknown_type).enis * ((lookup(local.eni_limits, t, local.unknown_type).ips - 1) * 16) + 2,
        lookup(local.eni_limits, t, local.unknown_type).vcpus < 30 ? 110 : 250,
      )
    ]...)
  }
  # A group's instance types of more than one vCPU/memory shape: the cluster autoscaler sizes a scale-up
  # by one type of the group, so a mixed group is scheduled as if every node were that one (Cluster
  # Autoscaler on AWS, "Using Mixed Instances Policies and Spot Instances": the types of a node group
  # should have the same number of vCPUs and amount of memory).
  mixed_shapes = {
    for name, g in var.node_groups : name => distinct([for t in g.instance_types : "${lookup(local.eni_limits, t, local.unknown_type).vcpus} vCPU/${lookup(local.eni_limits, t, local.unknown_type).memory_mib} MiB"])
    if length(distinct([for t in g.instance_types : "${lookup(local.eni_limits, t, local.unknown_type).vcpus}/${lookup(local.eni_limits, t, local.unknown_type).memory_mib}"])) > 1
  }

  # Addresses with prefix delegation. The VPC CNI gives a node /28 prefixes (16 addresses each) from its
  # subnet, and each must be a free, aligned, contiguous /28: an address already taken inside a block
  # (a node's or another interface's primary address) makes that block unusable, and when none is left
  # the node gets no prefix ("InsufficientCidrBlocks"; EKS User Guide, "Assign more IP addresses to
  # Amazon EKS nodes with prefixes": plan for fragmentation, a subnet large enough for the prefixes).
  # A node at max pods holds ceil(max_pods / 16) prefixes plus WARM_PREFIX_TARGET (1) spare, on
  # ceil(prefixes / (IPs per ENI - 1)) interfaces whose primary addresses can each spoil one block. A
  # zone must hold that for its share of every group at max_size with one zone lost (the Auto Scaling
  # group then launches in the others), plus the control plane's interfaces (up to 4). AWS reserves
  # the first four and the last address of a subnet: its first and last /28 are never whole.
  prefixes_per_node = { for name, g in var.node_groups : name => ceil(local.max_pods[name] / 16) + 1 }
  blocks_per_node = { for name, g in var.node_groups : name => local.prefixes_per_node[name] + max([
    for t in g.instance_types : ceil(local.prefixes_per_node[name] / max(lookup(local.eni_limits, t, local.unknown_type).ips - 1, 1))
  ]...) }
  zones_left       = max(length(var.subnet_cidrs) - 1, 1)
  blocks_needed    = sum(concat([4], [for name, g in var.node_groups : ceil(g.max_size / local.zones_left) * local.blocks_per_node[name]]))
  blocks_available = length(var.subnet_cidrs) == 0 ? null : min([for c in var.subnet_cidrs : pow(2, 28 - tonumber(split("/", c)[1])) - 2]...)

  # The VPC CNI's network policy agent (without it EKS accepts NetworkPolicy objects and enforces none)
  # and prefix delegation: each node takes /28 prefixes instead of single addresses, one spare prefix warm.
  vpc_cni_configuration = {
    enableNetworkPolicy = "true"
    env = {
      ENABLE_PREFIX_DELEGATION = "true"
      WARM_PREFIX_TARGET       = "1"
    }
  }
}

# ---------------------------------------------------------------------------------------------------
# Control plane

data "aws_iam_policy_document" "cluster_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${local.cluster_name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_trust.json
  tags               = merge(var.tags, { Name = "${local.cluster_name}-cluster" })
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_cloudwatch_log_group" "cluster" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment (log_retention_days: 14, 30 or 90 days); a year of these logs in CloudWatch would break the dev and staging budgets. The audit record (CloudTrail) is kept 7 years in S3.
  # EKS writes to exactly this name.
  name              = "/aws/eks/${local.cluster_name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
  tags              = merge(var.tags, { Name = "${local.cluster_name}-logs" })
}

resource "aws_eks_cluster" "this" {
  name                      = local.cluster_name
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = var.subnet_ids
    security_group_ids      = var.cluster_security_group_ids
    endpoint_private_access = true
    endpoint_public_access  = length(var.endpoint_public_access_cidrs) > 0
    public_access_cidrs     = length(var.endpoint_public_access_cidrs) > 0 ? var.endpoint_public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = var.secrets_kms_key_arn
    }
  }

  kubernetes_network_config {
    service_ipv4_cidr = "172.20.0.0/16"
  }

  # Access entries only (no aws-auth ConfigMap). The creator gets no hidden admin entry: whoever applies
  # first (a person, see docs/INFRASTRUCTURE.md) would keep an access entry terraform doesn't know, and a
  # cluster re-created by CI would collide with the deploy role's own entry below.
  dynamic "access_config" {
    for_each = var.enable_access_entries ? ["API"] : []
    content {
      authentication_mode                         = access_config.value
      bootstrap_cluster_creator_admin_permissions = false
    }
  }

  # What happens when the version leaves standard support: STANDARD upgrades the cluster; EXTENDED (the
  # AWS default when this is unset) keeps it and bills $0.60 an hour instead of $0.10.
  dynamic "upgrade_policy" {
    for_each = var.support_type == null ? [] : [var.support_type]
    content {
      support_type = upgrade_policy.value
    }
  }

  tags = merge(var.tags, { Name = local.cluster_name })

  lifecycle {
    precondition {
      condition     = local.blocks_available == null ? true : local.blocks_needed <= local.blocks_available
      error_message = "Prefix delegation rule (EKS User Guide, prefixes): with one zone lost, a zone's nodes at max_size need ${local.blocks_needed} free /28 blocks (prefixes per node: ${jsonencode(local.prefixes_per_node)}, plus each interface's own address and the control plane's), but the smallest private subnet (${join(", ", var.subnet_cidrs)}) has ${coalesce(local.blocks_available, 0)}: make the private subnets larger."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.cluster]
}

# IRSA: the cluster's OIDC issuer as an IAM identity provider.
resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = var.oidc_thumbprints
  tags            = merge(var.tags, { Name = "${local.cluster_name}-oidc" })
}

# Who may use the Kubernetes API: each entry maps an IAM role to Kubernetes groups (RBAC decides what
# they may do) and, for the deploy role and the people's admin role, to the cluster-admin access policy
# (cluster scope). Access entries need the cluster's authentication mode API or API_AND_CONFIG_MAP
# (access_config above); EKS refuses one for a principal that does not exist.
resource "aws_eks_access_entry" "this" {
  for_each = var.enable_access_entries ? var.access_entries : {}

  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = each.value.principal_arn
  kubernetes_groups = each.value.kubernetes_groups
  type              = "STANDARD"
  tags              = merge(var.tags, { Name = "${local.cluster_name}-${each.key}" })
}

resource "aws_eks_access_policy_association" "cluster_admin" {
  for_each = { for k, v in aws_eks_access_entry.this : k => v if var.access_entries[k].cluster_admin }

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value.principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}

# ---------------------------------------------------------------------------------------------------
# Nodes

data "aws_iam_policy_document" "node_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${local.cluster_name}-node"
  assume_role_policy = data.aws_iam_policy_document.node_trust.json
  tags               = merge(var.tags, { Name = "${local.cluster_name}-node" })
}

# Images: AmazonEC2ContainerRegistryPullOnly (ecr:GetAuthorizationToken, BatchGetImage,
# GetDownloadUrlForLayer: pull and nothing else; AWS managed policy reference), not ReadOnly, which also
# lists and describes every repository and reads their policies. What a pull through the cache needs
# besides is the ecr module's, on the cache prefixes only.
resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"])

  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

# IMDSv2 only, one hop (pods use IRSA, not the node's role), encrypted root volumes, the groups the
# nodes (and their pods) carry, tags on what the node group launches, and the kubelet's max pods.
resource "aws_launch_template" "node" {
  for_each = var.node_groups

  name_prefix = "${local.cluster_name}-${each.key}-"
  description = "Node group ${each.key} of ${local.cluster_name}"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.disk_size_gb
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.secrets_kms_key_arn
      delete_on_termination = true
    }
  }

  # A launch template that names security groups replaces the ones EKS would attach, so the cluster
  # group EKS made (control plane <-> nodes) is named here too, beside the node group the data tier
  # admits (network module).
  vpc_security_group_ids = compact(concat([aws_eks_cluster.this.vpc_config[0].cluster_security_group_id], var.node_security_group_ids))

  # AL2023 reads its kubelet settings from a NodeConfig; EKS merges this part with its own.
  user_data = base64encode(<<-EOT
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="BOUNDARY"

    --BOUNDARY
    Content-Type: application/node.eks.aws

    apiVersion: node.eks.aws/v1alpha1
    kind: NodeConfig
    spec:
      kubelet:
        config:
          maxPods: ${local.max_pods[each.key]}

    --BOUNDARY--
  EOT
  )

  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])
    content {
      resource_type = tag_specifications.value
      tags          = merge(var.tags, { Name = "${local.cluster_name}-${each.key}", "authorworks.io/node-group" = each.key })
    }
  }

  tags = merge(var.tags, { Name = "${local.cluster_name}-${each.key}" })

  lifecycle {
    # The emulator reports the template's own tags as one more tag specification (resource type
    # launch-template, which AWS doesn't accept here), so every plan would rewrite it. The tags above
    # are set at creation; a change to them needs `-replace` of the template.
    ignore_changes = [tag_specifications]
    precondition {
      condition     = alltrue([for t in each.value.instance_types : contains(keys(local.eni_limits), t)])
      error_message = "node group ${each.key}: max pods (EKS: ENIs × ((IPs per ENI − 1) × 16) + 2 with prefix delegation) needs the ENI limits of ${join(", ", [for t in each.value.instance_types : t if !contains(keys(local.eni_limits), t)])}: add them to local.eni_limits in terraform/modules/eks/main.tf."
    }
    precondition {
      condition     = local.max_pods[each.key] > 11
      error_message = "node group ${each.key}: max pods ${local.max_pods[each.key]} is no more than a t3.small without prefix delegation (11)."
    }
    precondition {
      condition     = !contains(keys(local.mixed_shapes), each.key)
      error_message = "node group ${each.key}: its instance types ${join(", ", each.value.instance_types)} are of different shapes (${join("; ", lookup(local.mixed_shapes, each.key, []))}); the cluster autoscaler needs one vCPU/memory shape per group (Cluster Autoscaler on AWS, mixed instances)."
    }
  }
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${local.cluster_name}-${each.key}"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids
  instance_types  = each.value.instance_types
  capacity_type   = each.value.capacity_type
  # The NodeConfig in the launch template is AL2023's (AL2 has no images for Kubernetes 1.33 and later).
  ami_type = "AL2023_x86_64_STANDARD"
  # A new group starts at the cluster's version (allowed with a launch template that names no AMI). Later
  # minors are `cargo xtask upgrade`'s: UpdateNodegroupVersion after the control plane and the add-ons,
  # so terraform leaves the version to it (ignore_changes below) and a version change plans the cluster only.
  version = aws_eks_cluster.this.version
  labels  = merge(each.value.labels, { "authorworks.io/node-group" = each.key })

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  # The tags the cluster autoscaler discovers its node groups by.
  tags = merge(var.tags, {
    Name                                              = "${local.cluster_name}-${each.key}"
    "k8s.io/cluster-autoscaler/enabled"               = "true"
    "k8s.io/cluster-autoscaler/${local.cluster_name}" = "owned"
  })

  lifecycle {
    # desired_size is the starting size only: afterwards the cluster autoscaler (with load) and dev's
    # off-hours schedule (`cargo xtask schedule down|up`, to zero and back) own it, so a plan never
    # "corrects" it back and an apply never scales a running group. remote_access can't be set with a
    # launch template; the emulator reports a default one that would force replacement. The version
    # after creation is `cargo xtask upgrade`'s (see `version`).
    ignore_changes = [scaling_config[0].desired_size, remote_access, version]
  }

  depends_on = [aws_iam_role_policy_attachment.node, aws_eks_addon.vpc_cni]
}

# The VPC CNI before any node: nodes join with its prefix delegation and the max pods set above.
resource "aws_eks_addon" "vpc_cni" {
  count = var.enable_addons ? 1 : 0

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  configuration_values        = jsonencode(local.vpc_cni_configuration)
  tags                        = merge(var.tags, { Name = "${local.cluster_name}-vpc-cni" })
}

# The rest need running nodes to become active.
resource "aws_eks_addon" "this" {
  for_each = setsubtract(local.addons, ["vpc-cni"])

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  service_account_role_arn    = each.key == "aws-ebs-csi-driver" ? var.ebs_csi_role_arn : null
  tags                        = merge(var.tags, { Name = "${local.cluster_name}-${each.key}" })

  depends_on = [aws_eks_node_group.this]
}
