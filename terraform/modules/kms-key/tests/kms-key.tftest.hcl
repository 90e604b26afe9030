# Every key: rotated, a 30-day window, its alias, and a policy that lets the account administer it before
# the caller's statements. Offline: the provider is mocked, so the documents' arguments are what is
# checked (a mocked data source renders no JSON of its own; the merge order is the provider's documented
# override_policy_documents behaviour: statements with new sids are appended).
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  keys = {
    logs = {
      name        = "authorworks-dev-logs"
      description = "authorworks-dev logs"
      policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CloudWatchLogsEncrypts\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"logs.us-east-1.amazonaws.com\"},\"Action\":\"kms:Encrypt*\",\"Resource\":\"*\"}]}"
    }
    plain = { name = "authorworks-dev-plain", description = "no statements of the caller's", tags = { Purpose = "test" } }
  }
  tags = { Team = "platform" }
}

run "each_key_is_rotated_aliased_and_administered_by_the_account_first" {
  command = plan

  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.enable_key_rotation && k.deletion_window_in_days == 30])
    error_message = "every key is rotated and has a 30-day deletion window"
  }
  assert {
    condition     = aws_kms_alias.this["logs"].name == "alias/authorworks-dev-logs" && aws_kms_key.this["plain"].tags == tomap({ Team = "platform", Name = "authorworks-dev-plain-key", Purpose = "test" })
    error_message = "the alias is alias/<name>; the Name tag <name>-key on top of the module's and the key's tags"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.this["logs"].statement : "${s.sid} ${join(",", s.actions)} ${join(",", flatten([for p in s.principals : p.identifiers]))}"] == ["AccountAdministers kms:* arn:aws:iam::123456789012:root"]
    error_message = "the key's own statement is the account's administration, of the account root"
  }
  assert {
    condition     = data.aws_iam_policy_document.this["logs"].override_policy_documents == tolist([var.keys.logs.policy_json]) && length(data.aws_iam_policy_document.this["plain"].override_policy_documents) == 0
    error_message = "the caller's statements are merged after the account's; a key without any has the account's only"
  }
}

run "an_alias_in_the_aws_namespace_is_refused" {
  command = plan

  variables {
    keys = { bad = { name = "aws/mine", description = "reserved" } }
  }

  expect_failures = [var.keys]
}

run "a_name_with_other_characters_is_refused" {
  command = plan

  variables {
    keys = { bad = { name = "authorworks dev", description = "a space" } }
  }

  expect_failures = [var.keys]
}

run "policy_json_that_is_not_json_is_refused" {
  command = plan

  variables {
    keys = { bad = { name = "authorworks-dev-x", description = "x", policy_json = "not json" } }
  }

  expect_failures = [var.keys]
}
