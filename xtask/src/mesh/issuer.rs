//! The identity issuer cert-manager issues and renews from the trust anchor, as Linkerd documents it
//! ("Automatically Rotating Control Plane TLS Credentials"): the anchor as a `kubernetes.io/tls` Secret
//! in the linkerd namespace (the mesh step writes it from Secrets Manager), an Issuer of kind CA on it,
//! and the Certificate `linkerd-identity-issuer` (ECDSA P-256, a CA) whose Secret linkerd-control-plane
//! reads with `identity.issuer.scheme: kubernetes.io/tls`. The Issuer, the Certificate and the alerts on
//! its expiry are `k8s/mesh/identity-issuer.yaml`; this module checks them against cert-manager's v1
//! schema (the fields of its CRDs at v1.20, unknown keys refused) and against what Linkerd requires.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::certs::{Identity, ISSUER_CN};
use crate::finding::Finding;

/// The manifest the mesh step applies before linkerd-control-plane.
pub const MANIFEST: &str = "k8s/mesh/identity-issuer.yaml";
pub const NAMESPACE: &str = "linkerd";
/// The trust anchor's Secret (cert and key), which the CA Issuer signs with.
pub const ANCHOR_SECRET: &str = "linkerd-trust-anchor";
/// The Certificate, and the Secret it fills: the name linkerd-control-plane's identity reads.
pub const ISSUER: &str = "linkerd-identity-issuer";
/// The least time the issuer is renewed before it expires: two days to mend cert-manager after the
/// alert that a renewal failed.
pub const MIN_RENEW_BEFORE_HOURS: u64 = 48;

/// The trust anchor as the Secret the CA Issuer reads (`tls.crt`, `tls.key`), for `kubectl apply -f -`
/// on stdin: its key is never in a file or on a command line.
pub fn anchor_secret(identity: &Identity) -> String {
    let block = |pem: &str| -> String { pem.trim().lines().map(|l| format!("    {l}\n")).collect() };
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {ANCHOR_SECRET}\n  namespace: {NAMESPACE}\n  labels:\n    \
         app.kubernetes.io/managed-by: cargo-xtask\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
        block(&identity.trust_anchor_pem),
        block(&identity.trust_anchor_key_pem)
    )
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// cert-manager.io/v1 Issuer, `spec.ca` (the only kind used here).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerSpec {
    ca: CaIssuer,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CaIssuer {
    secret_name: String,
    #[serde(default)]
    crl_distribution_points: Vec<String>,
    #[serde(default, rename = "issuingCertificateURLs")]
    issuing_certificate_urls: Vec<String>,
    #[serde(default)]
    ocsp_servers: Vec<String>,
}

/// cert-manager.io/v1 Certificate, the fields of its spec this repository sets (the CRD's names).
#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CertificateSpec {
    secret_name: String,
    issuer_ref: IssuerRef,
    #[serde(default)]
    common_name: Option<String>,
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    renew_before: Option<String>,
    #[serde(default, rename = "isCA")]
    is_ca: bool,
    #[serde(default)]
    private_key: Option<PrivateKey>,
    #[serde(default)]
    usages: Vec<Usage>,
    #[serde(default)]
    revision_history_limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerRef {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrivateKey {
    #[serde(default)]
    algorithm: Option<Algorithm>,
    #[serde(default)]
    size: Option<u32>,
    #[serde(default)]
    encoding: Option<Encoding>,
    #[serde(default)]
    rotation_policy: Option<RotationPolicy>,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize, PartialEq, Eq)]
enum Algorithm {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "ECDSA")]
    Ecdsa,
    Ed25519,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
enum Encoding {
    #[serde(rename = "PKCS1")]
    Pkcs1,
    #[serde(rename = "PKCS8")]
    Pkcs8,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
enum RotationPolicy {
    Never,
    Always,
}

/// The key usages cert-manager v1 accepts (its CRD's enum).
#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Usage {
    Signing,
    #[serde(rename = "digital signature")]
    DigitalSignature,
    #[serde(rename = "content commitment")]
    ContentCommitment,
    #[serde(rename = "key encipherment")]
    KeyEncipherment,
    #[serde(rename = "key agreement")]
    KeyAgreement,
    #[serde(rename = "data encipherment")]
    DataEncipherment,
    #[serde(rename = "cert sign")]
    CertSign,
    #[serde(rename = "crl sign")]
    CrlSign,
    #[serde(rename = "server auth")]
    ServerAuth,
    #[serde(rename = "client auth")]
    ClientAuth,
}

/// monitoring.coreos.com/v1 PrometheusRule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    groups: Vec<RuleGroup>,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    #[serde(default)]
    interval: Option<String>,
    rules: Vec<Rule>,
}

#[allow(dead_code)] // read to check the schema (unknown keys refused), not all used
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    alert: Option<String>,
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// Hours of a Go duration as cert-manager takes them (`168h`, `90m`, `1h30m`); `None` when it is not one.
pub fn hours(text: &str) -> Option<u64> {
    let (mut total, mut number) = (0f64, String::new());
    for ch in text.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += match ch {
            'h' => n * 3600.0,
            'm' => n * 60.0,
            's' => n,
            _ => return None,
        };
    }
    number.is_empty().then_some((total / 3600.0) as u64)
}

/// Every document of the manifest, with the line its `kind:` is on.
fn documents(text: &str) -> Vec<(usize, serde_norway::Value)> {
    let mut docs = Vec::new();
    let mut start = 1;
    for chunk in text.split("\n---") {
        let line = chunk.lines().position(|l| l.starts_with("kind:")).map_or(start, |i| start + i);
        if let Ok(v) = serde_norway::from_str::<serde_norway::Value>(chunk) {
            if !v.is_null() {
                docs.push((line, v));
            }
        }
        start += chunk.lines().count();
    }
    docs
}

/// What is wrong with the manifest at `root`/[`MANIFEST`]: each a finding at its file:line.
pub fn problems(root: &Path) -> Vec<Finding> {
    let path: PathBuf = root.join(MANIFEST);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return vec![Finding::new(
            &path,
            None,
            "missing: the Issuer and Certificate cert-manager renews Linkerd's issuer with",
        )];
    };
    let mut findings = Vec::new();
    let mut at = |line: usize, message: String| findings.push(Finding::new(&path, Some(line), message));
    let (mut issuer, mut certificate, mut alerts) = (None, None, Vec::new());
    for (line, doc) in documents(&text) {
        let get = |k: &str| doc.get(k).and_then(serde_norway::Value::as_str).unwrap_or_default().to_string();
        let (kind, api) = (get("kind"), get("apiVersion"));
        let meta: Metadata = match serde_norway::from_value(doc.get("metadata").cloned().unwrap_or_default()) {
            Ok(m) => m,
            Err(e) => {
                at(line, format!("{kind}: metadata: {e}"));
                continue;
            }
        };
        let spec = doc.get("spec").cloned().unwrap_or_default();
        if meta.namespace.as_deref() != Some(NAMESPACE) {
            at(line, format!("{kind} {}: must be in the namespace {NAMESPACE}", meta.name));
        }
        match (kind.as_str(), api.as_str()) {
            ("Issuer", "cert-manager.io/v1") => match serde_norway::from_value::<IssuerSpec>(spec) {
                Ok(s) => {
                    if s.ca.secret_name != ANCHOR_SECRET {
                        at(line, format!("Issuer {}: spec.ca.secretName is {}, but the mesh step writes the trust anchor to {ANCHOR_SECRET}", meta.name, s.ca.secret_name));
                    }
                    issuer = Some(meta.name.clone());
                }
                Err(e) => at(line, format!("Issuer {}: spec does not match cert-manager's v1 schema: {e}", meta.name)),
            },
            ("Certificate", "cert-manager.io/v1") => match serde_norway::from_value::<CertificateSpec>(spec) {
                Ok(s) => {
                    certificate = Some((line, meta.name.clone(), s));
                }
                Err(e) => at(line, format!("Certificate {}: spec does not match cert-manager's v1 schema: {e}", meta.name)),
            },
            ("PrometheusRule", "monitoring.coreos.com/v1") => match serde_norway::from_value::<RuleSpec>(spec) {
                Ok(s) => alerts.extend(s.groups.into_iter().flat_map(|g| g.rules).filter(|r| r.alert.is_some()).map(|r| (line, r))),
                Err(e) => at(line, format!("PrometheusRule {}: spec does not match the v1 schema: {e}", meta.name)),
            },
            _ => at(line, format!("{kind} ({api}): not expected here (an Issuer and a Certificate of cert-manager.io/v1, a PrometheusRule)")),
        }
    }
    let Some((line, name, c)) = certificate else {
        at(1, format!("no Certificate {ISSUER}: cert-manager would issue no identity issuer"));
        return findings;
    };
    let what = format!("Certificate {name}");
    if name != ISSUER || c.secret_name != ISSUER {
        at(
            line,
            format!(
                "{what}: name and secretName must be {ISSUER} (linkerd-control-plane's identity reads that Secret)"
            ),
        );
    }
    if Some(&c.issuer_ref.name) != issuer.as_ref()
        || c.issuer_ref.kind.as_deref().is_some_and(|k| k != "Issuer")
        || c.issuer_ref.group.as_deref().is_some_and(|g| g != "cert-manager.io")
    {
        at(
            line,
            format!("{what}: issuerRef must name the CA Issuer of this file ({})", issuer.as_deref().unwrap_or("none")),
        );
    }
    if !c.is_ca || !c.usages.contains(&Usage::CertSign) {
        at(line, format!("{what}: Linkerd's issuer must be a CA (isCA: true, usage `cert sign`)"));
    }
    let key = c.private_key.as_ref();
    if key.and_then(|k| k.algorithm.as_ref()) != Some(&Algorithm::Ecdsa)
        || key.and_then(|k| k.size).is_some_and(|s| s != 256)
    {
        at(line, format!("{what}: Linkerd requires ECDSA P-256 (privateKey.algorithm: ECDSA, size 256)"));
    }
    if c.common_name.as_deref() != Some(ISSUER_CN) {
        at(line, format!("{what}: commonName must be {ISSUER_CN} (identity.<namespace>.<trust domain>)"));
    }
    match (c.duration.as_deref().and_then(hours), c.renew_before.as_deref().and_then(hours)) {
        (Some(d), Some(r)) if r < d && r >= MIN_RENEW_BEFORE_HOURS => {
            // An alert must fire after a renewal is missed and before the issuer expires.
            let watched = alerts.iter().any(|(_, r)| {
                r.expr.contains("certmanager_certificate_expiration_timestamp_seconds") && r.expr.contains(ISSUER)
            });
            let not_ready = alerts.iter().any(|(_, r)| r.expr.contains("certmanager_certificate_ready_status") && r.expr.contains(ISSUER));
            if !watched || !not_ready {
                at(line, format!("{what}: no alert on its expiry (certmanager_certificate_expiration_timestamp_seconds) and readiness (certmanager_certificate_ready_status) in this file"));
            }
        }
        _ => at(
            line,
            format!("{what}: duration and renewBefore must be Go durations, renewBefore shorter than duration and at least {MIN_RENEW_BEFORE_HOURS}h"),
        ),
    }
    for (line, rule) in &alerts {
        if !rule.labels.contains_key("severity") || !rule.annotations.contains_key("summary") {
            at(
                *line,
                format!(
                    "alert {}: needs a severity label and a summary (as the other alerts, routed to the alert topic)",
                    rule.alert.as_deref().unwrap_or("?")
                ),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_as_hours() {
        assert_eq!(hours("168h"), Some(168));
        assert_eq!(hours("90m"), Some(1));
        assert_eq!(hours("2h30m"), Some(2));
        assert_eq!(hours("7d"), None);
        assert_eq!(hours("12"), None);
    }

    #[test]
    fn the_repositorys_issuer_is_what_linkerd_requires() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(problems(root), Vec::<Finding>::new());
    }

    #[test]
    fn the_anchor_secret_is_a_tls_secret() {
        let id = Identity::generate(3650).unwrap();
        let v: serde_norway::Value = serde_norway::from_str(&anchor_secret(&id)).unwrap();
        assert_eq!(v["type"], "kubernetes.io/tls");
        assert_eq!(v["metadata"]["namespace"], NAMESPACE);
        assert_eq!(v["stringData"]["tls.crt"].as_str().unwrap().trim(), id.trust_anchor_pem.trim());
        assert_eq!(v["stringData"]["tls.key"].as_str().unwrap().trim(), id.trust_anchor_key_pem.trim());
    }

    #[test]
    fn a_broken_issuer_is_named_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let text = std::fs::read_to_string(root.join(MANIFEST)).unwrap();
        std::fs::create_dir_all(dir.path().join("k8s/mesh")).unwrap();
        let write = |t: &str| std::fs::write(dir.path().join(MANIFEST), t).unwrap();
        write(&text.replace("algorithm: ECDSA", "algorithm: RSA"));
        assert!(problems(dir.path()).iter().any(|f| f.message.contains("ECDSA P-256")), "{:?}", problems(dir.path()));
        write(&text.replace("isCA: true", "isCA: true\n  isCa: true"));
        assert!(
            problems(dir.path()).iter().any(|f| f.message.contains("unknown field `isCa`")),
            "{:?}",
            problems(dir.path())
        );
        write(&text.replace("renewBefore: 120h", "renewBefore: 12h"));
        assert!(problems(dir.path()).iter().any(|f| f.message.contains("at least 48h")));
    }
}
