output "state_bucket" {
  description = "Name of the state bucket."
  value       = module.state_backend.bucket_name
}
