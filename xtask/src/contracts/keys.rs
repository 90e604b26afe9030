//! The keys contract: every role whose policy uses a customer-managed KMS key (a `kms:` action with
//! the key among what the policy names) is let in by that key's policy — directly (a statement whose
//! principal is the role) or by delegating to the account's IAM (a statement for the account's
//! `root` principal that allows the action, so an IAM policy suffices: KMS developer guide, "Default
//! key policy"). The key policies are read from the plan (the policy JSON where it is known, else the
//! `aws_iam_policy_document` it comes from).

use super::{Inputs, Plan, Resource};
use crate::finding::Finding;

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
    let mut findings = Vec::new();
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
