//! NetworkPolicy paths over a rendered overlay: which pods there are (labels, ServiceAccount, container
//! ports, whether Linkerd meshes them) and which (source, destination pod, TCP port) the policies allow.
//!
//! A pod is a rendered workload's pod template. It is meshed when its namespace or its template says
//! `linkerd.io/inject: enabled` and its template does not say `disabled`; its mesh identity is
//! `<sa>.<ns>.serviceaccount.identity.linkerd.cluster.local`. A path is a (source, destination pod,
//! port) that the destination's ingress policies admit (podSelector, namespaceSelector and ipBlock
//! peers; numbered, named and ranged ports; a pod no policy isolates admits everything) and, for a
//! source pod of the overlay, its own egress policies let out. A source is a pod of the overlay, a
//! CIDR (an ipBlock), or pods of a namespace the overlay doesn't hold (taken as un-meshed). A pod's
//! calls to the pods of its own workload are not counted.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_norway::{Mapping, Value};

use super::Object;
use crate::k8s::{get, text};

const INJECT: &str = "linkerd.io/inject";
/// The Linkerd proxy's inbound port: meshed traffic arrives there.
pub const PROXY_INBOUND: u16 = 4143;

/// A workload's pods as the policies see them.
pub struct Pod<'a> {
    pub object: &'a Object,
    pub namespace: String,
    pub labels: Mapping,
    pub service_account: String,
    pub meshed: bool,
    /// (name, port) of every TCP container port.
    pub ports: Vec<(Option<String>, u16)>,
}

impl Pod<'_> {
    pub fn identity(&self) -> String {
        format!("{}.{}.serviceaccount.identity.linkerd.cluster.local", self.service_account, self.namespace)
    }

    /// A named port of the pod (the proxy's `linkerd-admin` and `linkerd-proxy` included).
    pub fn port(&self, name: &str) -> Option<u16> {
        match name {
            "linkerd-admin" => Some(4191),
            "linkerd-proxy" => Some(PROXY_INBOUND),
            _ => self.ports.iter().find(|(n, _)| n.as_deref() == Some(name)).map(|(_, p)| *p),
        }
    }
}

/// Every pod template of the overlay.
pub fn pods<'a>(objects: &'a [Object]) -> Vec<Pod<'a>> {
    let namespaces: Vec<&Object> = objects.iter().filter(|o| o.kind == "Namespace").collect();
    let mut out = Vec::new();
    for o in objects {
        let Some(spec) = o.pod_spec() else { continue };
        let template = match o.kind.as_str() {
            "CronJob" => get(&o.value, &["spec", "jobTemplate", "spec", "template"]),
            "Pod" => Some(&o.value),
            _ => get(&o.value, &["spec", "template"]),
        };
        let meta = template.and_then(|t| t.get("metadata")).cloned().unwrap_or(Value::Null);
        let ns_inject = namespaces
            .iter()
            .find(|n| n.name == o.namespace)
            .map(|n| text(&n.value, &["metadata", "annotations", INJECT]));
        let meshed = match text(&meta, &["annotations", INJECT]) {
            "enabled" => true,
            "disabled" => false,
            _ => ns_inject == Some("enabled"),
        };
        let mut ports = Vec::new();
        for c in spec.get("containers").and_then(Value::as_sequence).into_iter().flatten() {
            for p in c.get("ports").and_then(Value::as_sequence).into_iter().flatten() {
                let tcp = p.get("protocol").and_then(Value::as_str).is_none_or(|x| x == "TCP");
                if let (true, Some(n)) = (tcp, p.get("containerPort").and_then(Value::as_u64)) {
                    ports.push((p.get("name").and_then(Value::as_str).map(str::to_string), n as u16));
                }
            }
        }
        out.push(Pod {
            object: o,
            namespace: o.namespace.clone(),
            labels: meta.get("labels").and_then(Value::as_mapping).cloned().unwrap_or_default(),
            service_account: spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default").to_string(),
            meshed,
            ports,
        });
    }
    out
}

/// A label selector (`matchLabels`, `matchExpressions`) against labels; an absent selector selects all.
pub fn selects(selector: Option<&Value>, labels: &Mapping) -> bool {
    let Some(sel) = selector else { return true };
    let label = |k: &Value| labels.get(k).and_then(Value::as_str);
    let matched =
        sel.get("matchLabels").and_then(Value::as_mapping).into_iter().flatten().all(|(k, v)| label(k) == v.as_str());
    matched
        && sel.get("matchExpressions").and_then(Value::as_sequence).into_iter().flatten().all(|e| {
            let key = e.get("key").cloned().unwrap_or(Value::Null);
            let values: Vec<&str> =
                e.get("values").and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str).collect();
            match (e.get("operator").and_then(Value::as_str).unwrap_or(""), label(&key)) {
                ("In", Some(v)) => values.contains(&v),
                ("NotIn", v) => v.is_none_or(|v| !values.contains(&v)),
                ("Exists", v) => v.is_some(),
                ("DoesNotExist", v) => v.is_none(),
                _ => false,
            }
        })
}

/// Where traffic comes from.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A pod of the overlay (its index in `pods`).
    Pod(usize),
    Cidr(String),
    /// Pods of namespaces outside the overlay, as the selector says.
    Outside(String),
}

/// One (source, destination pod, port) the NetworkPolicies allow, with the ingress policy that admits it.
pub struct Path {
    pub source: Source,
    pub destination: usize,
    pub port: u16,
    pub policy: String,
}

/// The namespaces of the overlay with their labels (`kubernetes.io/metadata.name` included).
fn namespace_labels(objects: &[Object]) -> Vec<(String, Mapping)> {
    let mut out: Vec<(String, Mapping)> = objects
        .iter()
        .filter(|o| o.kind == "Namespace")
        .map(|o| {
            let mut labels =
                get(&o.value, &["metadata", "labels"]).and_then(Value::as_mapping).cloned().unwrap_or_default();
            labels.insert("kubernetes.io/metadata.name".into(), o.name.clone().into());
            (o.name.clone(), labels)
        })
        .collect();
    for ns in objects.iter().map(|o| o.namespace.clone()).filter(|n| !n.is_empty()).collect::<BTreeSet<_>>() {
        if !out.iter().any(|(n, _)| *n == ns) {
            let mut labels = Mapping::new();
            labels.insert("kubernetes.io/metadata.name".into(), ns.clone().into());
            out.push((ns, labels));
        }
    }
    out
}

/// The NetworkPolicies of an overlay, over its pods.
pub struct Policies<'a> {
    pods: &'a [Pod<'a>],
    namespaces: Vec<(String, Mapping)>,
    policies: Vec<&'a Object>,
}

impl<'a> Policies<'a> {
    pub fn new(objects: &'a [Object], pods: &'a [Pod<'a>]) -> Policies<'a> {
        Policies {
            pods,
            namespaces: namespace_labels(objects),
            policies: objects.iter().filter(|o| o.kind == "NetworkPolicy").collect(),
        }
    }

    /// The policies of `direction` (`Ingress`/`Egress`) that select `pod`.
    fn selecting(&self, pod: &Pod, direction: &str) -> Vec<&'a Object> {
        self.policies
            .iter()
            .copied()
            .filter(|p| p.namespace == pod.namespace && selects(get(&p.value, &["spec", "podSelector"]), &pod.labels))
            .filter(|p| {
                let types: Vec<&str> = get(&p.value, &["spec", "policyTypes"])
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if types.is_empty() {
                    direction == "Ingress" || get(&p.value, &["spec", "egress"]).is_some()
                } else {
                    types.contains(&direction)
                }
            })
            .collect()
    }

    /// Whether a peer entry covers a pod of the overlay.
    fn peer_has_pod(&self, policy: &Object, peer: &Value, pod: &Pod) -> bool {
        if peer.get("ipBlock").is_some() {
            return false;
        }
        let ns_ok = match peer.get("namespaceSelector") {
            None => pod.namespace == policy.namespace,
            Some(sel) => self.namespaces.iter().any(|(n, l)| *n == pod.namespace && selects(Some(sel), l)),
        };
        ns_ok && selects(peer.get("podSelector"), &pod.labels)
    }

    /// Whether a rule's `ports` admit `port` on the pod it goes to.
    fn admits_port(rule: &Value, to: &Pod, port: u16) -> bool {
        let Some(ports) = rule.get("ports").and_then(Value::as_sequence).filter(|p| !p.is_empty()) else { return true };
        ports.iter().any(|p| {
            let tcp = p.get("protocol").and_then(Value::as_str).is_none_or(|x| x == "TCP");
            let number = match p.get("port") {
                None => return tcp,
                Some(Value::String(name)) => to.port(name),
                Some(v) => v.as_u64().map(|n| n as u16),
            };
            let end = p.get("endPort").and_then(Value::as_u64).map(|n| n as u16);
            tcp && number.is_some_and(|n| n == port || end.is_some_and(|e| (n..=e).contains(&port)))
        })
    }

    fn rules<'v>(policy: &'v Object, key: &str) -> impl Iterator<Item = &'v Value> {
        get(&policy.value, &["spec", key]).and_then(Value::as_sequence).into_iter().flatten()
    }

    /// The ingress policy admitting `source` to `to` on `port` (`Some("")`: `to` is not isolated).
    fn ingress(&self, source: &Source, to: &Pod, port: u16) -> Option<String> {
        let selecting = self.selecting(to, "Ingress");
        if selecting.is_empty() {
            return Some(format!("no NetworkPolicy isolating {}", to.object.label()));
        }
        selecting.into_iter().find_map(|p| {
            Self::rules(p, "ingress")
                .filter(|r| Self::admits_port(r, to, port))
                .any(|r| match r.get("from").and_then(Value::as_sequence).filter(|f| !f.is_empty()) {
                    None => true,
                    Some(from) => from.iter().any(|peer| match source {
                        Source::Pod(i) => self.peer_has_pod(p, peer, &self.pods[*i]),
                        Source::Cidr(c) => text(peer, &["ipBlock", "cidr"]) == c,
                        Source::Outside(s) => peer_outside(&self.namespaces, peer).as_deref() == Some(s.as_str()),
                    }),
                })
                .then(|| p.label())
        })
    }

    /// Whether `from`'s egress policies let it reach `to` on `port`.
    fn egress(&self, from: &Pod, to: &Pod, port: u16) -> bool {
        let selecting = self.selecting(from, "Egress");
        selecting.is_empty()
            || selecting.into_iter().any(|p| {
                Self::rules(p, "egress").filter(|r| Self::admits_port(r, to, port)).any(|r| {
                    match r.get("to").and_then(Value::as_sequence).filter(|t| !t.is_empty()) {
                        None => true,
                        Some(peers) => peers.iter().any(|peer| self.peer_has_pod(p, peer, to)),
                    }
                })
            })
    }

    /// The ingress policy that lets `source` reach pod `to` on `port`, when its egress lets it out too.
    pub fn allowed(&self, source: &Source, to: usize, port: u16) -> Option<String> {
        let dst = &self.pods[to];
        let admitted = self.ingress(source, dst, port)?;
        match source {
            Source::Pod(i) if !self.egress(&self.pods[*i], dst, port) => None,
            _ => Some(admitted),
        }
    }
}

/// The namespaces outside the overlay a peer names (`monitoring`, or its selector as text).
fn peer_outside(namespaces: &[(String, Mapping)], peer: &Value) -> Option<String> {
    let sel = peer.get("namespaceSelector")?;
    let name = text(sel, &["matchLabels", "kubernetes.io/metadata.name"]);
    if !name.is_empty() && namespaces.iter().any(|(n, _)| n == name) {
        return None;
    }
    let pods = peer.get("podSelector").map(|p| format!(" pods {}", compact(p))).unwrap_or_default();
    Some(if name.is_empty() { format!("namespaces {}{pods}", compact(sel)) } else { format!("namespace {name}{pods}") })
}

/// The namespace an outside source is named by (`namespace monitoring pods …` → `monitoring`).
pub fn outside_namespace(peer: &str) -> Option<&str> {
    peer.strip_prefix("namespace ")?.split(' ').next()
}

/// A label selector as `k=v, k In [a, b]`.
fn compact(v: &Value) -> String {
    let mut parts: Vec<String> = v
        .get("matchLabels")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{}={}", k.as_str().unwrap_or(""), v.as_str().unwrap_or("")))
        .collect();
    for e in v.get("matchExpressions").and_then(Value::as_sequence).into_iter().flatten() {
        let values: Vec<&str> =
            e.get("values").and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str).collect();
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        parts.push(format!(
            "{key} {} [{}]",
            e.get("operator").and_then(Value::as_str).unwrap_or(""),
            values.join(", ")
        ));
    }
    if parts.is_empty() {
        "(all)".into()
    } else {
        parts.join(", ")
    }
}

/// Every NetworkPolicy path to a meshed pod (proxy inbound port excluded).
pub fn paths(objects: &[Object], pods: &[Pod]) -> Vec<Path> {
    let np = Policies::new(objects, pods);
    let mut out: Vec<Path> = Vec::new();
    for (d, dst) in pods.iter().enumerate().filter(|(_, p)| p.meshed) {
        let mut sources: BTreeSet<Source> = (0..pods.len()).filter(|i| *i != d).map(Source::Pod).collect();
        let mut ports: BTreeSet<u16> = dst.ports.iter().map(|(_, p)| *p).collect();
        for p in np.selecting(dst, "Ingress") {
            for rule in Policies::rules(p, "ingress") {
                for peer in rule.get("from").and_then(Value::as_sequence).into_iter().flatten() {
                    if let Some(c) = get(peer, &["ipBlock", "cidr"]).and_then(Value::as_str) {
                        sources.insert(Source::Cidr(c.to_string()));
                    }
                    sources.extend(peer_outside(&np.namespaces, peer).map(Source::Outside));
                }
                for port in rule.get("ports").and_then(Value::as_sequence).into_iter().flatten() {
                    // A range adds only the container ports inside it (already in the set).
                    ports.extend(match port.get("port") {
                        Some(Value::String(n)) => dst.port(n),
                        Some(v) if port.get("endPort").is_none() => v.as_u64().map(|n| n as u16),
                        _ => None,
                    });
                }
            }
        }
        ports.remove(&PROXY_INBOUND);
        for source in sources {
            for &port in &ports {
                if let Some(policy) = np.allowed(&source, d, port) {
                    out.push(Path { source: source.clone(), destination: d, port, policy });
                }
            }
        }
    }
    out
}

pub fn parse_cidr(c: &str) -> Option<(u32, u32)> {
    let (addr, bits) = c.split_once('/')?;
    let (addr, bits): (Ipv4Addr, u32) = (addr.parse().ok()?, bits.parse().ok()?);
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits.min(32)) };
    Some((u32::from(addr) & mask, mask))
}

/// Whether network `outer` holds all of `inner`.
pub fn contains(outer: &str, inner: &str) -> bool {
    match (parse_cidr(outer), parse_cidr(inner)) {
        (Some((o, om)), Some((i, im))) => om & im == om && i & om == o,
        _ => outer == inner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVERLAY: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: into-db, namespace: app}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: In, values: [db]}]}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}}]
      ports: [{port: sql}, {port: 9000, endPort: 9002}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out-of-web, namespace: app}
spec:
  podSelector: {matchLabels: {tier: web}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {tier: db}}}], ports: [{port: 5432}, {port: 9001}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec: {template: {metadata: {labels: {tier: web}}, spec: {containers: [{name: w}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: app}
spec: {template: {metadata: {labels: {tier: batch}, annotations: {linkerd.io/inject: disabled}}, spec: {containers: [{name: b}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: app}
spec:
  template:
    metadata: {labels: {tier: db}}
    spec: {serviceAccountName: db, containers: [{name: d, ports: [{name: sql, containerPort: 5432}, {containerPort: 9001}]}]}
"#;

    #[test]
    fn paths_need_ingress_and_the_sources_egress() {
        let dir = std::path::Path::new("x");
        let objects =
            super::super::Overlay::from_render("x", dir, std::path::Path::new("/none"), OVERLAY).unwrap().objects;
        let pods = pods(&objects);
        assert_eq!(
            pods.iter().map(|p| (p.object.name.as_str(), p.meshed)).collect::<Vec<_>>(),
            [("web", true), ("batch", false), ("db", true)]
        );
        assert_eq!(pods[2].identity(), "db.app.serviceaccount.identity.linkerd.cluster.local");
        let found: Vec<(usize, u16)> = paths(&objects, &pods)
            .iter()
            .map(|p| match p.source {
                Source::Pod(i) => (i, p.port),
                _ => (99, p.port),
            })
            .collect();
        // web reaches db on the named port and inside the range; batch has no egress policy letting it
        // out; a namespaceSelector by a label other than the name also admits namespaces outside.
        assert_eq!(found, [(0, 5432), (0, 9001), (99, 5432), (99, 9001)]);
        assert!(contains("10.0.0.0/16", "10.0.1.0/24") && !contains("10.0.1.0/24", "10.0.0.0/16"));
        assert_eq!(outside_namespace("namespace monitoring pods app=prometheus"), Some("monitoring"));
    }
}
