# The trust each role gets: the web identity action, the cluster's OIDC provider as the only principal,
# exactly the named ServiceAccounts as subject and STS as audience. Offline: the provider is mocked, and
# the policy documents are rendered by the real data source (override_data would hide what is tested).
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
  oidc_issuer       = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
  roles = {
    external-dns = { name = "authorworks-dev-external-dns-irsa", description = "external-dns", service_accounts = ["external-dns:external-dns"] }
    two          = { name = "authorworks-dev-two", description = "two accounts", service_accounts = ["a:one", "b:two"] }
  }
  tags = { Team = "platform" }
}

run "each_role_trusts_exactly_its_service_accounts_through_the_cluster" {
  command = plan

  assert {
    condition     = data.aws_iam_policy_document.trust["external-dns"].statement[0].actions == toset(["sts:AssumeRoleWithWebIdentity"])
    error_message = "the trust allows sts:AssumeRoleWithWebIdentity only"
  }
  assert {
    condition     = [for p in data.aws_iam_policy_document.trust["external-dns"].statement[0].principals : "${p.type} ${join(",", p.identifiers)}"] == ["Federated ${var.oidc_provider_arn}"]
    error_message = "the only principal is the cluster's OIDC provider"
  }
  assert {
    condition     = flatten([for c in data.aws_iam_policy_document.trust["external-dns"].statement[0].condition : c.values if c.variable == "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub" && c.test == "StringEquals"]) == ["system:serviceaccount:external-dns:external-dns"]
    error_message = "<issuer>:sub StringEquals exactly the role's ServiceAccount"
  }
  assert {
    condition     = flatten([for c in data.aws_iam_policy_document.trust["external-dns"].statement[0].condition : c.values if c.variable == "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud" && c.test == "StringEquals"]) == ["sts.amazonaws.com"]
    error_message = "<issuer>:aud StringEquals sts.amazonaws.com"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.trust["external-dns"].statement[0].condition) == 2
    error_message = "no other condition widens or narrows the trust"
  }
  assert {
    condition     = flatten([for c in data.aws_iam_policy_document.trust["two"].statement[0].condition : c.values if endswith(c.variable, ":sub")]) == ["system:serviceaccount:a:one", "system:serviceaccount:b:two"]
    error_message = "a role may name several ServiceAccounts, each in full"
  }
  assert {
    condition     = aws_iam_role.this["external-dns"].name == "authorworks-dev-external-dns-irsa" && aws_iam_role.this["external-dns"].tags["Name"] == "authorworks-dev-external-dns-irsa" && aws_iam_role.this["external-dns"].tags["Team"] == "platform"
    error_message = "the role carries the caller's name and tags, Name included"
  }
  assert {
    condition     = output.names == { external-dns = "authorworks-dev-external-dns-irsa", two = "authorworks-dev-two" } && length(output.arns) == 2
    error_message = "the outputs are keyed as the caller's roles"
  }
}

run "a_wildcard_service_account_is_refused" {
  command = plan

  variables {
    roles = { any = { name = "authorworks-dev-any", description = "any", service_accounts = ["kube-system:*"] } }
  }

  expect_failures = [var.roles]
}

run "a_role_with_no_service_account_is_refused" {
  command = plan

  variables {
    roles = { none = { name = "authorworks-dev-none", description = "none", service_accounts = [] } }
  }

  expect_failures = [var.roles]
}

run "a_role_name_longer_than_iam_allows_is_refused" {
  command = plan

  variables {
    roles = { long = { name = "authorworks-production-a-very-long-controller-name-that-iam-refuses", description = "long", service_accounts = ["a:b"] } }
  }

  expect_failures = [var.roles]
}

run "an_issuer_with_its_scheme_is_refused" {
  command = plan

  variables {
    oidc_issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
  }

  expect_failures = [var.oidc_issuer]
}
