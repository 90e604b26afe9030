terraform {
  # 1.11: write-only arguments (the database module keeps the services' passwords out of the state).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source                = "hashicorp/aws"
      version               = ">= 5.100, < 6.0"
      configuration_aliases = [aws.dr, aws.us_east_1]
    }
  }
}
