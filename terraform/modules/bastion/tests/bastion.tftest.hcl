# EC2 and Session Manager rules of the bastion, refused at plan time. Offline: the provider is mocked.
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
  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "ami-065b1b834d2a83a7a" }
  }
  mock_resource "aws_security_group" {
    override_during = plan
    defaults        = { id = "sg-0bastion" }
  }
  mock_resource "aws_instance" {
    override_during = plan
    defaults = {
      id  = "i-0123456789abcdef0"
      arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
    }
  }
  mock_resource "aws_ssm_parameter" {
    override_during = plan
    defaults        = { arn = "arn:aws:ssm:us-east-1:123456789012:parameter/authorworks/dev/bastion/tunnel" }
  }
}

variables {
  project                   = "authorworks"
  environment               = "dev"
  vpc_id                    = "vpc-0abc"
  subnet_id                 = "subnet-0a"
  cluster_security_group_id = "sg-0cluster"
  cluster_name              = "authorworks-dev-eks"
  tunnel_roles              = { admin = "authorworks-dev-admin", developer = "authorworks-dev-developer" }
}

run "an_ssm_only_bastion_admitted_to_the_api" {
  command = plan

  assert {
    condition     = aws_instance.bastion.metadata_options[0].http_tokens == "required" && aws_instance.bastion.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "IMDSv2 only, one hop"
  }
  assert {
    condition     = aws_instance.bastion.root_block_device[0].encrypted && aws_instance.bastion.subnet_id == "subnet-0a"
    error_message = "encrypted root volume, in the private subnet given"
  }
  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64" && aws_instance.bastion.ami == "ami-065b1b834d2a83a7a"
    error_message = "a Graviton bastion boots the arm64 Amazon Linux 2023 image from AWS's public parameter"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.cluster_from_bastion.security_group_id == "sg-0cluster" && aws_vpc_security_group_ingress_rule.cluster_from_bastion.referenced_security_group_id == "sg-0bastion" && aws_vpc_security_group_ingress_rule.cluster_from_bastion.from_port == 443
    error_message = "the cluster API admits the bastion on 443"
  }
  assert {
    condition     = jsondecode(aws_ssm_parameter.tunnel.value) == { instance_id = "i-0123456789abcdef0", cluster_name = "authorworks-dev-eks" } && aws_ssm_parameter.tunnel.name == "/authorworks/dev/bastion/tunnel"
    error_message = "the tunnel parameter names the instance and the cluster"
  }
  assert {
    condition     = toset(keys(aws_iam_role_policy.tunnel)) == toset(["admin", "developer"])
    error_message = "each people's role may open the tunnel"
  }
  assert {
    condition     = toset(data.aws_iam_policy_document.tunnel.statement[0].resources) == toset(["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0", "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost"]) && one(data.aws_iam_policy_document.tunnel.statement[0].condition).variable == "ssm:SessionDocumentAccessCheck"
    error_message = "sessions start only on this instance, only with the forwarding document"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.tunnel.statement[1].condition).variable == "ssm:resourceTag/aws:ssmmessages:session-id" && one(one(data.aws_iam_policy_document.tunnel.statement[1].condition).values) == format("%s{aws:userid}", "$")
    error_message = "a person ends only the sessions they started"
  }
}

run "an_x86_type_gets_the_x86_image" {
  command = plan
  variables {
    instance_type = "t3.nano"
  }

  assert {
    condition     = data.aws_ssm_parameter.ami.name == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    error_message = "an x86 type boots the x86_64 image"
  }
}

run "a_large_bastion_is_refused" {
  command = plan
  variables {
    instance_type = "m5.large"
  }
  expect_failures = [var.instance_type]
}

run "a_root_volume_smaller_than_the_image_is_refused" {
  command = plan
  variables {
    root_volume_gb = 4
  }
  expect_failures = [var.root_volume_gb]
}

run "an_invalid_role_name_is_refused" {
  command = plan
  variables {
    tunnel_roles = { admin = "arn:aws:iam::123456789012:role/authorworks-dev-admin" }
  }
  expect_failures = [var.tunnel_roles]
}
