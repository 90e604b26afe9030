# The application's identities: each service's role trusts exactly its ServiceAccount, and may touch
# exactly its bucket (through S3 with the bucket key), its cache user and the domain's SES identity.
# Offline: the provider is mocked.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  project           = "authorworks"
  environment       = "production"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
  oidc_issuer       = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
  services = {
    media-service        = { bucket = "media" }
    notification-service = { cache = true, send_email = true }
    gateway              = { cache = true }
  }
  bucket_arns                 = { media = "arn:aws:s3:::authorworks-production-media-123456789012", exports = "arn:aws:s3:::authorworks-production-exports-123456789012" }
  bucket_kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  cache_user_arns             = { notification-service = "arn:aws:elasticache:us-east-1:123456789012:user:authorworks-production-redis-notification-service", gateway = "arn:aws:elasticache:us-east-1:123456789012:user:authorworks-production-redis-gateway" }
  cache_replication_group_arn = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:authorworks-production-redis"
  email_identity_arn          = "arn:aws:ses:us-east-1:123456789012:identity/authorworks.io"
}

run "each_service_gets_exactly_its_identity_and_access" {
  command = plan

  assert {
    condition     = module.irsa.names["gateway"] == "authorworks-production-gateway" && length(module.irsa.names) == 3
    error_message = "one role per service, named <project>-<env>-<service>"
  }
  assert {
    condition     = data.aws_iam_policy_document.access["media-service"].statement[0].resources == toset(["arn:aws:s3:::authorworks-production-media-123456789012/*"]) && length(data.aws_iam_policy_document.access["media-service"].statement) == 2
    error_message = "media-service: the objects of its bucket and the bucket key, nothing else"
  }
  assert {
    condition     = alltrue([for c in data.aws_iam_policy_document.access["media-service"].statement[1].condition : c.variable == "kms:ViaService" && contains(c.values, "s3.us-east-1.amazonaws.com")])
    error_message = "the bucket key only through S3"
  }
  assert {
    condition     = data.aws_iam_policy_document.access["gateway"].statement[0].resources == toset([var.cache_replication_group_arn, var.cache_user_arns["gateway"]]) && length(data.aws_iam_policy_document.access["gateway"].statement) == 1
    error_message = "gateway: elasticache:Connect on the replication group and its own user"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.access["notification-service"].statement : s.sid] == ["ConnectToRedisAsNotificationService", "SendFromTheDomain"] && data.aws_iam_policy_document.access["notification-service"].statement[1].resources == toset([var.email_identity_arn])
    error_message = "notification-service: its cache user, and mail from the domain's identity only"
  }
}

run "without_the_cache_a_role_has_no_policy" {
  command = plan

  variables {
    services                    = { gateway = { cache = false } }
    cache_user_arns             = {}
    cache_replication_group_arn = null
  }

  assert {
    condition     = length(module.irsa.names) == 1 && length(aws_iam_role_policy.service) == 0
    error_message = "where the cache is left out, the role exists (its ServiceAccount names it) and may touch nothing"
  }
}

run "a_role_name_longer_than_iam_allows_is_refused" {
  command = plan

  variables {
    services = { a-service-whose-name-is-much-too-long-for-an-iam-role-name = {} }
  }

  expect_failures = [var.services]
}

run "a_service_name_that_is_no_service_account_is_refused" {
  command = plan

  variables {
    services = { Media_Service = {} }
  }

  expect_failures = [var.services]
}

run "a_bucket_that_does_not_exist_is_refused" {
  command = plan

  variables {
    services = { export-service = { bucket = "export" } }
  }

  expect_failures = [var.bucket_arns]
}

run "a_bucket_without_its_key_is_refused" {
  command = plan

  variables {
    bucket_kms_key_arn = null
  }

  expect_failures = [var.bucket_kms_key_arn]
}

run "a_cache_service_without_its_user_is_refused" {
  command = plan

  variables {
    services = { search-service = { cache = true } }
  }

  expect_failures = [var.cache_user_arns]
}

run "a_cache_user_without_the_replication_group_is_refused" {
  command = plan

  variables {
    cache_replication_group_arn = null
  }

  expect_failures = [var.cache_replication_group_arn]
}

run "mail_without_the_identity_is_refused" {
  command = plan

  variables {
    email_identity_arn = null
  }

  expect_failures = [var.email_identity_arn]
}

run "mail_from_something_other_than_an_ses_identity_is_refused" {
  command = plan

  variables {
    email_identity_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
  }

  expect_failures = [var.email_identity_arn]
}

run "a_trust_through_an_issuer_url_is_refused" {
  command = plan

  variables {
    oidc_issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
  }

  expect_failures = [var.oidc_issuer]
}
