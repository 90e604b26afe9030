output "stack" {
  description = "Everything the platform's stack exports (cargo xtask reads it after apply)."
  value       = module.stack
}
