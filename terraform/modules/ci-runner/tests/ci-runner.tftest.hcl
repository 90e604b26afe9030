# CodeBuild and CodeConnections rules of the CI runners, refused at plan time. Offline: the provider is mocked.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_codeconnections_connection" {
    override_during = plan
    defaults        = { arn = "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    override_during = plan
    defaults        = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/authorworks-dev-ci-runner" }
  }
  mock_resource "aws_security_group" {
    override_during = plan
    defaults        = { id = "sg-0runner" }
  }
}

variables {
  project                   = "authorworks"
  environment               = "dev"
  github_repository         = "authorworks/authorworks-infra"
  vpc_id                    = "vpc-0abc"
  subnet_ids                = ["subnet-0a", "subnet-0b"]
  cluster_security_group_id = "sg-0cluster"
  logs_kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"
  connection_authorized     = true
}

run "an_authorised_connection_gets_a_runner_in_the_vpc" {
  command = plan

  assert {
    condition     = aws_codebuild_project.runner[0].name == "authorworks-dev-ci-runner"
    error_message = "the project is named {project}-{env}-ci-runner"
  }
  assert {
    condition     = aws_codebuild_project.runner[0].vpc_config[0].vpc_id == "vpc-0abc" && toset(aws_codebuild_project.runner[0].vpc_config[0].subnets) == toset(["subnet-0a", "subnet-0b"]) && toset(aws_codebuild_project.runner[0].vpc_config[0].security_group_ids) == toset(["sg-0runner"])
    error_message = "the runners run in the private subnets with their own group"
  }
  assert {
    condition     = aws_codebuild_project.runner[0].source[0].auth[0].type == "CODECONNECTIONS" && aws_codebuild_project.runner[0].environment[0].privileged_mode == false
    error_message = "the source authenticates with the connection; no privileged container"
  }
  assert {
    condition     = [for f in one(aws_codebuild_webhook.runner[0].filter_group).filter : "${f.type}=${f.pattern}"] == ["EVENT=WORKFLOW_JOB_QUEUED", "WORKFLOW_NAME=^(deploy)$"]
    error_message = "the webhook starts a runner for queued jobs of the deploy workflow only"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.cluster_from_runner.security_group_id == "sg-0cluster" && aws_vpc_security_group_ingress_rule.cluster_from_runner.referenced_security_group_id == "sg-0runner" && aws_vpc_security_group_ingress_rule.cluster_from_runner.from_port == 443 && aws_vpc_security_group_ingress_rule.cluster_from_runner.to_port == 443
    error_message = "the cluster API admits the runners on 443"
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.runner_https.from_port == 443 && aws_vpc_security_group_egress_rule.runner_https.to_port == 443 && aws_vpc_security_group_egress_rule.runner_https.ip_protocol == "tcp"
    error_message = "the runners leave on HTTPS only"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.runner.statement : s.sid] == ["WriteJobLogs", "VpcInterfaces", "VpcInterfacePermission", "UseTheGitHubConnection"]
    error_message = "the service role writes logs, places VPC interfaces and uses the connection: nothing else"
  }
}

run "a_pending_connection_gets_no_project_or_webhook" {
  command = plan
  variables {
    connection_authorized = false
  }

  assert {
    condition     = length(aws_codebuild_project.runner) == 0 && length(aws_codebuild_webhook.runner) == 0 && length(aws_codeconnections_connection.github) == 1
    error_message = "the first apply makes the connection (PENDING) and neither the project nor the webhook, which would fail on it"
  }
}

run "runner_workflow_names_become_an_anchored_pattern" {
  command = plan
  variables {
    runner_workflows = ["deploy", "ops.nightly"]
  }

  assert {
    condition     = local.workflow_pattern == "^(deploy|ops\\.nightly)$"
    error_message = "workflow names are matched whole, dots literally"
  }
}

run "an_authorised_connection_that_does_not_exist_is_refused" {
  command = plan
  variables {
    create_connection = false
  }
  expect_failures = [var.connection_authorized]
}

run "a_connection_name_over_32_characters_is_refused" {
  command = plan
  variables {
    project     = "authorworks-platform1"
    environment = "production"
  }
  expect_failures = [aws_codeconnections_connection.github]
}

run "more_than_16_subnets_are_refused" {
  command = plan
  variables {
    subnet_ids = [for i in range(17) : "subnet-0${i}"]
  }
  expect_failures = [var.subnet_ids]
}

run "a_build_timeout_over_2160_minutes_is_refused" {
  command = plan
  variables {
    build_timeout_minutes = 2161
  }
  expect_failures = [var.build_timeout_minutes]
}

run "a_queued_timeout_under_5_minutes_is_refused" {
  command = plan
  variables {
    queued_timeout_minutes = 4
  }
  expect_failures = [var.queued_timeout_minutes]
}

run "an_arm_image_in_a_linux_container_is_refused" {
  command = plan
  variables {
    image = "aws/codebuild/amazonlinux-aarch64-standard:3.0"
  }
  expect_failures = [var.image]
}

run "an_unknown_compute_type_is_refused" {
  command = plan
  variables {
    compute_type = "BUILD_LAMBDA_1GB"
  }
  expect_failures = [var.compute_type]
}
