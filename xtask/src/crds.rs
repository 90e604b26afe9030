//! Custom resources and the releases that install their CRDs: a release (or the overlay) may only
//! create objects of an API group whose CRDs a release installed before it provides. Which release
//! provides which groups is `provides` in helm-values/releases.toml; which groups a release creates
//! is read from its values (a `serviceMonitor`, `podMonitor` or `prometheusRule` with `enabled:
//! true`, the load balancer controller's `enableCertManager`) plus what `uses` declares.

use std::collections::BTreeSet;
use std::path::Path;

use serde_norway::Value;

use crate::finding::Finding;
use crate::releases::{Release, LIST};

/// The Prometheus Operator's API group (ServiceMonitor, PodMonitor, PrometheusRule, ...).
pub const MONITORING: &str = "monitoring.coreos.com";

/// Values keys that create a Prometheus Operator object when their mapping has `enabled: true`
/// (compared without case: cert-manager spells it `servicemonitor`).
const MONITOR_KEYS: &[&str] = &["servicemonitor", "podmonitor", "prometheusrule"];

/// The groups a release's objects belong to in `env`, each with where that was read.
pub fn uses(root: &Path, release: &Release, env: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(&release.values(root, env), "", &mut found);
    found.extend(release.uses.iter().map(|g| (g.clone(), "its `uses`".to_string())));
    let mut seen = BTreeSet::new();
    found.retain(|(g, _)| seen.insert(g.clone()));
    found
}

fn walk(v: &Value, at: &str, found: &mut Vec<(String, String)>) {
    let Some(map) = v.as_mapping() else { return };
    for (k, child) in map {
        let Some(key) = k.as_str() else { continue };
        let path = if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
        let enabled = child.get("enabled").and_then(Value::as_bool) == Some(true);
        if MONITOR_KEYS.contains(&key.to_ascii_lowercase().as_str()) && enabled {
            found.push((MONITORING.to_string(), format!("values `{path}.enabled: true`")));
        }
        if key == "enableCertManager" && child.as_bool() == Some(true) {
            found.push(("cert-manager.io".to_string(), format!("values `{path}: true`")));
        }
        walk(child, &path, found);
    }
}

/// Every release the list gives `env` whose objects need CRDs that neither it nor anything in its
/// `needs` closure provides.
pub fn check_order(root: &Path, releases: &[Release]) -> Vec<Finding> {
    let file = root.join(LIST);
    let mut findings = Vec::new();
    for r in releases {
        for env in &r.environments {
            let provided = provided_before(releases, r);
            for (group, why) in uses(root, r, env) {
                if provided.contains(&group) {
                    continue;
                }
                let providers: Vec<&str> =
                    releases.iter().filter(|o| o.provides.contains(&group)).map(|o| o.name.as_str()).collect();
                let fix = match providers.as_slice() {
                    [] => "no release in the list provides them: add the release that installs those CRDs".to_string(),
                    some => format!("add `{}` to its needs", some.join("` or `")),
                };
                findings.push(Finding::new(
                    &file,
                    Some(r.line),
                    format!(
                        "release `{}` creates {group} objects in `{env}` ({why}) but no release it needs provides those CRDs: {fix}",
                        r.name
                    ),
                ));
            }
        }
    }
    findings
}

/// The groups a release can rely on: its own CRDs and those of everything it needs, transitively.
fn provided_before(releases: &[Release], release: &Release) -> BTreeSet<String> {
    let mut groups: BTreeSet<String> = release.provides.iter().cloned().collect();
    let mut stack: Vec<&str> = release.needs.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(r) = releases.iter().find(|r| r.name == name) {
            groups.extend(r.provides.iter().cloned());
            stack.extend(r.needs.iter().map(String::as_str));
        }
    }
    groups
}

/// Whether an API group is one Kubernetes serves itself (the core group, `apps`, `*.k8s.io`) rather
/// than one a CRD adds. The Gateway API's groups end in k8s.io but come as CRDs.
pub fn is_builtin(group: &str) -> bool {
    let crd_groups_under_k8s_io = ["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"];
    !group.contains('.')
        || (group.ends_with(".k8s.io") && !crd_groups_under_k8s_io.contains(&group) && !group.ends_with(".x-k8s.io"))
}

/// The rendered overlay's custom resources: each group must be provided by a release `env` gets
/// (the workloads are applied after every release).
pub fn check_overlay(releases: &[Release], env: &str, objects: &[Value], where_: &Path) -> Vec<Finding> {
    let provided: BTreeSet<&str> = releases
        .iter()
        .filter(|r| r.environments.iter().any(|e| e == env))
        .flat_map(|r| r.provides.iter().map(String::as_str))
        .collect();
    let mut findings = Vec::new();
    for o in objects {
        let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        if is_builtin(group) || provided.contains(group) {
            continue;
        }
        findings.push(Finding::new(
            where_,
            None,
            format!(
                "{}: {api} needs CRDs that no release `{env}` gets provides (`provides` in {LIST})",
                crate::k8s::object_name(o)
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_groups_are_not_custom_resources() {
        for g in ["", "apps", "policy", "networking.k8s.io", "rbac.authorization.k8s.io", "autoscaling"] {
            assert!(is_builtin(g), "{g}");
        }
        for g in [MONITORING, "policy.linkerd.io", "elbv2.k8s.aws", "gateway.networking.k8s.io"] {
            assert!(!is_builtin(g), "{g}");
        }
    }

    #[test]
    fn monitors_and_cert_manager_are_read_from_values() {
        let values: Value = serde_norway::from_str(
            "prometheus:\n  servicemonitor:\n    enabled: true\npodMonitor:\n  enabled: false\nenableCertManager: true\n",
        )
        .unwrap();
        let mut found = Vec::new();
        walk(&values, "", &mut found);
        assert_eq!(
            found,
            [
                (MONITORING.to_string(), "values `prometheus.servicemonitor.enabled: true`".to_string()),
                ("cert-manager.io".to_string(), "values `enableCertManager: true`".to_string()),
            ]
        );
    }
}
