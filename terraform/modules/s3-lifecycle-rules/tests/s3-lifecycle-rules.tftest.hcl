# One run per S3 lifecycle rule with a bucket that breaks it, and one whose buckets keep to every rule.
# No provider: the module makes nothing.

run "rules_that_keep_to_s3_have_no_problems" {
  command = plan

  variables {
    rules = {
      logs    = { transitions = [{ days = 30, storage_class = "STANDARD_IA" }, { days = 90, storage_class = "GLACIER" }], expiration_days = 365, noncurrent_expiration_days = 30 }
      backups = { expiration_days = 7, noncurrent_expiration_days = 7 }
      replica = { written_in = "STANDARD_IA", expiration_days = 90, noncurrent_expiration_days = 30 }
    }
  }

  assert {
    condition     = length(flatten(values(output.problems))) == 0
    error_message = "no problems: ${join("; ", flatten(values(output.problems)))}"
  }
}

run "each_broken_rule_is_one_line_naming_the_bucket_and_the_days" {
  command = plan

  variables {
    rules = {
      early_ia  = { transitions = [{ days = 20, storage_class = "STANDARD_IA" }] }
      inverted  = { transitions = [{ days = 90, storage_class = "GLACIER" }], expiration_days = 60 }
      short_ia  = { noncurrent_transitions = [{ days = 30, storage_class = "STANDARD_IA" }, { days = 45, storage_class = "GLACIER" }] }
      glacier   = { transitions = [{ days = 90, storage_class = "GLACIER" }], expiration_days = 120 }
      replica   = { written_in = "STANDARD_IA", expiration_days = 7 }
      untouched = { expiration_days = 1 }
    }
  }

  assert {
    condition = output.problems == {
      early_ia  = ["bucket early_ia, current versions: transition to STANDARD_IA at day 20, but S3 moves objects to STANDARD_IA 30 days after creation at the earliest"]
      inverted  = ["bucket inverted, current versions: expiration at day 60 is not after the transition to GLACIER at day 90; S3 requires every expiration after every transition"]
      short_ia  = ["bucket short_ia, noncurrent versions: the transition to GLACIER at day 45 leaves objects in STANDARD_IA less than its minimum 30 days (from day 30)"]
      glacier   = ["bucket glacier, current versions: expiration at day 120 deletes objects less than GLACIER's minimum storage of 90 days after they moved there (day 90)"]
      replica   = ["bucket replica, current versions: expiration at day 7 deletes objects less than STANDARD_IA's minimum storage of 30 days after they were written there"]
      untouched = []
    }
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "an_unknown_storage_class_is_refused" {
  command = plan

  variables {
    rules = { bad = { transitions = [{ days = 30, storage_class = "COLD" }] } }
  }

  expect_failures = [var.rules]
}
