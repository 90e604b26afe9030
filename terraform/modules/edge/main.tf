# The edge: what the AWS Load Balancer Controller needs to run the environment's one shared ALB (its IRSA
# role and policy), the regional web ACL the ALB carries in production, and the bucket policy statement
# its access logs need. The controller creates the ALB itself from the Ingresses; the Helm release's
# IngressClassParams gives it the certificate, the TLS policy, this web ACL and the access-log attributes
# (helm-values/aws-load-balancer-controller), and the Ingress names network's `alb` security group.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name               = "${var.project}-${var.environment}"
  account_id         = data.aws_caller_identity.current.account_id
  region             = data.aws_region.current.name
  partition          = data.aws_partition.current.partition
  service_account    = "aws-load-balancer-controller"
  access_logs_prefix = "alb"
  # What the controller creates carries elbv2.k8s.aws/cluster = <cluster name>; the upstream policy only
  # asks for the tag to exist (Null), this one for it to name our cluster.
  cluster_tag = "elbv2.k8s.aws/cluster"
  elb_arn     = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}"
  sg_arn      = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*"
}

# ---------------------------------------------------------------------------------------------------
# The controller's IRSA role: it trusts only kube-system/aws-load-balancer-controller (the irsa-role
# building block writes that trust).

module "irsa" {
  source = "../irsa-role"

  oidc_provider_arn = var.oidc_provider_arn
  oidc_issuer       = var.oidc_issuer
  roles = {
    (local.service_account) = {
      name             = "${local.name}-alb-controller"
      description      = "AWS Load Balancer Controller of ${var.cluster_name} (kube-system/${local.service_account})"
      service_accounts = ["kube-system:${local.service_account}"]
    }
  }
  tags = var.tags
}

# The role was made here before the building block: an applied state keeps it.
moved {
  from = aws_iam_role.controller
  to   = module.irsa.aws_iam_role.this["aws-load-balancer-controller"]
}

# The controller's policy: docs/install/iam_policy.json of kubernetes-sigs/aws-load-balancer-controller
# at v3.5.0 (the chart's appVersion), statement for statement, narrowed where IAM allows it:
# - resource ARNs in this account and region instead of `*:*`;
# - the cluster tag must name this cluster (upstream: only present);
# - security-group ingress changes on groups it did not create only inside this VPC (the controller's
#   installation guide recommends this condition);
# - no classic WAF (waf-regional) and no Shield Advanced: the release runs with enableWaf=false and
#   enableShield=false, so those actions are left out.
data "aws_iam_policy_document" "controller" {
  #checkov:skip=CKV_AWS_111:Upstream's policy: CreateSecurityGroup, CreateLoadBalancer/TargetGroup/Listener/Rule and the WAFv2 association calls name no resource before it exists; creations are conditioned on the cluster tag where IAM supports it.
  #checkov:skip=CKV_AWS_356:Describe*/Get* calls and creations of resources that do not yet exist support no resource-level permissions (AWS service authorization reference for EC2 and ELBv2).
  #checkov:skip=CKV_AWS_109:iam:CreateServiceLinkedRole is limited to elasticloadbalancing.amazonaws.com, as upstream's policy does; ELB needs its service-linked role on the first load balancer of an account.
  statement {
    sid       = "ServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid = "Describe"
    actions = [
      "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation",
    ]
    resources = ["*"]
  }

  statement {
    sid = "CertificatesAndWebAcl"
    actions = [
      "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
      "iam:ListServerCertificates", "iam:GetServerCertificate",
      "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "IngressRulesInThisVpc"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    resources = [local.sg_arn]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc/${var.vpc_id}"]
    }
  }

  statement {
    sid       = "CreateSecurityGroup"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["*"]
  }

  statement {
    sid       = "TagSecurityGroupOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = [local.sg_arn]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "RetagOwnSecurityGroups"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = [local.sg_arn]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = ["true"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "ChangeOwnSecurityGroups"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"]
    resources = [local.sg_arn]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "CreateLoadBalancers"
    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid = "ListenersAndRules"
    actions = [
      "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
    ]
    resources = ["*"]
  }

  statement {
    sid     = "RetagOwnLoadBalancers"
    actions = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = [
      "${local.elb_arn}:targetgroup/*/*",
      "${local.elb_arn}:loadbalancer/net/*/*",
      "${local.elb_arn}:loadbalancer/app/*/*",
    ]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = ["true"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid     = "TagListenersAndRules"
    actions = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = [
      "${local.elb_arn}:listener/net/*/*/*",
      "${local.elb_arn}:listener/app/*/*/*",
      "${local.elb_arn}:listener-rule/net/*/*/*",
      "${local.elb_arn}:listener-rule/app/*/*/*",
    ]
  }

  statement {
    sid = "ChangeOwnLoadBalancers"
    actions = [
      "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid     = "TagOnCreate"
    actions = ["elasticloadbalancing:AddTags"]
    resources = [
      "${local.elb_arn}:targetgroup/*/*",
      "${local.elb_arn}:loadbalancer/net/*/*",
      "${local.elb_arn}:loadbalancer/app/*/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateLoadBalancer"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.cluster_tag}"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "Targets"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = ["${local.elb_arn}:targetgroup/*/*"]
  }

  statement {
    sid = "ListenersCertificatesWebAcl"
    actions = [
      "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "controller" {
  name   = "${local.name}-alb-controller"
  role   = module.irsa.names[local.service_account]
  policy = data.aws_iam_policy_document.controller.json
}

# ---------------------------------------------------------------------------------------------------
# Regional web ACL: the controller associates it with the ALB (IngressClassParams spec.wafv2AclArn,
# fed from the web_acl_arn output), so the association is not a terraform resource. The platform's rule
# set (modules/waf-acl), with the SQL database rule group: the services behind the ALB run SQL. Not
# logged by WAF: the ALB's access logs (logs bucket) record each request's actions_executed, waf and
# waf-failed included; sampled requests and per-rule CloudWatch metrics are kept as well, so no second
# log stream is paid for.

module "waf" {
  source = "../waf-acl"

  acls = var.enable_waf ? {
    alb = {
      name                = "${local.name}-alb"
      description         = "On ${local.name}'s ALB"
      scope               = "REGIONAL"
      sql_injection       = true
      rate_limit_per_5min = var.rate_limit_per_5min
    }
  } : {}
  tags = var.tags
}

# State written before the building block existed keeps its web ACL.
moved {
  from = aws_wafv2_web_acl.this[0]
  to   = module.waf.aws_wafv2_web_acl.this["alb"]
}
