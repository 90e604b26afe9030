//! The workload-identity contract: every ServiceAccount with an IRSA role annotation — in the overlay
//! (`eks.amazonaws.com/role-arn: ${terraform:workload_role_arns.<service>}`) and in the Helm values
//! (a `set_from_terraform` role output, the account's name from the release's values, e.g.
//! `serviceAccount.name`) — names a role in the plan whose trust allows exactly that
//! `system:serviceaccount:<namespace>:<name>` (audience sts.amazonaws.com) through the cluster's OIDC
//! provider; and every role the cluster's OIDC provider may assume is used by some ServiceAccount
//! (or an EKS add-on's).

use super::{Inputs, Plan, Resource};
use crate::finding::Finding;

pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// A ServiceAccount that asks for a role, and where it says so.
pub struct Claim<'a> {
    pub namespace: String,
    pub name: String,
    /// The roles in the plan its annotation resolves to (empty: none).
    pub roles: Vec<&'a Resource>,
    /// What the annotation says (`${terraform:…}`, an output name, an ARN).
    pub says: String,
    pub at: Finding,
}

/// The OIDC providers of the EKS cluster (their `url` comes from an `aws_eks_cluster`).
pub fn cluster_providers(plan: &Plan) -> Vec<&Resource> {
    plan.of_type("aws_iam_openid_connect_provider")
        .filter(|p| plan.references(p, "url").iter().any(|r| r.starts_with("aws_eks_cluster.")))
        .collect()
}

/// Roles named by a role output (and key), or by an ARN's role name.
fn roles_of<'a>(
    plan: &'a Plan,
    output: Option<(&str, Option<&str>)>,
    arn: Option<&str>,
    fallback_name: Option<String>,
) -> Vec<&'a Resource> {
    let mut roles: Vec<&Resource> = match output {
        Some((name, key)) => plan.output_sources(name, key).into_iter().filter(|r| r.kind == "aws_iam_role").collect(),
        None => Vec::new(),
    };
    let by_name = |n: &str| plan.of_type("aws_iam_role").filter(|r| r.text("name") == Some(n)).collect::<Vec<_>>();
    if roles.is_empty() {
        if let Some(role_name) =
            arn.and_then(|a| a.rsplit_once(":role/")).map(|(_, n)| n.rsplit('/').next().unwrap_or(n).to_string())
        {
            roles = by_name(&role_name);
        }
    }
    if roles.is_empty() {
        if let (Some(n), true) = (fallback_name, output.is_some_and(|(name, _)| plan.has_output(name))) {
            roles = by_name(&n);
        }
    }
    roles
}

/// Every ServiceAccount of the overlay and the releases that carries a role annotation.
pub fn claims(inputs: &Inputs) -> Vec<Claim<'_>> {
    let plan = &inputs.plan;
    let mut out = Vec::new();
    for sa in inputs.overlay.of_kind("ServiceAccount") {
        let Some(value) = sa.text(&["metadata", "annotations", ROLE_ANNOTATION]) else { continue };
        let binding = crate::bindings::references(value).into_iter().next();
        let output = binding.as_ref().map(|b| (b.name.as_str(), b.key.as_deref()));
        let fallback = binding
            .as_ref()
            .and_then(|b| b.key.clone())
            .map(|k| format!("{}-{}-{k}", inputs.env.project(), inputs.env.name()));
        let roles = roles_of(plan, output, Some(value), fallback);
        let at = inputs.overlay.finding_at(value, String::new());
        let at = Finding { message: sa.label(), ..at };
        out.push(Claim { namespace: sa.namespace.clone(), name: sa.name.clone(), roles, says: value.to_string(), at });
    }
    for r in &inputs.releases {
        for (path, output) in &r.release.set_from_terraform {
            let Some(prefix) = path.strip_suffix(".annotations.eks\\.amazonaws\\.com/role-arn") else { continue };
            let name = r
                .value(&format!("{prefix}.name"))
                .and_then(serde_norway::Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| r.release.name.clone());
            let roles = roles_of(plan, Some((output, None)), None, None);
            // Where the values name the account (else the release's entry in the list).
            let at = r.finding_at(
                &format!("name: {name}"),
                format!("ServiceAccount {}/{name} (set_from_terraform {output})", r.release.namespace),
            );
            out.push(Claim {
                namespace: r.release.namespace.clone(),
                name,
                roles,
                says: format!("output {output}"),
                at,
            });
        }
    }
    out
}

/// What a role's trust allows through the cluster's OIDC provider: the subjects (`None` when it can't
/// be read from the plan) and whether the audience is sts.amazonaws.com.
pub fn trust(plan: &Plan, role: &Resource) -> Option<(Vec<String>, bool)> {
    let providers = cluster_providers(plan);
    let documents: Vec<&Resource> = plan.referenced(role, "assume_role_policy");
    let through_cluster = |doc: Option<&Resource>| {
        let Some(doc) = doc else { return false };
        plan.reference_origins(doc, "statement")
            .iter()
            .flat_map(|o| plan.sources(o, None))
            .any(|p| providers.iter().any(|c| c.address == p.address))
    };
    let statements = plan.statements(role, "assume_role_policy");
    let mut subjects = Vec::new();
    let mut audience = false;
    let mut federated = false;
    for s in statements.iter().filter(|s| s.allows("sts:AssumeRoleWithWebIdentity")) {
        if !s.principals.iter().any(|(t, _)| t == "Federated") {
            continue;
        }
        federated = true;
        for (test, _, values) in &s.conditions {
            let values: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
            if values.iter().any(|v| v.starts_with("system:serviceaccount:")) {
                if test == "StringEquals" {
                    subjects.extend(values.iter().map(|v| v.to_string()));
                } else {
                    subjects.extend(values.iter().map(|v| format!("{test} {v}")));
                }
            }
            if test == "StringEquals" && values == ["sts.amazonaws.com"] {
                audience = true;
            }
        }
    }
    (federated && through_cluster(documents.first().copied())).then_some((subjects, audience))
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let mut findings = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for claim in claims(inputs) {
        let subject = format!("system:serviceaccount:{}:{}", claim.namespace, claim.name);
        let mut at = claim.at.clone();
        if claim.roles.is_empty() {
            at.message =
                format!("{}: its role annotation ({}) names no role in the plan", claim.at.message, claim.says);
            findings.push(at);
            continue;
        }
        for role in claim.roles {
            used.push(role.address.clone());
            let problem = match trust(plan, role) {
                None => Some(format!(
                    "{}'s trust lets no ServiceAccount in through the cluster's OIDC provider",
                    role.address
                )),
                Some((subjects, _)) if subjects != [subject.clone()] => Some(format!(
                    "{}'s trust allows {} — not exactly {subject}",
                    role.address,
                    if subjects.is_empty() { "no subject".to_string() } else { subjects.join(", ") }
                )),
                Some((_, false)) => {
                    Some(format!("{}'s trust has no audience condition sts.amazonaws.com", role.address))
                }
                Some(_) => None,
            };
            if let Some(p) = problem {
                let mut f = claim.at.clone();
                f.message = format!("{}: {p}", claim.at.message);
                findings.push(f);
            }
        }
    }
    // Roles an EKS add-on's ServiceAccount takes (service_account_role_arn) are used by it — also
    // where the environment leaves the add-on out (`local`: the emulator has no add-on API).
    used.extend(
        plan.configured_sources("aws_eks_addon", "service_account_role_arn").into_iter().map(|r| r.address.clone()),
    );
    for role in plan.of_type("aws_iam_role") {
        if trust(plan, role).is_some() && !used.contains(&role.address) {
            findings.push(plan.finding(
                role,
                "an IRSA role (trusted through the cluster's OIDC provider) that no ServiceAccount in the overlay or the Helm values, and no EKS add-on, is annotated with",
            ));
        }
    }
    findings
}
