# The repositories, their lifecycle, the cache rules, the push roles' trust and reach, and the nodes'
# import permission. Offline: the provider is mocked; the policy documents are rendered by the real
# data source (override_data would hide what is tested).
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_ecr_repository" {
    override_during = plan
    defaults        = { arn = "arn:aws:ecr:us-east-1:123456789012:repository/authorworks/gateway" }
  }
  mock_resource "aws_secretsmanager_secret" {
    override_during = plan
    defaults        = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/authorworks-dev-docker-hub-AbCdEf" }
  }
}

variables {
  project                  = "authorworks"
  environment              = "dev"
  services                 = ["gateway", "user-service"]
  kms_key_arn              = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  service_repositories     = { gateway = "authorworks/gateway", user-service = "authorworks/user-service" }
  node_role_name           = "authorworks-dev-eks-node"
  pull_through_cache = {
    quay       = { upstream_registry_url = "quay.io" }
    docker-hub = { upstream_registry_url = "registry-1.docker.io", authenticated = true }
  }
}

run "each_service_gets_an_immutable_scanned_encrypted_repository_with_a_lifecycle" {
  command = plan

  assert {
    condition     = aws_ecr_repository.service["gateway"].name == "authorworks/gateway" && aws_ecr_repository.service["user-service"].name == "authorworks/user-service"
    error_message = "one repository per service, named <project>/<service>"
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.service : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "tags are immutable and images scanned on push"
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.service : r.encryption_configuration[0].encryption_type == "KMS" && r.encryption_configuration[0].kms_key == var.kms_key_arn])
    error_message = "images are encrypted with the project's key"
  }
  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.service["gateway"].policy).rules[1].selection.countNumber == 30 && jsondecode(aws_ecr_lifecycle_policy.service["gateway"].policy).rules[0].selection.tagStatus == "untagged"
    error_message = "the lifecycle keeps the last 30 releases and expires untagged images"
  }
  assert {
    condition     = aws_ecr_registry_scanning_configuration.this.scan_type == "BASIC" && one(aws_ecr_registry_scanning_configuration.this.rule).scan_frequency == "SCAN_ON_PUSH"
    error_message = "the registry scans every repository on push"
  }
  assert {
    condition     = output.registry_host == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    error_message = "the registry host is <account>.dkr.ecr.<region>.amazonaws.com"
  }
}

run "the_cache_logs_in_only_where_the_upstream_needs_it" {
  command = plan

  assert {
    condition     = aws_ecr_pull_through_cache_rule.this["quay"].credential_arn == null && aws_ecr_pull_through_cache_rule.this["docker-hub"].credential_arn != null
    error_message = "Docker Hub's rule names its credential; quay.io's needs none"
  }
  assert {
    condition     = keys(aws_secretsmanager_secret.upstream) == ["docker-hub"] && aws_secretsmanager_secret.upstream["docker-hub"].name == "ecr-pullthroughcache/authorworks-dev-docker-hub"
    error_message = "the credential secret is named ecr-pullthroughcache/… (ECR reads no other)"
  }
  assert {
    condition     = data.aws_iam_policy_document.node_pull_through_cache[0].statement[0].resources == toset(["arn:aws:ecr:us-east-1:123456789012:repository/quay/*", "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*"])
    error_message = "the nodes may import and create repositories under the cache prefixes only"
  }
}

run "a_push_role_is_trusted_by_its_service_repository_only_and_pushes_only_there" {
  command = plan

  assert {
    condition     = flatten([for c in data.aws_iam_policy_document.push_trust["gateway"].statement[0].condition : c.values if c.variable == "token.actions.githubusercontent.com:sub" && c.test == "StringEquals"]) == ["repo:authorworks/gateway:ref:refs/heads/main"]
    error_message = "the push role trusts exactly the service's repository at main"
  }
  assert {
    condition     = [for p in data.aws_iam_policy_document.push_trust["gateway"].statement[0].principals : "${p.type} ${join(",", p.identifiers)}"] == ["Federated ${var.github_oidc_provider_arn}"]
    error_message = "the only principal is the GitHub OIDC provider"
  }
  assert {
    condition     = data.aws_iam_policy_document.push["gateway"].statement[1].resources == toset([aws_ecr_repository.service["gateway"].arn]) && data.aws_iam_policy_document.push["gateway"].statement[0].actions == toset(["ecr:GetAuthorizationToken"]) && length(data.aws_iam_policy_document.push["gateway"].statement) == 2
    error_message = "the push role logs in and pushes to its own repository only"
  }
}

run "a_service_without_a_ci_repository_is_refused" {
  command = plan

  variables {
    service_repositories = { gateway = "authorworks/gateway" }
  }

  expect_failures = [aws_ecr_repository.service]
}

run "docker_hub_without_a_credential_is_refused" {
  command = plan

  variables {
    pull_through_cache = { docker-hub = { upstream_registry_url = "registry-1.docker.io" } }
  }

  expect_failures = [var.pull_through_cache]
}

run "a_lifecycle_keeping_too_few_releases_is_refused" {
  command = plan

  variables {
    keep_releases = 2
  }

  expect_failures = [var.keep_releases]
}

run "production_replicates_the_service_repositories_to_its_dr_region" {
  command = plan

  variables {
    replicate_to_region = "us-west-2"
  }

  assert {
    condition     = one(one(aws_ecr_replication_configuration.this[0].replication_configuration).rule).destination[0].region == "us-west-2" && one(one(aws_ecr_replication_configuration.this[0].replication_configuration).rule).destination[0].registry_id == "123456789012"
    error_message = "the images are copied to the DR region of the same account's registry"
  }
  assert {
    condition     = one(one(one(aws_ecr_replication_configuration.this[0].replication_configuration).rule).repository_filter).filter == "authorworks/" && one(one(one(aws_ecr_replication_configuration.this[0].replication_configuration).rule).repository_filter).filter_type == "PREFIX_MATCH"
    error_message = "only the service repositories (<project>/…) are replicated"
  }
}

run "no_replication_unless_asked" {
  command = plan

  assert {
    condition     = length(aws_ecr_replication_configuration.this) == 0
    error_message = "without replicate_to_region the registry has no replication configuration"
  }
}

run "replication_to_its_own_region_is_refused" {
  command = plan

  variables {
    replicate_to_region = "us-east-1"
  }

  expect_failures = [aws_ecr_replication_configuration.this]
}

run "the_dr_registry_makes_no_repositories_or_push_roles_of_its_own" {
  command = plan

  variables {
    service_repositories_replicated = true
  }

  assert {
    condition     = length(aws_ecr_repository.service) == 0 && length(aws_iam_role.push) == 0 && length(aws_ecr_lifecycle_policy.service) == 0
    error_message = "the repositories are production's replicas: none made here, no push roles"
  }
  assert {
    condition     = length(aws_ecr_pull_through_cache_rule.this) == 2
    error_message = "the region's own pull-through cache stays"
  }
}
