//! The keys contract: every role whose policy uses a customer-managed KMS key (a `kms:` action with
//! the key among what the policy names) is let in by that key's policy — directly (a statement whose
//! principal is the role) or by delegating to the account's IAM (a statement for the account's
//! `root` principal that allows the action, so an IAM policy suffices: KMS developer guide, "Default
//! key policy"). The key policies are read from the plan (the policy JSON where it is known, else the
//! `aws_iam_policy_document` it comes from).
//!
//! And every AWS service that publishes to a topic encrypted with a customer-managed key (the
//! notifications contract's publishers: alarms, budgets, anomaly subscriptions, EventBridge targets)
//! may use that key: SNS asks KMS for the message's data key as the publishing service, which needs
//! kms:GenerateDataKey* and kms:Decrypt in the key's policy ("Managing Amazon SNS encryption keys and
//! costs", SNS Developer Guide) — in a statement whose conditions the service's requests can meet:
//! EventBridge and Cost Anomaly Detection send no aws:SourceAccount or aws:SourceArn ("Adding the
//! aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for EventBridge-to-encrypted
//! topics", same page), so a statement conditioned on them never applies.

use super::notifications::publishers;
use super::{Inputs, Plan, Resource};
use crate::finding::Finding;

/// What a topic publisher's key needs: the action checked, as the policy should write it.
const TOPIC_KEY_ACTIONS: &[(&str, &str)] =
    &[("kms:GenerateDataKey", "kms:GenerateDataKey*"), ("kms:Decrypt", "kms:Decrypt")];

/// Request context keys a service's KMS requests for an encrypted topic do not carry.
fn missing_context(service: &str) -> &'static [&'static str] {
    match service {
        "events.amazonaws.com" | "costalerts.amazonaws.com" => &["aws:SourceAccount", "aws:SourceArn"],
        _ => &[],
    }
}

/// Whether a key's policy lets the AWS service `service` do `action` in a statement it can meet.
fn key_allows_service(plan: &Plan, key: &Resource, service: &str, action: &str) -> bool {
    plan.statements(key, "policy").iter().filter(|s| s.allows(action)).any(|s| {
        let names = s
            .principals
            .iter()
            .any(|(kind, ids)| kind == "Service" && ids.iter().any(|i| i.as_deref() == Some(service)));
        let unmet = s.conditions.iter().any(|(_, var, _)| {
            var.as_deref().is_some_and(|v| missing_context(service).iter().any(|m| m.eq_ignore_ascii_case(v)))
        });
        names && !unmet
    })
}

/// Every publisher of an encrypted topic whose key does not let it publish.
fn topic_keys(plan: &Plan) -> Vec<Finding> {
    let mut findings = Vec::new();
    for p in publishers(plan) {
        for topic in &p.topics {
            let keys = plan.attribute_sources(topic, "kms_master_key_id");
            for key in keys.into_iter().filter(|k| k.kind == "aws_kms_key") {
                let denied: Vec<&str> = TOPIC_KEY_ACTIONS
                    .iter()
                    .filter(|(a, _)| !key_allows_service(plan, key, p.service, a))
                    .map(|(_, written)| *written)
                    .collect();
                if denied.is_empty() {
                    continue;
                }
                let unmet = missing_context(p.service);
                let hint = if unmet.is_empty() {
                    String::new()
                } else {
                    format!(" (its requests carry no {}: no such condition may apply to it)", unmet.join(" or "))
                };
                findings.push(plan.finding(
                    p.resource,
                    format!(
                        "{} publishes to {} for it, but the topic's key {} does not let {} {}{hint}: every message is dropped",
                        p.service,
                        topic.address,
                        key.address,
                        p.service,
                        denied.join(", "),
                    ),
                ));
            }
        }
    }
    findings
}

/// How a key's policy lets a role do `action`, if it does.
fn key_allows(plan: &Plan, key: &Resource, role: &Resource, action: &str) -> bool {
    let statements = plan.statements(key, "policy");
    let documents: Vec<&Resource> = plan.referenced(key, "policy");
    let names_role = documents.iter().any(|d| {
        plan.reference_origins(d, "statement")
            .iter()
            .flat_map(|o| plan.sources(o, None))
            .any(|r| r.address == role.address)
    });
    let role_arn_known = role.text("arn");
    statements.iter().filter(|s| s.allows(action)).any(|s| {
        s.principals.iter().filter(|(t, _)| t == "AWS").any(|(_, ids)| {
            ids.iter().any(|id| match id {
                // The account's IAM decides: an identity policy allowing the action is enough.
                Some(id) => id.ends_with(":root") || Some(id.as_str()) == role_arn_known,
                // Unknown until apply: the role itself, when the document refers to it.
                None => names_role,
            })
        })
    })
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let mut findings = topic_keys(plan);
    for role in plan.of_type("aws_iam_role") {
        for grant in plan.grants(role) {
            let actions: Vec<&String> =
                grant.actions.iter().filter(|a| a.to_ascii_lowercase().starts_with("kms:")).collect();
            if actions.is_empty() {
                continue;
            }
            for key in grant.refers.iter().filter(|r| r.kind == "aws_kms_key") {
                let denied: Vec<&str> =
                    actions.iter().filter(|a| !key_allows(plan, key, role, a)).map(|a| a.as_str()).collect();
                if !denied.is_empty() {
                    findings.push(plan.finding(
                        grant.policy,
                        format!(
                            "{} uses {} ({}) but the key's policy neither names the role nor delegates those actions to the account's IAM (a statement for its `root`)",
                            role.address,
                            key.address,
                            denied.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    findings
}
