data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  arm64      = startswith(var.instance_type, "t4g.")
  # What `cargo xtask tunnel <env>` reads (xtask/src/tunnel.rs): the instance to forward through and the
  # cluster whose endpoint it forwards to.
  tunnel_parameter = "/${var.project}/${var.environment}/bastion/tunnel"
  # The session document that forwards a local port to a host the instance reaches (AWS News Blog, May
  # 2022, "port forwarding to remote hosts": SSM Agent 3.1.1374.0 or later; Amazon Linux 2023's is newer).
  forwarding_document = "AWS-StartPortForwardingSessionToRemoteHost"
}

# Amazon Linux 2023, which ships the SSM agent, resolved from AWS's public parameter (Amazon Linux 2023
# User Guide, "Launching AL2023 using the SSM parameter"). A newly published image replaces the bastion at
# the next apply: it keeps nothing, so it is kept patched by replacement.
data "aws_ssm_parameter" "ami" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${local.arm64 ? "arm64" : "x86_64"}"
}

# ---------------------------------------------------------------------------------------------------
# The instance: managed by Systems Manager only (no key pair, no inbound rule, no public address).

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "bastion" {
  name               = "${local.name}-bastion"
  description        = "Instance role of the ${local.name} bastion: Systems Manager only"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = merge(var.tags, { Name = "${local.name}-bastion" })
}

# The managed policy Session Manager documents for the instance profile ("Step 2: Verify or add instance
# permissions for Session Manager").
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.bastion.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "bastion" {
  name = "${local.name}-bastion"
  role = aws_iam_role.bastion.name
  tags = merge(var.tags, { Name = "${local.name}-bastion" })
}

resource "aws_security_group" "bastion" {
  name        = "${local.name}-bastion"
  description = "SSM bastion: nothing in; HTTPS out (Systems Manager via NAT, the cluster API)"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${local.name}-bastion" })
}

resource "aws_vpc_security_group_egress_rule" "bastion_https" {
  security_group_id = aws_security_group.bastion.id
  description       = "HTTPS: Systems Manager endpoints (through NAT) and the cluster API"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_bastion" {
  #checkov:skip=CKV_AWS_23:The emulator the local environment is tested on drops the description of rules that reference a security group, so one would show as drift on every plan; the bastion group's description names the rule.
  security_group_id            = var.cluster_security_group_id
  referenced_security_group_id = aws_security_group.bastion.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_instance" "bastion" {
  #checkov:skip=CKV_AWS_126:Detailed (1-minute) monitoring is billed per metric and tells nothing about a relay that is either reachable through Session Manager or not.
  ami                    = data.aws_ssm_parameter.ami.insecure_value
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.bastion.id]
  iam_instance_profile   = aws_iam_instance_profile.bastion.name
  ebs_optimized          = true
  monitoring             = false
  # No public address: the subnet is a private one (the network module's private subnets don't map
  # public IPs). associate_public_ip_address is left to the subnet: the emulator reports an address for
  # every instance, and the explicit false would replace the bastion at each plan there.

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    encrypted             = true
    delete_on_termination = true
  }

  tags        = merge(var.tags, { Name = "${local.name}-bastion" })
  volume_tags = merge(var.tags, { Name = "${local.name}-bastion" })

  lifecycle {
    # A new image or type starts the new bastion before the old one goes: a tunnel is reopened at once.
    create_before_destroy = true
  }

  depends_on = [aws_iam_role_policy_attachment.ssm]
}

# ---------------------------------------------------------------------------------------------------
# The way in for `cargo xtask tunnel`, and who may take it.

resource "aws_ssm_parameter" "tunnel" {
  #checkov:skip=CKV2_AWS_34:Not a secret: the bastion's instance ID and the cluster's name, read by the people's roles to open the tunnel.
  name        = local.tunnel_parameter
  description = "cargo xtask tunnel ${var.environment}: the instance to port-forward through and the EKS cluster behind it"
  type        = "String"
  value       = jsonencode({ instance_id = aws_instance.bastion.id, cluster_name = var.cluster_name })
  tags        = merge(var.tags, { Name = "${local.name}-bastion-tunnel" })
}

# Port forwarding to the cluster through this instance only, with the forwarding document only
# (SessionDocumentAccessCheck: no shell on the bastion); ending or resuming only one's own sessions
# (the session's aws:ssmmessages:session-id tag is the caller's aws:userid, "role-id:session-name" for
# an assumed role); and the parameter that names the instance ("Sample IAM policies for Session Manager",
# "Enforce a session document permission check", Systems Manager User Guide).
data "aws_iam_policy_document" "tunnel" {
  statement {
    sid     = "ForwardThroughTheBastion"
    actions = ["ssm:StartSession"]
    resources = [
      aws_instance.bastion.arn,
      "arn:${local.partition}:ssm:${local.region}::document/${local.forwarding_document}",
    ]
    condition {
      test     = "BoolIfExists"
      variable = "ssm:SessionDocumentAccessCheck"
      values   = ["true"]
    }
  }
  statement {
    sid       = "EndOwnSessions"
    actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:session/*"]
    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/aws:ssmmessages:session-id"
      values   = ["$${aws:userid}"]
    }
  }
  statement {
    sid       = "FindTheWayIn"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.tunnel.arn]
  }
}

resource "aws_iam_role_policy" "tunnel" {
  for_each = var.tunnel_roles

  name   = "${local.name}-${each.key}-tunnel"
  role   = each.value
  policy = data.aws_iam_policy_document.tunnel.json
}
