# S3 Lifecycle: what AWS rejects (the API refuses the whole configuration) and what it charges for, as
# one list of problems per bucket, for the caller's precondition on its lifecycle configuration. From
# the Amazon S3 API Reference (Transition, NoncurrentVersionTransition) and the S3 User Guide
# ("Transitioning objects using Amazon S3 Lifecycle", "Constraints and considerations for transitions";
# minimum storage durations in "Comparing the Amazon S3 storage classes"):
# - an expiration must come after every transition of the same rule, for current and noncurrent
#   versions alike ("'Days' in the Expiration action ... must be greater than 'Days' in the Transition");
# - STANDARD_IA and ONEZONE_IA take an object only 30 days after its creation (or after it became
#   noncurrent) at the earliest, and hold it 30 days before it may move on;
# - GLACIER_IR and GLACIER bill 90 days and DEEP_ARCHIVE 180 days however early an object leaves: a
#   rule that deletes or moves objects sooner pays for storage nobody has, so it is refused too. That
#   holds for the class objects are written in as well (a replication rule's destination class).
#
# No resources: the caller keeps its aws_s3_bucket_lifecycle_configuration and its precondition, so the
# caller's `terraform test` can expect the failure of a rule its variables make (terraform test can't
# expect a child module's).

locals {
  min_storage_days = { STANDARD = 0, STANDARD_IA = 30, ONEZONE_IA = 30, INTELLIGENT_TIERING = 0, GLACIER_IR = 90, GLACIER = 90, DEEP_ARCHIVE = 180 }
  ia_classes       = ["STANDARD_IA", "ONEZONE_IA"]

  problems = { for b, l in var.rules : b => flatten([
    for kind, v in {
      current    = { transitions = l.transitions, expiration = l.expiration_days }
      noncurrent = { transitions = l.noncurrent_transitions, expiration = l.noncurrent_expiration_days }
      } : concat(
      [for t in v.transitions : "bucket ${b}, ${kind} versions: transition to ${t.storage_class} at day ${t.days}, but S3 moves objects to ${t.storage_class} 30 days after creation at the earliest" if contains(local.ia_classes, t.storage_class) && t.days < 30],
      [for t in v.transitions : "bucket ${b}, ${kind} versions: expiration at day ${v.expiration} is not after the transition to ${t.storage_class} at day ${t.days}; S3 requires every expiration after every transition" if v.expiration != null && try(v.expiration <= t.days, false)],
      [for i, t in slice(v.transitions, 0, max(length(v.transitions) - 1, 0)) : "bucket ${b}, ${kind} versions: the transition to ${v.transitions[i + 1].storage_class} at day ${v.transitions[i + 1].days} leaves objects in ${t.storage_class} less than its minimum ${local.min_storage_days[t.storage_class]} days (from day ${t.days})" if v.transitions[i + 1].days - t.days < local.min_storage_days[t.storage_class]],
      [for t in slice(v.transitions, max(length(v.transitions) - 1, 0), length(v.transitions)) : "bucket ${b}, ${kind} versions: expiration at day ${v.expiration} deletes objects less than ${t.storage_class}'s minimum storage of ${local.min_storage_days[t.storage_class]} days after they moved there (day ${t.days})" if v.expiration != null && try(v.expiration > t.days, false) && try(v.expiration - t.days < local.min_storage_days[t.storage_class], false)],
      # Objects that never move are held to the class they are written in.
      length(v.transitions) == 0 && v.expiration != null && try(v.expiration < local.min_storage_days[l.written_in], false) ? ["bucket ${b}, ${kind} versions: expiration at day ${v.expiration} deletes objects less than ${l.written_in}'s minimum storage of ${local.min_storage_days[l.written_in]} days after they were written there"] : [],
    )
  ]) }
}
