terraform {
  # 1.11: write-only arguments (the database module keeps the services' passwords out of the state).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Settings come from `cargo xtask` (-backend-config): bucket {project}-{env}-tfstate-{account},
  # key {env}/terraform.tfstate, encrypted, locked with the S3 lockfile.
  backend "s3" {}
}
