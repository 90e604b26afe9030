variable "keys" {
  description = "Key => the KMS key: its name (the alias is alias/<name>, the Name tag <name>-key), its description, the statements its users need beyond the account's administration (a policy document's JSON, appended after AccountAdministers; null for none) and tags on top of `tags`. The key is the caller's: it names the key by it."
  type = map(object({
    name        = string
    description = string
    policy_json = optional(string)
    tags        = optional(map(string), {})
  }))

  # KMS API Reference, CreateAlias: AliasName is alias/ and 1-256 characters of a-z, A-Z, 0-9, /, _ and -
  # in all; alias/aws/ is reserved for AWS managed keys.
  validation {
    condition     = alltrue([for k in values(var.keys) : can(regex("^[a-zA-Z0-9/_-]{1,250}$", k.name)) && !startswith(k.name, "aws/")])
    error_message = "A key's name (its alias without alias/) is 1-250 characters of a-z, A-Z, 0-9, /, _ and -, not starting with aws/ (reserved for AWS managed keys)."
  }
  # KMS API Reference, CreateKey: Description is 0-8192 characters.
  validation {
    condition     = alltrue([for k in values(var.keys) : length(k.description) <= 8192])
    error_message = "A key's description is at most 8192 characters."
  }
  validation {
    condition     = alltrue([for k in values(var.keys) : k.policy_json == null || can(jsondecode(k.policy_json))])
    error_message = "policy_json is a policy document's JSON (an aws_iam_policy_document's json), or null."
  }
}

variable "tags" {
  description = "Tags added to every key, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
