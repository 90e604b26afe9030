output "problems" {
  description = "Key => every S3 lifecycle rule the bucket's lifecycle breaks, one line each (empty: none): what the caller's precondition refuses."
  value       = local.problems
}
