//! The order contract: what a release's objects need is in the cluster before the release installs.
//!
//! `deploy` puts things into a cluster in this order (xtask/src/cluster.rs): the objects k8s/cluster/
//! defines (as the overlay renders them), then each release in dependency order (its namespace first,
//! its chart's `crds/`), then the mesh, then the rest of the overlay (the workloads). A release is
//! installed with `helm --wait`: a volume whose StorageClass isn't there stays Pending, a pod whose
//! Secret isn't there never starts, and the release times out and rolls back — so the deploy never
//! reaches the step that would have made them. Checked here, per environment:
//!
//! - k8s/cluster/ holds only kinds Kubernetes serves itself (no release has installed a CRD yet);
//! - every volume a release's values claim (the storage contract's `value_claims`) takes a
//!   StorageClass that k8s/cluster/ defines — not one applied with the workloads, after every release;
//! - every Secret a release's values name as existing (`existingSecret`, `existingSecretName`, a
//!   `secretRef`/`secretKeyRef`/`secret` with a name) is made before the release: by no step of the
//!   workloads (a Secret, an ExternalSecret's target or a Certificate's `secretName` of the overlay are
//!   all applied after every release).
//!
//! A CRD group a release uses is checked against its `needs` by the release list's own checks
//! (`releases::check_all`), which is the order deploy installs them in.

use serde_norway::Value;

use super::storage::{self, at_values, Class};
use super::{Inputs, Object};
use crate::finding::Finding;

/// The groups of an object's apiVersion (`storage.k8s.io/v1` → `storage.k8s.io`; `v1` → ``).
fn group(o: &Object) -> &str {
    let api = o.text(&["apiVersion"]).unwrap_or("");
    api.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Keys whose string value names a Secret that must exist, and mappings whose `name` does.
const SECRET_KEYS: &[&str] = &["existingSecret", "existingSecretName"];
const SECRET_REFS: &[&str] = &["secretRef", "secretKeyRef"];

/// The Secrets a release's values name as existing: (values key path, secret name).
pub fn value_secrets(values: &Value) -> Vec<(Vec<String>, String)> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        match v {
            Value::Mapping(map) => {
                for (k, child) in map {
                    let Some(key) = k.as_str() else { continue };
                    path.push(key.to_string());
                    match (key, child) {
                        (k, Value::String(name)) if SECRET_KEYS.contains(&k) && !name.is_empty() => {
                            out.push((path.clone(), name.clone()));
                        }
                        (k, Value::Mapping(_)) if SECRET_REFS.contains(&k) => {
                            if let Some(name) = child.get("name").and_then(Value::as_str) {
                                path.push("name".into());
                                out.push((path.clone(), name.to_string()));
                                path.pop();
                            }
                        }
                        // A volume of a Secret: `secret: {secretName: …}`.
                        ("secret", Value::Mapping(_)) => {
                            if let Some(name) = child.get("secretName").and_then(Value::as_str) {
                                path.push("secretName".into());
                                out.push((path.clone(), name.to_string()));
                                path.pop();
                            }
                        }
                        _ => walk(child, path, out),
                    }
                    path.pop();
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(values, &mut Vec::new(), &mut out);
    out
}

/// The overlay object that makes Secret `ns/name`, if any (all of them are applied with the workloads).
fn secret_producer<'a>(inputs: &'a Inputs, ns: &str, name: &str) -> Option<&'a Object> {
    inputs.overlay.objects.iter().find(|o| {
        o.namespace == ns
            && match o.kind.as_str() {
                "Secret" => o.name == name,
                "ExternalSecret" => o.text(&["spec", "target", "name"]).unwrap_or(&o.name) == name,
                "Certificate" => o.text(&["spec", "secretName"]) == Some(name),
                _ => false,
            }
    })
}

fn place(o: &Object) -> String {
    match &o.origin {
        Some((file, line)) => format!("{} ({}:{line})", o.label(), file.display()),
        None => o.label(),
    }
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let overlay = &inputs.overlay;
    let first: Vec<&Object> =
        overlay.objects.iter().filter(|o| inputs.before_releases.contains(&(o.kind.clone(), o.name.clone()))).collect();
    let mut findings = Vec::new();
    for o in first.iter().filter(|o| !crate::crds::is_builtin(group(o))) {
        findings.push(o.finding(
            &overlay.dir,
            format!(
                "k8s/{}/ is applied before any release, when no CRD exists yet, but this is a custom resource ({}): define it in k8s/platform/ (applied with the workloads)",
                crate::k8s::BEFORE_RELEASES,
                o.text(&["apiVersion"]).unwrap_or("?")
            ),
        ));
    }
    let early: Vec<&Object> = first.iter().copied().filter(|o| o.kind == "StorageClass").collect();
    let is_default = |o: &&Object| {
        o.text(&["metadata", "annotations", "storageclass.kubernetes.io/is-default-class"]) == Some("true")
    };
    let late = |class: &Class| -> Option<&Object> {
        overlay.objects.iter().filter(|o| o.kind == "StorageClass" && !early.iter().any(|e| e.name == o.name)).find(
            |o| match class {
                Class::Default => is_default(o),
                Class::Named(n) => &o.name == n,
                Class::None => false,
            },
        )
    };
    for release in &inputs.releases {
        for (path, class) in storage::value_claims(&release.values) {
            let ready = match &class {
                Class::Default => early.iter().any(is_default),
                Class::Named(n) => early.iter().any(|e| &e.name == n),
                Class::None => true,
            };
            // A class nowhere in the overlay is the storage contract's finding.
            if let (false, Some(sc)) = (ready, late(&class)) {
                let what = match &class {
                    Class::Default => "the default StorageClass".to_string(),
                    _ => format!("StorageClass `{}`", sc.name),
                };
                findings.push(at_values(release, &path, format!(
                    "`{}` claims {what}, but {} is applied with the workloads, after every release: `helm --wait` would time out on the Pending volume. Define it in k8s/{}/ (applied before the releases)",
                    path.join("."),
                    place(sc),
                    crate::k8s::BEFORE_RELEASES
                )));
            }
        }
        let ns = &release.release.namespace;
        for (path, name) in value_secrets(&release.values) {
            let message = match secret_producer(inputs, ns, &name) {
                Some(p) => format!(
                    "`{}` names Secret {ns}/{name}, which {} makes only with the workloads, after every release: the release's pods can't start while it installs",
                    path.join("."),
                    place(p)
                ),
                None => format!(
                    "`{}` names Secret {ns}/{name}, which nothing the deploy runs before this release makes",
                    path.join(".")
                ),
            };
            findings.push(at_values(release, &path, message));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_named_as_existing_in_values() {
        let values: Value = serde_norway::from_str(
            "grafana:\n  admin: {existingSecret: grafana-admin}\nenvFrom:\n  - secretRef: {name: app}\nextraVolumes:\n  - name: certs\n    secret: {secretName: tls}\nplain: {secretName: made-by-the-chart}\nempty: {existingSecret: ''}\n",
        )
        .unwrap();
        let found: Vec<(String, String)> = value_secrets(&values).into_iter().map(|(p, n)| (p.join("."), n)).collect();
        assert_eq!(
            found,
            [
                ("grafana.admin.existingSecret".to_string(), "grafana-admin".to_string()),
                ("envFrom.0.secretRef.name".to_string(), "app".to_string()),
                ("extraVolumes.0.secret.secretName".to_string(), "tls".to_string()),
            ]
        );
    }
}
