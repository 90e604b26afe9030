# The services' logins: one secret per service under the secrets key, and the service names PostgreSQL
# or RDS would refuse as role names, refused at plan time. Offline (the provider below calls nothing).

# Not a mock_provider: Terraform 1.11's mocks refuse any configuration with an ephemeral resource ("No
# ephemeral resource types in mock providers"), and the passwords are one. The provider is configured
# to make no call instead (static fake keys, no credential, account or metadata look-ups); only the run
# that names services targets the secrets, so the ephemeral password (a GetRandomPassword call) is
# never opened here: `cargo xtask plan <env> --emulated` and `deploy local` open it against the
# emulator. The database module's own tests run on mock providers, since it has no ephemeral resource.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  endpoints {
    secretsmanager = "http://127.0.0.1:9"
  }
}

variables {
  project             = "authorworks"
  environment         = "production"
  database_identifier = "authorworks-production-postgres"
  master_username     = "authorworks_admin"
  secrets_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/77777777-8888-9999-0000-111111111111"
  service_databases   = []
}

run "each_service_gets_its_login_secret" {
  command = plan

  variables {
    service_databases = ["user-service", "content-service"]
  }
  plan_options {
    target = [aws_secretsmanager_secret.service]
  }

  assert {
    condition     = aws_secretsmanager_secret.service["user-service"].name == "authorworks/production/db/user-service" && aws_secretsmanager_secret.service["user-service"].kms_key_id == var.secrets_kms_key_arn
    error_message = "one secret per service, <project>/<env>/db/<service>, under the secrets key"
  }
  assert {
    condition     = local.service_roles["content-service"] == "content_service"
    error_message = "roles and databases are named like the service with underscores"
  }
}

run "a_service_name_that_is_no_identifier_is_refused" {
  command = plan

  variables {
    service_databases = ["User_Service"]
  }

  expect_failures = [var.service_databases]
}

run "a_reserved_role_name_is_refused" {
  command = plan

  variables {
    service_databases = ["pg-stats"]
  }

  expect_failures = [var.service_databases]
}

run "a_service_named_like_the_master_user_is_refused" {
  command = plan

  variables {
    service_databases = ["authorworks-admin"]
  }

  expect_failures = [var.service_databases]
}

run "a_fractional_password_version_is_refused" {
  command = plan

  variables {
    password_version = 1.5
  }

  expect_failures = [var.password_version]
}
