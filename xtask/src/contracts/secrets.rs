//! The secrets contract: every Secret a workload reads (`envFrom[].secretRef`, `env[].valueFrom.secretKeyRef`,
//! `volumes[].secret`, projected secrets) is produced in the same environment — a Secret in the
//! overlay, a cert-manager Certificate's `secretName`, an ExternalSecret whose remote keys exist in the
//! plan (a `${terraform:…}` key resolved against the plan's outputs; a literal name against its
//! `aws_secretsmanager_secret`s), or a named producer (the mesh step) — and, for an ExternalSecret, its
//! store exists and the external-secrets role may read each secret (`secretsmanager:GetSecretValue`)
//! and decrypt it with its key (`kms:Decrypt`).

use serde_norway::Value;

use super::policy::Grant;
use super::{Inputs, Object, Plan, Resource};
use crate::finding::Finding;

/// Secrets made by a step of the xtask rather than an object: (namespace, name, producer).
const NAMED_PRODUCERS: &[(&str, &str, &str)] = &[
    ("linkerd", "linkerd-trust-anchor", "the mesh step (`cargo xtask mesh install`), from Secrets Manager"),
    (
        "linkerd",
        "linkerd-identity-issuer",
        "cert-manager, from k8s/mesh/identity-issuer.yaml (the mesh identity contract)",
    ),
];

fn seq(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_sequence).into_iter().flatten()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The Secrets a workload's pods read.
pub fn reads(workload: &Object) -> Vec<String> {
    let Some(pod) = workload.pod_spec() else { return Vec::new() };
    let mut out = Vec::new();
    let mut push = |n: Option<&Value>| {
        if let Some(n) = n.and_then(Value::as_str) {
            if !out.iter().any(|o: &String| o == n) {
                out.push(n.to_string());
            }
        }
    };
    for list in ["containers", "initContainers"] {
        for c in seq(pod.get(list)) {
            for e in seq(c.get("envFrom")) {
                push(get(e, &["secretRef", "name"]));
            }
            for e in seq(c.get("env")) {
                push(get(e, &["valueFrom", "secretKeyRef", "name"]));
            }
        }
    }
    for v in seq(pod.get("volumes")) {
        push(get(v, &["secret", "secretName"]));
        for s in seq(get(v, &["projected", "sources"])) {
            push(get(s, &["secret", "name"]));
        }
    }
    out
}

/// The remote keys an ExternalSecret asks for.
fn remote_keys(es: &Object) -> Vec<String> {
    let mut keys = Vec::new();
    for d in seq(get(&es.value, &["spec", "data"])) {
        keys.extend(get(d, &["remoteRef", "key"]).and_then(Value::as_str).map(str::to_string));
    }
    for d in seq(get(&es.value, &["spec", "dataFrom"])) {
        keys.extend(get(d, &["extract", "key"]).and_then(Value::as_str).map(str::to_string));
    }
    keys.dedup();
    keys
}

/// The secret in the plan a remote key names: an `aws_secretsmanager_secret` (or the RDS-managed
/// master secret, an `aws_db_instance`), or why there is none.
fn secret_of<'a>(plan: &'a Plan, key: &str) -> Result<&'a Resource, String> {
    if let Some(b) = crate::bindings::references(key).into_iter().next() {
        if !plan.has_output(&b.name) {
            return Err(format!("the stack has no output `{}`", b.name));
        }
        if let (Some(k), Some(keys)) = (&b.key, plan.output_keys(&b.name)) {
            if !keys.contains(k) {
                return Err(format!("the stack output `{}` has no key `{k}`", b.name));
            }
        }
        return plan
            .output_sources(&b.name, b.key.as_deref())
            .into_iter()
            .find(|r| matches!(r.kind.as_str(), "aws_secretsmanager_secret" | "aws_db_instance"))
            .ok_or_else(|| format!("the stack output `{}` comes from no secret in the plan", b.target()));
    }
    plan.of_type("aws_secretsmanager_secret")
        .find(|s| s.text("name") == Some(key) || s.text("arn") == Some(key))
        .ok_or_else(|| format!("no aws_secretsmanager_secret in the plan is named `{key}`"))
}

/// A resource pattern as written (`${…}` interpolations and `*` match any run of characters, `?` one
/// character: IAM's ARN wildcards) against text.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let mut glob = String::new();
    let mut rest = pattern;
    while let Some(i) = rest.find("${") {
        glob.push_str(&rest[..i]);
        glob.push('*');
        rest = rest[i..].find('}').map_or("", |j| &rest[i + j + 1..]);
    }
    glob.push_str(rest);
    let (p, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // matched[j]: the pattern so far matches the first j characters of the text.
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    for c in p {
        let mut next = vec![false; t.len() + 1];
        for j in 0..=t.len() {
            next[j] = match c {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && t[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[t.len()]
}

/// Whether some grant allows `action` on `target` (named among what it refers to, or matched by a pattern).
fn may(grants: &[Grant], action: &str, target: &Resource, arn_like: &str) -> bool {
    grants.iter().any(|g| {
        g.allows(action)
            && (g.refers.iter().any(|r| r.address == target.address)
                || g.patterns.iter().any(|p| p == "*" || pattern_matches(p, arn_like)))
    })
}

/// The KMS key a secret is encrypted with (`kms_key_id`; the master secret's `master_user_secret_kms_key_id`).
fn key_of<'a>(plan: &'a Plan, secret: &Resource) -> Option<&'a Resource> {
    let attr = if secret.kind == "aws_db_instance" { "master_user_secret_kms_key_id" } else { "kms_key_id" };
    plan.attribute_sources(secret, attr).into_iter().find(|k| k.kind == "aws_kms_key")
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let overlay = &inputs.overlay;
    let mut findings = Vec::new();
    let eso_roles: Vec<&Resource> = plan
        .output_sources("external_secrets_role_arn", None)
        .into_iter()
        .filter(|r| r.kind == "aws_iam_role")
        .collect();
    let grants: Vec<Grant> = eso_roles.iter().flat_map(|r| plan.grants(r)).collect();
    let mut checked_external = Vec::new();
    for w in overlay.objects.iter().filter(|o| o.pod_spec().is_some()) {
        for name in reads(w) {
            let ns = &w.namespace;
            let in_overlay = overlay.get("Secret", ns, &name).is_some()
                || overlay
                    .of_kind("Certificate")
                    .any(|c| &c.namespace == ns && c.text(&["spec", "secretName"]) == Some(&name));
            let named = NAMED_PRODUCERS.iter().any(|(n, s, _)| n == ns && *s == name);
            let external: Vec<&Object> = overlay
                .of_kind("ExternalSecret")
                .filter(|e| &e.namespace == ns && e.text(&["spec", "target", "name"]).unwrap_or(&e.name) == name)
                .collect();
            if !in_overlay && !named && external.is_empty() {
                findings.push(w.finding(
                    &overlay.dir,
                    format!("reads Secret {ns}/{name}, which nothing in `{}` produces (no Secret, no ExternalSecret with target {name}, no named producer)", inputs.env.name()),
                ));
            }
            for es in external {
                if checked_external.contains(&es.label()) {
                    continue;
                }
                checked_external.push(es.label());
                findings.extend(external_secret(inputs, es, &eso_roles, &grants));
            }
        }
    }
    findings
}

fn external_secret(inputs: &Inputs, es: &Object, roles: &[&Resource], grants: &[Grant]) -> Vec<Finding> {
    let plan = &inputs.plan;
    let overlay = &inputs.overlay;
    let mut findings = Vec::new();
    let store_kind = es.text(&["spec", "secretStoreRef", "kind"]).unwrap_or("SecretStore");
    let store_name = es.text(&["spec", "secretStoreRef", "name"]).unwrap_or("");
    let ns = if store_kind == "ClusterSecretStore" { "" } else { es.namespace.as_str() };
    if overlay.get(store_kind, ns, store_name).is_none() {
        findings.push(es.finding(&overlay.dir, format!("its store {store_kind} {store_name} is not in the overlay")));
    }
    for key in remote_keys(es) {
        let secret = match secret_of(plan, &key) {
            Ok(s) => s,
            Err(why) => {
                let mut f = es.finding(&overlay.dir, format!("remote key {key} does not exist in the plan: {why}"));
                if let Some((file, line)) = overlay.locate(&key) {
                    (f.file, f.line) = (file, Some(line));
                }
                findings.push(f);
                continue;
            }
        };
        let role = roles
            .first()
            .map_or("the external-secrets role (output external_secrets_role_arn)".to_string(), |r| r.address.clone());
        // RDS names the master secret it manages `rds!db-<id>` (RDS user guide, "Password management
        // with Amazon RDS and AWS Secrets Manager").
        let name = match secret.kind.as_str() {
            "aws_db_instance" => "rds!db-00000000-0000-0000-0000-000000000000".to_string(),
            _ => secret.text("name").unwrap_or(&key).to_string(),
        };
        // Its ARN as Secrets Manager makes it: the name and six random characters.
        let account = plan.variable("aws_account_id").unwrap_or("000000000000");
        let region = plan.variable("region").unwrap_or(inputs.env.region());
        let arn_like = format!("arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf");
        if roles.is_empty() || !may(grants, "secretsmanager:GetSecretValue", secret, &arn_like) {
            findings.push(es.finding(
                &overlay.dir,
                format!(
                    "remote key {key} is {}, which {role} may not read (secretsmanager:GetSecretValue)",
                    secret.address
                ),
            ));
        }
        if let Some(kms) = key_of(plan, secret) {
            if !roles.is_empty() && !may(grants, "kms:Decrypt", kms, "arn:aws:kms:*:*:key/*") {
                findings.push(es.finding(
                    &overlay.dir,
                    format!(
                        "remote key {key} is {} encrypted with {}, which {role} may not decrypt (kms:Decrypt)",
                        secret.address, kms.address
                    ),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn patterns_treat_interpolations_as_wildcards() {
        let p = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.prefix}/*";
        assert!(pattern_matches(p, "arn:aws:secretsmanager:us-east-1:1:secret:authorworks/dev/app/x-AbCdEf"));
        assert!(!pattern_matches("arn:aws:s3:::bucket/*", "arn:aws:secretsmanager:us-east-1:1:secret:x"));
        assert!(pattern_matches("arn:aws:kms:*:*:key/*", "arn:aws:kms:*:*:key/*"));
        let exact = "arn:aws:secretsmanager:us-east-1:1:secret:authorworks/dev/db/user-service-??????";
        assert!(pattern_matches(
            exact,
            "arn:aws:secretsmanager:us-east-1:1:secret:authorworks/dev/db/user-service-AbCdEf"
        ));
        assert!(!pattern_matches(
            exact,
            "arn:aws:secretsmanager:us-east-1:1:secret:authorworks/dev/db/user-service-x-AbCdEf"
        ));
    }
}
