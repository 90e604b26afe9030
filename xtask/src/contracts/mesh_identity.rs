//! The mesh identity contract: linkerd-control-plane reads its issuer as cert-manager writes it
//! (`identity.issuer.scheme: kubernetes.io/tls` ↔ the Certificate `linkerd-identity-issuer` of
//! k8s/mesh/identity-issuer.yaml, valid against cert-manager's v1 schema and Linkerd's requirements,
//! its expiry alerted on ↔ its Issuer on the Secret the mesh step writes) ↔ cert-manager is a release
//! of the environment installed before the control plane; and Linkerd's proxy injector, which fails
//! closed in production, stands between no unmeshed namespace and the API server: every release
//! namespace carries `config.linkerd.io/admission-webhooks: disabled` (Linkerd's own install label), no
//! meshed overlay namespace does, and `linkerd` carries the labels `linkerd install` gives it.

use std::collections::BTreeSet;

use super::{HelmRelease, Inputs};
use crate::finding::Finding;
use crate::mesh::issuer;

const WEBHOOKS: &str = "config.linkerd.io/admission-webhooks";
/// What Linkerd's install sets on its own namespace (linkerd-control-plane templates/namespace.yaml).
const CONTROL_PLANE_LABELS: &[(&str, &str)] =
    &[(WEBHOOKS, "disabled"), ("linkerd.io/is-control-plane", "true"), ("linkerd.io/control-plane-ns", "linkerd")];

/// The releases `name` needs, directly or through others, among those the environment gets.
fn closure<'a>(releases: &'a [HelmRelease], name: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        if let Some(r) = releases.iter().find(|r| r.release.name == n) {
            for need in &r.release.needs {
                if let Some(found) = releases.iter().find(|x| &x.release.name == need) {
                    if seen.insert(found.release.name.as_str()) {
                        todo.push(need.clone());
                    }
                }
            }
        }
    }
    seen
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let Some(cp) = inputs.releases.iter().find(|r| r.release.name == "linkerd-control-plane") else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    let env = inputs.env.name();
    let reads = format!("linkerd-control-plane reads Secret {}/{}", issuer::NAMESPACE, issuer::ISSUER);
    let scheme = cp.value("identity.issuer.scheme").and_then(|v| v.as_str()).unwrap_or("linkerd.io/tls");
    if scheme != "kubernetes.io/tls" {
        findings.push(cp.finding_at(
            "scheme:",
            format!(
                "identity.issuer.scheme is {scheme}: the issuer is issued and renewed by cert-manager ({}), whose Secret is read with kubernetes.io/tls",
                issuer::MANIFEST
            ),
        ));
    }
    for f in issuer::problems(&inputs.root) {
        findings.push(Finding::new(
            &f.file,
            f.line,
            format!("{reads}, which cert-manager issues from here: {}", f.message),
        ));
    }
    let before = closure(&inputs.releases, "linkerd-control-plane");
    if !inputs.releases.iter().any(|r| r.release.name == "cert-manager") {
        findings.push(
            cp.finding(format!("{reads}, issued by cert-manager, but `{env}` does not get the cert-manager release")),
        );
    } else if !before.contains("cert-manager") {
        findings.push(cp.finding(format!(
            "{reads}, issued by cert-manager: it must `need` cert-manager, or its Certificate may be applied before cert-manager runs"
        )));
    }

    // The proxy injector's namespaceSelector excludes namespaces labelled admission-webhooks=disabled.
    let list = match crate::releases::load_list(&inputs.root) {
        Ok(list) => list,
        Err(e) => return vec![Finding::new(&inputs.root.join(crate::releases::LIST), None, format!("{e:#}"))],
    };
    let file = inputs.root.join(crate::releases::LIST);
    let policy = cp.value("webhookFailurePolicy").and_then(|v| v.as_str()).unwrap_or("Ignore").to_string();
    let used: BTreeSet<&str> = inputs.releases.iter().map(|r| r.release.namespace.as_str()).collect();
    for ns in list.namespaces.iter().filter(|n| !n.leave && used.contains(n.name.as_str())) {
        if ns.labels.get(WEBHOOKS).map(String::as_str) != Some("disabled") {
            findings.push(Finding::new(
                &file,
                Some(ns.line),
                format!(
                    "namespace `{}` is not meshed, but Linkerd's proxy injector (failurePolicy {policy} in `{env}`) admits its pods: \
                     label it {WEBHOOKS}: disabled, or its pods can't start while the injector is down",
                    ns.name
                ),
            ));
        }
        if ns.name == issuer::NAMESPACE {
            for (k, v) in CONTROL_PLANE_LABELS {
                if ns.labels.get(*k).map(String::as_str) != Some(v) {
                    findings.push(Finding::new(
                        &file,
                        Some(ns.line),
                        format!("namespace `linkerd` lacks the label {k}: {v} that `linkerd install` sets on it"),
                    ));
                }
            }
        }
    }
    for ns in inputs.overlay.of_kind("Namespace") {
        let meshed = ns.text(&["metadata", "annotations", "linkerd.io/inject"]) == Some("enabled");
        if meshed && ns.text(&["metadata", "labels", WEBHOOKS]) == Some("disabled") {
            findings.push(ns.finding(
                &inputs.overlay.dir,
                format!("asks for injection (linkerd.io/inject: enabled) but is labelled {WEBHOOKS}: disabled, so no pod of it is meshed"),
            ));
        }
    }
    findings
}
