terraform {
  # 1.11: write-only arguments (secret_string_wo), which keep the services' passwords out of the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
