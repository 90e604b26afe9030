terraform {
  required_version = ">= 1.10"

  # No providers: the module makes nothing (it computes the problems its callers refuse).
}
