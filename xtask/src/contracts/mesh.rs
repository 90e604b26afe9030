//! The mesh contract: Linkerd's authorizations mirror the NetworkPolicies, no more and no fewer.
//!
//! The paths are `netpol`'s, to meshed destination pods. Port 4143, the proxy's inbound port, carries
//! the meshed traffic itself: it is no path of its own, but every meshed-to-meshed path must also be
//! allowed on it. An authorization is a Linkerd `AuthorizationPolicy` on a `Server` (its podSelector
//! and port; a policy on the Namespace covers all its Servers) whose required authentications a
//! source meets: `MeshTLSAuthentication` identities (or `identityRefs` to ServiceAccounts) for meshed
//! pods, `NetworkAuthentication` networks for everything else — a CIDR source inside a network, a
//! source whose address is only known to be in the VPC (un-meshed pods, other namespaces) inside a
//! network holding the VPC's CIDR from the plan (or a deploy-time `${terraform:…}` binding). Every
//! path needs an authorization; every authorization (each identity or network, on each meshed pod
//! its Server selects) needs a path; a meshed namespace denies by default
//! (`config.linkerd.io/default-inbound-policy: deny`).

use std::collections::BTreeMap;

use super::netpol::{contains, outside_namespace, paths, pods, selects, Path, Pod, Policies, Source, PROXY_INBOUND};
use super::{Inputs, Object};
use crate::finding::Finding;
use crate::k8s::{get, text};
use serde_norway::Value;

const DEFAULT_POLICY: &str = "config.linkerd.io/default-inbound-policy";

/// A Linkerd Server with the pods it selects.
struct Server<'a> {
    object: &'a Object,
    pods: Vec<usize>,
    port: Option<u16>,
    port_text: String,
}

/// What an AuthorizationPolicy requires of a source.
struct Authorization<'a> {
    object: &'a Object,
    servers: Vec<usize>,
    /// Identity patterns (MeshTLSAuthentication), if one is required.
    identities: Option<Vec<String>>,
    /// Networks (NetworkAuthentication), if one is required.
    networks: Option<Vec<String>>,
}

fn servers<'a>(objects: &'a [Object], pods: &[Pod]) -> Vec<Server<'a>> {
    objects
        .iter()
        .filter(|o| {
            o.kind == "Server" && o.value["apiVersion"].as_str().unwrap_or("").starts_with("policy.linkerd.io/")
        })
        .map(|o| {
            let selected: Vec<usize> = (0..pods.len())
                .filter(|i| {
                    pods[*i].namespace == o.namespace
                        && selects(get(&o.value, &["spec", "podSelector"]), &pods[*i].labels)
                })
                .collect();
            let (port, port_text) = match get(&o.value, &["spec", "port"]) {
                Some(Value::String(n)) => (selected.iter().find_map(|i| pods[*i].port(n)), n.clone()),
                Some(v) => (v.as_u64().map(|n| n as u16), v.as_u64().unwrap_or(0).to_string()),
                None => (None, "?".into()),
            };
            Server { object: o, pods: selected, port, port_text }
        })
        .collect()
}

fn authorizations<'a>(
    objects: &'a [Object],
    servers: &[Server],
    dir: &std::path::Path,
) -> (Vec<Authorization<'a>>, Vec<Finding>) {
    let mut out = Vec::new();
    let mut findings = Vec::new();
    let find = |kind: &str, ns: &str, name: &str| {
        objects.iter().find(|o| o.kind == kind && o.namespace == ns && o.name == name)
    };
    for o in objects.iter().filter(|o| o.kind == "AuthorizationPolicy") {
        let target = get(&o.value, &["spec", "targetRef"]).cloned().unwrap_or(Value::Null);
        let (kind, name) = (text(&target, &["kind"]), text(&target, &["name"]));
        let targeted: Vec<usize> = (0..servers.len())
            .filter(|i| {
                servers[*i].object.namespace == o.namespace
                    && (kind == "Namespace" || kind == "Server" && servers[*i].object.name == name)
            })
            .collect();
        if targeted.is_empty() {
            findings.push(o.finding(dir, format!("targets {kind} `{name}`, which is no Server of the overlay")));
            continue;
        }
        let (mut identities, mut networks) = (None::<Vec<String>>, None::<Vec<String>>);
        for r in
            get(&o.value, &["spec", "requiredAuthenticationRefs"]).and_then(Value::as_sequence).into_iter().flatten()
        {
            let (kind, name) = (text(r, &["kind"]), text(r, &["name"]));
            let ns = Some(text(r, &["namespace"])).filter(|n| !n.is_empty()).unwrap_or(&o.namespace);
            match kind {
                "ServiceAccount" => identities
                    .get_or_insert_with(Vec::new)
                    .push(format!("{name}.{ns}.serviceaccount.identity.linkerd.cluster.local")),
                "MeshTLSAuthentication" | "NetworkAuthentication" => {
                    let Some(auth) = find(kind, ns, name) else {
                        findings.push(
                            o.finding(dir, format!("requires {kind} `{ns}/{name}`, which the overlay doesn't have")),
                        );
                        continue;
                    };
                    if kind == "NetworkAuthentication" {
                        let nets =
                            get(&auth.value, &["spec", "networks"]).and_then(Value::as_sequence).into_iter().flatten();
                        networks.get_or_insert_with(Vec::new).extend(nets.map(|n| text(n, &["cidr"]).to_string()));
                    } else {
                        let list = identities.get_or_insert_with(Vec::new);
                        list.extend(
                            get(&auth.value, &["spec", "identities"])
                                .and_then(Value::as_sequence)
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_string),
                        );
                        for r in get(&auth.value, &["spec", "identityRefs"])
                            .and_then(Value::as_sequence)
                            .into_iter()
                            .flatten()
                        {
                            let rns = Some(text(r, &["namespace"])).filter(|n| !n.is_empty()).unwrap_or(ns);
                            let rname = Some(text(r, &["name"])).filter(|n| !n.is_empty()).unwrap_or("*");
                            list.push(match text(r, &["kind"]) {
                                "Namespace" => format!("*.{rname}.serviceaccount.identity.linkerd.cluster.local"),
                                _ => format!("{rname}.{rns}.serviceaccount.identity.linkerd.cluster.local"),
                            });
                        }
                    }
                }
                other => findings.push(o.finding(
                    dir,
                    format!("requires a {other}, which this contract can't match to a NetworkPolicy path"),
                )),
            }
        }
        out.push(Authorization { object: o, servers: targeted, identities, networks });
    }
    (out, findings)
}

/// `*` matches one or more DNS labels' worth of characters, as Linkerd's identity patterns do.
fn identity_matches(pattern: &str, identity: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(rest) => identity.ends_with(rest) && identity.len() > rest.len(),
        None => pattern == identity,
    }
}
fn meets(a: &Authorization, source: &Source, pods: &[Pod], vpc: Option<&str>) -> bool {
    let in_network = |nets: &Vec<String>| match source {
        Source::Cidr(c) => nets.iter().any(|n| contains(n, c)),
        _ => nets.iter().any(|n| n.contains("${terraform:") || vpc.is_none_or(|v| contains(n, v))),
    };
    let meshed_identity = match source {
        Source::Pod(i) if pods[*i].meshed => Some(pods[*i].identity()),
        _ => None,
    };
    let id_ok = match (&a.identities, source) {
        (None, _) => true,
        // Pods of a namespace outside the overlay are taken as meshed when an identity of it is named.
        (Some(ids), Source::Outside(peer)) => {
            outside_namespace(peer).is_some_and(|ns| ids.iter().any(|p| namespace_of(p) == Some(ns)))
        }
        (Some(ids), _) => meshed_identity.as_ref().is_some_and(|me| ids.iter().any(|p| identity_matches(p, me))),
    };
    let net_ok = a.networks.as_ref().is_none_or(in_network);
    id_ok && net_ok && (a.identities.is_some() || a.networks.is_some())
}

/// The namespace of a mesh identity (pattern): `*.linkerd.serviceaccount.identity.linkerd.cluster.local` → `linkerd`.
fn namespace_of(identity: &str) -> Option<&str> {
    identity.strip_suffix(".serviceaccount.identity.linkerd.cluster.local")?.rsplit('.').next()
}

fn describe(source: &Source, pods: &[Pod]) -> String {
    match source {
        Source::Pod(i) if pods[*i].meshed => {
            format!("{} (meshed as {})", pods[*i].object.label(), pods[*i].service_account)
        }
        Source::Pod(i) => format!("{} (not meshed)", pods[*i].object.label()),
        Source::Cidr(c) => c.clone(),
        Source::Outside(s) => s.clone(),
    }
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let vpc = inputs.plan.of_type("aws_vpc").find_map(|v| v.text("cidr_block")).map(str::to_string);
    check_objects(&inputs.overlay.objects, &inputs.overlay.dir, vpc.as_deref())
}

/// The contract over rendered objects; `dir` is where findings without a source file point.
pub fn check_objects(objects: &[Object], dir: &std::path::Path, vpc: Option<&str>) -> Vec<Finding> {
    let pods = pods(objects);
    let servers = servers(objects, &pods);
    let (auths, mut findings) = authorizations(objects, &servers, dir);
    let at = |o: &Object, m: String| o.finding(dir, m);
    for ns in objects.iter().filter(|o| o.kind == "Namespace") {
        let meshed = pods.iter().any(|p| p.meshed && p.namespace == ns.name);
        if meshed && text(&ns.value, &["metadata", "annotations", DEFAULT_POLICY]) != "deny" {
            findings.push(at(
                ns,
                format!(
                    "has meshed pods but `{DEFAULT_POLICY}` is not `deny`: Linkerd admits what no authorization names"
                ),
            ));
        }
    }
    let np = Policies::new(objects, &pods);
    let paths = paths(objects, &pods);
    // (destination, port, policy) → the sources it admits that miss a Server, an authorization, 4143.
    let mut missing: BTreeMap<(usize, u16, String, u8), Vec<String>> = BTreeMap::new();
    let mut servers_of: BTreeMap<(usize, u16), Vec<String>> = BTreeMap::new();
    for path in &paths {
        let offering: Vec<usize> = (0..servers.len())
            .filter(|s| servers[*s].pods.contains(&path.destination) && servers[*s].port == Some(path.port))
            .collect();
        let from = describe(&path.source, &pods);
        let key = |kind: u8| (path.destination, path.port, path.policy.clone(), kind);
        if offering.is_empty() {
            missing.entry(key(0)).or_default().push(from);
            continue;
        }
        servers_of.insert((path.destination, path.port), offering.iter().map(|s| servers[*s].object.label()).collect());
        let authorized =
            auths.iter().any(|a| a.servers.iter().any(|s| offering.contains(s)) && meets(a, &path.source, &pods, vpc));
        if !authorized {
            missing.entry(key(1)).or_default().push(from.clone());
        }
        if let Source::Pod(i) = path.source {
            if pods[i].meshed && np.allowed(&path.source, path.destination, PROXY_INBOUND).is_none() {
                missing.entry(key(2)).or_default().push(from);
            }
        }
    }
    for ((d, port, policy, kind), sources) in missing {
        let what = match kind {
            0 => "but no Linkerd Server selects these pods on that port".to_string(),
            1 => format!(
                "but no AuthorizationPolicy on {} admits them (a MeshTLSAuthentication of a meshed source's identity, a NetworkAuthentication of any other source's network)",
                servers_of.get(&(d, port)).map(|s| s.join(", ")).unwrap_or_default()
            ),
            _ => format!("but the policies don't allow those paths on the proxy's inbound port {PROXY_INBOUND} (meshed traffic arrives there)"),
        };
        findings.push(at(pods[d].object, format!("{policy} admits {} on port {port}, {what}", sources.join("; "))));
    }
    for s in &servers {
        if !s.pods.iter().any(|p| pods[*p].meshed) {
            findings.push(at(s.object, "selects no meshed pod of the overlay".into()));
        } else if s.port.is_none() {
            findings.push(at(s.object, format!("port `{}` is no container port of the pods it selects", s.port_text)));
        }
    }
    for a in &auths {
        let mut claimed: Vec<Source> = Vec::new();
        for id in a.identities.iter().flatten() {
            let matching: Vec<usize> =
                (0..pods.len()).filter(|i| pods[*i].meshed && identity_matches(id, &pods[*i].identity())).collect();
            let outside = namespace_of(id).filter(|ns| !objects.iter().any(|o| o.kind == "Namespace" && o.name == *ns));
            if let Some(ns) = outside {
                let admitted = paths.iter().any(|p| {
                    matches!(&p.source, Source::Outside(peer) if outside_namespace(peer) == Some(ns))
                        && a.servers
                            .iter()
                            .any(|s| servers[*s].pods.contains(&p.destination) && servers[*s].port == Some(p.port))
                });
                if !admitted {
                    findings.push(at(a.object, format!("authorizes identity {id}, but no NetworkPolicy admits namespace {ns} to the pods and port of its Server")));
                }
            } else if matching.is_empty() {
                findings
                    .push(at(a.object, format!("authorizes identity {id}, which no meshed pod of the overlay has")));
            }
            claimed.extend(matching.into_iter().map(Source::Pod));
        }
        if a.identities.is_none() {
            for net in a.networks.iter().flatten() {
                let covered: Vec<&Path> = paths
                    .iter()
                    .filter(|p| {
                        a.servers
                            .iter()
                            .any(|s| servers[*s].pods.contains(&p.destination) && servers[*s].port == Some(p.port))
                    })
                    .filter(|p| match &p.source {
                        Source::Cidr(c) => contains(net, c),
                        Source::Pod(i) => !pods[*i].meshed && meets(a, &p.source, &pods, vpc),
                        Source::Outside(_) => meets(a, &p.source, &pods, vpc),
                    })
                    .collect();
                if covered.is_empty() {
                    findings.push(at(a.object, format!("authorizes network {net}, but no NetworkPolicy admits anything from it to the pods and port of its Server")));
                }
            }
        }
        for source in claimed {
            for s in &a.servers {
                let server = &servers[*s];
                let Some(port) = server.port else { continue };
                for d in server.pods.iter().filter(|d| pods[**d].meshed && Source::Pod(**d) != source) {
                    if !paths.iter().any(|p| p.source == source && p.destination == *d && p.port == port) {
                        findings.push(at(
                            a.object,
                            format!(
                                "authorizes {} to {} on port {port} ({}), but no NetworkPolicy path allows it",
                                describe(&source, &pods),
                                pods[*d].object.label(),
                                server.object.label()
                            ),
                        ));
                    }
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A meshed namespace: the ALB → gateway → content, Prometheus → metrics, each path authorized.
    const GOOD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app, annotations: {linkerd.io/inject: enabled, config.linkerd.io/default-inbound-policy: deny}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-content, namespace: app}
spec:
  podSelector: {matchLabels: {app: content}}
  ingress: [{from: [{podSelector: {matchLabels: {app: gateway}}}], ports: [{port: http}, {port: 4143}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: calls, namespace: app}
spec:
  podSelector: {matchLabels: {app: gateway}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: content}}}], ports: [{port: 8080}, {port: 4143}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: alb, namespace: app}
spec:
  podSelector: {matchLabels: {app: gateway}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}], ports: [{port: 8080}, {port: 4143}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: scrapes, namespace: app}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}], ports: [{port: 9090}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: app}
spec:
  template:
    metadata: {labels: {app: gateway}}
    spec:
      serviceAccountName: gateway
      containers: [{name: g, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: content, namespace: app}
spec:
  template:
    metadata: {labels: {app: content}}
    spec:
      serviceAccountName: content
      containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: setup, namespace: app}
spec:
  template:
    metadata: {labels: {app: setup}, annotations: {linkerd.io/inject: disabled}}
    spec: {containers: [{name: s}]}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: content-http, namespace: app}
spec: {podSelector: {matchLabels: {app: content}}, port: http}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: gateway-http, namespace: app}
spec: {podSelector: {matchLabels: {app: gateway}}, port: 8080}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: metrics, namespace: app}
spec: {podSelector: {matchExpressions: [{key: app, operator: In, values: [gateway, content]}]}, port: metrics}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: gateway, namespace: app}
spec: {identityRefs: [{kind: ServiceAccount, name: gateway}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: content-from-gateway, namespace: app}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: content-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: gateway}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: alb, namespace: app}
spec: {networks: [{cidr: 10.0.1.0/24}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: gateway-from-alb, namespace: app}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: gateway-http}
  requiredAuthenticationRefs: [{kind: NetworkAuthentication, name: alb}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: vpc, namespace: app}
spec: {networks: [{cidr: 10.0.0.0/16}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: metrics-from-prometheus, namespace: app}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: metrics}
  requiredAuthenticationRefs: [{kind: NetworkAuthentication, name: vpc}]
"#;

    fn check(yaml: &str) -> Vec<String> {
        let dir = std::path::Path::new("k8s/overlays/x");
        let overlay = super::super::Overlay::from_render("x", dir, std::path::Path::new("/nonexistent"), yaml).unwrap();
        check_objects(&overlay.objects, dir, Some("10.0.0.0/16")).iter().map(|f| f.message.clone()).collect()
    }

    #[test]
    fn paths_and_authorizations_that_mirror_each_other_pass() {
        let objects =
            super::super::Overlay::from_render("x", std::path::Path::new("x"), std::path::Path::new("/none"), GOOD)
                .unwrap()
                .objects;
        let pods = pods(&objects);
        assert_eq!(pods.iter().map(|p| p.meshed).collect::<Vec<_>>(), [true, true, false], "the Job says disabled");
        let mut found: Vec<String> = paths(&objects, &pods)
            .iter()
            .map(|p| format!("{} -> {}:{}", describe(&p.source, &pods), pods[p.destination].object.name, p.port))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "10.0.1.0/24 -> gateway:8080",
                "Deployment app/gateway (meshed as gateway) -> content:8080",
                "namespace monitoring -> content:9090",
                "namespace monitoring -> gateway:9090",
            ]
        );
        assert_eq!(check(GOOD), Vec::<String>::new());
    }

    #[test]
    fn a_path_without_an_authorization_and_an_authorization_without_a_path_are_named() {
        let no_auth = GOOD.replace("kind: Server, name: content-http}", "kind: Server, name: metrics}");
        let messages = check(&no_auth);
        assert!(messages.contains(&"Deployment app/content: NetworkPolicy app/to-content admits Deployment app/gateway (meshed as gateway) on port 8080, but no AuthorizationPolicy on Server app/content-http admits them (a MeshTLSAuthentication of a meshed source's identity, a NetworkAuthentication of any other source's network)".to_string()), "{messages:#?}");
        assert!(messages.contains(&"AuthorizationPolicy app/content-from-gateway: authorizes Deployment app/gateway (meshed as gateway) to Deployment app/content on port 9090 (Server app/metrics), but no NetworkPolicy path allows it".to_string()), "{messages:#?}");
        let no_proxy_port = GOOD.replace("ports: [{port: http}, {port: 4143}]", "ports: [{port: http}]");
        assert_eq!(check(&no_proxy_port), ["Deployment app/content: NetworkPolicy app/to-content admits Deployment app/gateway (meshed as gateway) on port 8080, but the policies don't allow those paths on the proxy's inbound port 4143 (meshed traffic arrives there)"]);
        let wide = GOOD.replace("{cidr: 10.0.1.0/24}]}", "{cidr: 10.0.1.0/24}, {cidr: 10.0.9.0/24}]}");
        assert_eq!(check(&wide), ["AuthorizationPolicy app/gateway-from-alb: authorizes network 10.0.9.0/24, but no NetworkPolicy admits anything from it to the pods and port of its Server"], "each network needs a path");
        let no_server = GOOD.replace(
            "name: gateway-http, namespace: app}\nspec: {podSelector: {matchLabels: {app: gateway}}, port: 8080}",
            "name: gateway-http, namespace: app}\nspec: {podSelector: {matchLabels: {app: gateway}}, port: 8081}",
        );
        let messages = check(&no_server);
        assert!(messages.contains(&"Deployment app/gateway: NetworkPolicy app/alb admits 10.0.1.0/24 on port 8080, but no Linkerd Server selects these pods on that port".to_string()), "{messages:#?}");
        assert!(messages.contains(&"AuthorizationPolicy app/gateway-from-alb: authorizes network 10.0.1.0/24, but no NetworkPolicy admits anything from it to the pods and port of its Server".to_string()), "{messages:#?}");
        let allow = GOOD.replace(
            "config.linkerd.io/default-inbound-policy: deny",
            "config.linkerd.io/default-inbound-policy: all-unauthenticated",
        );
        assert_eq!(check(&allow), ["Namespace app: has meshed pods but `config.linkerd.io/default-inbound-policy` is not `deny`: Linkerd admits what no authorization names"]);
        let ghost = GOOD.replace("name: gateway}]}", "name: gateway}, {kind: ServiceAccount, name: ghost}]}");
        assert_eq!(check(&ghost), ["AuthorizationPolicy app/content-from-gateway: authorizes identity ghost.app.serviceaccount.identity.linkerd.cluster.local, which no meshed pod of the overlay has"]);
    }
}
