//! Custom resources and the releases that install their CRDs: a release (or the overlay) may only
//! create objects of an API group whose CRDs a release installed before it provides. Which release
//! provides which groups is `provides` in helm-values/releases.toml; which groups a release creates
//! is read from its values (a `serviceMonitor`, `podMonitor` or `prometheusRule` with `enabled:
//! true`, the load balancer controller's `enableCertManager`) plus what `uses` declares.

use std::collections::BTreeSet;
use std::path::Path;

use serde_norway::Value;

use crate::finding::Finding;
use crate::k8s;

/// The Prometheus Operator's API group (ServiceMonitor, PodMonitor, PrometheusRule, ...).
pub const MONITORING: &str = "monitoring.coreos.com";

/// Values keys that create a Prometheus Operator object when their mapping has `enabled: true`
/// (compared without case: cert-manager spells it `servicemonitor`).
const MONITOR_KEYS: &[&str] = &["servicemonitor", "podmonitor", "prometheusrule"];

/// The groups a release's merged values create objects of, each with the key it was read from.
pub fn in_values(values: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(values, "", &mut found);
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

/// Whether an API group is one Kubernetes serves itself (the core group, `apps`, `*.k8s.io`) rather
/// than one a CRD adds. The Gateway API's groups end in k8s.io but come as CRDs.
pub fn is_builtin(group: &str) -> bool {
    let crd_groups_under_k8s_io = ["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"];
    !group.contains('.')
        || (group.ends_with(".k8s.io") && !crd_groups_under_k8s_io.contains(&group) && !group.ends_with(".x-k8s.io"))
}

/// The rendered overlay's custom resources: each group must be one of `provided`, the groups of
/// the releases `env` gets (the workloads are applied after every release).
pub fn check_overlay(provided: &BTreeSet<String>, env: &str, objects: &[Value], where_: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for o in objects {
        let api = k8s::text(o, &["apiVersion"]);
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        if is_builtin(group) || provided.contains(group) {
            continue;
        }
        findings.push(Finding::new(
            where_,
            None,
            format!(
                "{}: {api} needs CRDs that no release `{env}` gets provides (`provides` in helm-values/releases.toml)",
                k8s::object_name(o)
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
        assert_eq!(
            in_values(&values),
            [
                (MONITORING.to_string(), "values `prometheus.servicemonitor.enabled: true`".to_string()),
                ("cert-manager.io".to_string(), "values `enableCertManager: true`".to_string()),
            ]
        );
    }
}
