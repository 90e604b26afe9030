variable "rules" {
  description = "Key => a bucket's lifecycle as its configuration sets it: the class objects are written in (STANDARD, or a replication rule's destination class), the transitions of current versions in order and their expiration (days after creation; null: none), and the same for noncurrent versions (days after they became noncurrent). The key is the caller's and names the bucket in each problem."
  type = map(object({
    written_in                 = optional(string, "STANDARD")
    transitions                = optional(list(object({ days = number, storage_class = string })), [])
    expiration_days            = optional(number)
    noncurrent_transitions     = optional(list(object({ days = number, storage_class = string })), [])
    noncurrent_expiration_days = optional(number)
  }))

  validation {
    condition = alltrue(flatten([for l in values(var.rules) : concat(
      [contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], l.written_in)],
      [for t in concat(l.transitions, l.noncurrent_transitions) : contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], t.storage_class) && t.days >= 0],
    )]))
    error_message = "Storage classes are STANDARD (written in only), STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE, and transition days are 0 or more."
  }
}
