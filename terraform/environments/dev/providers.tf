locals {
  default_tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "authorworks/authorworks-infra"
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = local.default_tags
  }
}

# The DR region (or, without one, the home region again: modules that take aws.dr then make nothing there).
provider "aws" {
  alias               = "dr"
  region              = coalesce(var.dr_region, var.region)
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = local.default_tags
  }
}

# us-east-1, where CloudFront's viewer certificate and its web ACL must be (the same region as the
# default provider wherever the environment is in us-east-1).
provider "aws" {
  alias               = "us_east_1"
  region              = "us-east-1"
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = local.default_tags
  }
}
