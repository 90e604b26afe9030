# Local state on purpose: this root creates the bucket remote state lives in. The xtask keeps its state
# file under target/xtask/terraform/bootstrap/ and runs it only when the bucket is missing.
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
