provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
      Component   = "state-backend"
    }
  }
}

module "state_backend" {
  source = "../modules/state-backend"

  project     = var.project
  environment = var.environment
  bucket_name = var.state_bucket_name
  enforce_tls = var.enforce_tls
}
