terraform {
  required_version = ">= 1.10"

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
