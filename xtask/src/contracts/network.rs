//! The network contract. In the plan: the security groups the nodes carry (their launch templates'
//! `vpc_security_group_ids`; pods share their node's groups) are admitted by the database's and the
//! cache's groups on their ports (PostgreSQL 5432, Redis 6379) — one admitting rule is enough, as a
//! connection is allowed when any group of the source is. In the overlay: the NetworkPolicies let the
//! services that use them (the plan's `db_secret_names` keys; its ElastiCache users) out on those
//! ports, and PgBouncer, where it fronts PostgreSQL, too.

use serde_norway::Value;

use super::netpol::selects;
use super::{Inputs, Object, Overlay, Plan, Resource};
use crate::finding::Finding;
use crate::k8s::get;

const POSTGRES: u16 = 5432;
const REDIS: u16 = 6379;

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let mut findings = security_groups(&inputs.plan);
    findings.extend(policies(inputs));
    findings
}

/// The `aws_security_group`s an attribute of `r` is given (through module variables and outputs).
fn groups<'a>(plan: &'a Plan, r: &Resource, attr: &str) -> Vec<&'a Resource> {
    plan.attribute_sources(r, attr).into_iter().filter(|g| g.kind == "aws_security_group").collect()
}

/// Whether `group` has an ingress rule for `port` whose source is `from`.
fn admits(plan: &Plan, group: &Resource, from: &Resource, port: u16) -> bool {
    let is = |list: &[&Resource], g: &Resource| {
        list.iter().any(|x| x.kind == "aws_security_group" && x.address == g.address)
    };
    plan.tcp_ingress(port).iter().any(|(of, admitted)| is(of, group) && is(admitted, from))
}

fn security_groups(plan: &Plan) -> Vec<Finding> {
    let mut node_groups: Vec<&Resource> = Vec::new();
    for lt in plan.of_type("aws_launch_template") {
        for g in groups(plan, lt, "vpc_security_group_ids") {
            if !node_groups.iter().any(|n| n.address == g.address) {
                node_groups.push(g);
            }
        }
    }
    let mut findings = Vec::new();
    if node_groups.is_empty() {
        return findings;
    }
    let tiers = [
        ("aws_db_instance", "vpc_security_group_ids", "PostgreSQL", POSTGRES),
        ("aws_elasticache_replication_group", "security_group_ids", "Redis", REDIS),
    ];
    for (kind, attr, what, default_port) in tiers {
        for store in plan.of_type(kind) {
            let port = store.known("port").and_then(serde_json::Value::as_u64).map_or(default_port, |p| p as u16);
            for group in groups(plan, store, attr) {
                if !node_groups.iter().any(|n| admits(plan, group, n, port)) {
                    let nodes: Vec<&str> = node_groups.iter().map(|n| n.address.as_str()).collect();
                    findings.push(plan.finding(
                        group,
                        format!(
                            "the {what} group of {} admits none of the groups the nodes carry ({}) on TCP {port}: pods can't reach it",
                            store.address,
                            nodes.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    findings
}

// --- NetworkPolicies ----------------------------------------------------------------------------

fn labels(o: &Object) -> Option<&serde_norway::Mapping> {
    o.pod_spec()?;
    let template = match o.kind.as_str() {
        "CronJob" => get(&o.value, &["spec", "jobTemplate", "spec", "template"])?,
        "Pod" => &o.value,
        _ => get(&o.value, &["spec", "template"])?,
    };
    get(template, &["metadata", "labels"])?.as_mapping()
}

/// Whether the NetworkPolicies let a workload's pods out on TCP `port` (to anywhere).
fn egress_allowed(overlay: &Overlay, workload: &Object, port: u16) -> bool {
    let Some(labels) = labels(workload) else { return true };
    let applying: Vec<&Object> = overlay
        .of_kind("NetworkPolicy")
        .filter(|p| p.namespace == workload.namespace)
        .filter(|p| {
            let types = get(&p.value, &["spec", "policyTypes"]).and_then(Value::as_sequence);
            let egress = types.map_or_else(
                || get(&p.value, &["spec", "egress"]).is_some(),
                |t| t.iter().any(|x| x.as_str() == Some("Egress")),
            );
            egress && selects(get(&p.value, &["spec", "podSelector"]), labels)
        })
        .collect();
    if applying.is_empty() {
        return true;
    }
    applying.iter().any(|p| {
        get(&p.value, &["spec", "egress"]).and_then(Value::as_sequence).into_iter().flatten().any(|rule| {
            match rule.get("ports").and_then(Value::as_sequence) {
                None => true,
                Some(ports) if ports.is_empty() => true,
                Some(ports) => ports.iter().any(|x| {
                    let proto = x.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    let lo = x.get("port").and_then(Value::as_u64);
                    let hi = x.get("endPort").and_then(Value::as_u64).or(lo);
                    proto == "TCP"
                        && lo.is_none_or(|lo| lo <= u64::from(port) && hi.is_some_and(|hi| u64::from(port) <= hi))
                }),
            }
        })
    })
}

/// The services the plan gives a PostgreSQL database (the keys of `db_secret_names`) and a Redis
/// user (the ElastiCache users named after them).
fn users(inputs: &Inputs) -> Vec<(String, &'static str, u16)> {
    let mut out = Vec::new();
    for key in inputs.plan.output_keys("db_secret_names").unwrap_or_default() {
        out.push((key, "PostgreSQL", POSTGRES));
    }
    let workloads: Vec<&Object> = inputs.overlay.objects.iter().filter(|o| o.pod_spec().is_some()).collect();
    for user in inputs.plan.of_type("aws_elasticache_user") {
        let name = user.text("user_name").unwrap_or_default();
        if let Some(w) = workloads
            .iter()
            .filter(|w| name == w.name || name.ends_with(&format!("-{}", w.name)))
            .max_by_key(|w| w.name.len())
        {
            out.push((w.name.clone(), "Redis", REDIS));
        }
    }
    out
}

fn policies(inputs: &Inputs) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut wanted = users(inputs);
    if inputs.overlay.get("Deployment", "", "pgbouncer").is_some() {
        wanted.push(("pgbouncer".into(), "PostgreSQL", POSTGRES));
    }
    for (service, what, port) in wanted {
        let Some(workload) = inputs.overlay.objects.iter().find(|o| o.name == service && o.pod_spec().is_some()) else {
            continue;
        };
        if !egress_allowed(&inputs.overlay, workload, port) {
            findings.push(workload.finding(
                &inputs.overlay.dir,
                format!(
                    "uses {what} (the plan {}) but no NetworkPolicy lets its pods out on TCP {port}",
                    if port == POSTGRES {
                        "has a database for it: output db_secret_names"
                    } else {
                        "has an ElastiCache user for it"
                    }
                ),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVERLAY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: app}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: data-tier, namespace: app}\nspec:\n  podSelector:\n    matchExpressions: [{key: app, operator: In, values: [users]}]\n  policyTypes: [Egress]\n  egress:\n    - to: [{ipBlock: {cidr: 10.2.0.0/16}}]\n      ports: [{protocol: TCP, port: 5432}, {protocol: TCP, port: 6000, endPort: 6400}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: users, namespace: app}\nspec:\n  template:\n    metadata: {labels: {app: users}}\n    spec: {containers: [{name: users, image: users:1}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: search, namespace: app}\nspec:\n  template:\n    metadata: {labels: {app: search}}\n    spec: {containers: [{name: search, image: search:1}]}\n";

    #[test]
    fn egress_follows_the_policies_that_select_the_pods() {
        let dir = std::path::Path::new("k8s/overlays/x");
        let overlay = Overlay::from_render("x", dir, std::path::Path::new("/nonexistent"), OVERLAY).unwrap();
        let get = |name: &str| overlay.objects.iter().find(|o| o.name == name).unwrap();
        assert!(egress_allowed(&overlay, get("users"), POSTGRES));
        assert!(egress_allowed(&overlay, get("users"), REDIS), "6379 is inside the 6000-6400 range");
        assert!(!egress_allowed(&overlay, get("users"), 443));
        assert!(!egress_allowed(&overlay, get("search"), POSTGRES), "default deny: no policy lets search out");
    }
}
