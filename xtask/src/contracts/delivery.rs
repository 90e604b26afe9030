//! Application delivery: each Rollout's analysis names AnalysisTemplates the overlay defines, each
//! template's Prometheus query reads only metrics this stack's mesh produces (Linkerd's proxies,
//! scraped through the control plane's PodMonitor), its Services and HTTPRoute exist; and where Argo
//! CD runs, each Application points at a path of this repository and a destination its AppProject
//! allows, and its repository's credential comes from an ExternalSecret; the Argo CD server is not
//! published to the internet without single sign-on.

use std::collections::BTreeSet;

use serde_norway::Value;

use super::{Inputs, Object, Overlay};
use crate::finding::Finding;
use crate::gitops::{self, Application};

/// The Linkerd proxy's request metrics (linkerd2-proxy's `response_total`, `request_total`,
/// `response_latency_ms` histogram; Linkerd docs, "Proxy metrics") that the analysis may query.
pub const MESH_METRICS: &[&str] = &[
    "request_total",
    "response_total",
    "response_latency_ms_bucket",
    "response_latency_ms_count",
    "response_latency_ms_sum",
];

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let mut findings = rollouts(inputs);
    findings.extend(server_exposure(inputs));
    if let Some(root) = &inputs.gitops {
        findings.extend(applications(inputs, root));
    }
    findings
}

fn strings<'a>(v: Option<&'a Value>, key: &str) -> Vec<&'a str> {
    v.and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(|t| t.get(key).and_then(Value::as_str)).collect())
        .unwrap_or_default()
}

fn rollouts(inputs: &Inputs) -> Vec<Finding> {
    let overlay = &inputs.overlay;
    let dir = &overlay.dir;
    let mut findings = Vec::new();
    let templates: BTreeSet<&str> = overlay.of_kind("AnalysisTemplate").map(|t| t.name.as_str()).collect();
    let mesh = inputs.releases.iter().find(|r| r.release.name == "linkerd-control-plane");
    for rollout in overlay.of_kind("Rollout") {
        let strategy = rollout.value.get("spec").and_then(|s| s.get("strategy"));
        let canary = strategy.and_then(|s| s.get("canary"));
        let blue_green = strategy.and_then(|s| s.get("blueGreen"));
        let mut named =
            strings(canary.and_then(|c| c.get("analysis")).and_then(|a| a.get("templates")), "templateName");
        for key in ["prePromotionAnalysis", "postPromotionAnalysis"] {
            named.extend(strings(blue_green.and_then(|b| b.get(key)).and_then(|a| a.get("templates")), "templateName"));
        }
        if named.is_empty() {
            findings.push(rollout.finding(dir, "runs no analysis: a bad version would not be rolled back (name an AnalysisTemplate of k8s/components/mesh-analysis)"));
        }
        for name in named {
            if !templates.contains(name) {
                findings.push(rollout.finding(
                    dir,
                    format!("its analysis names AnalysisTemplate `{name}`, which overlay `{}` does not define (k8s/components/mesh-analysis)", overlay.name),
                ));
            }
        }
        let text = |v: Option<&Value>, k: &str| v.and_then(|x| x.get(k)).and_then(Value::as_str).map(str::to_string);
        let services = [
            text(canary, "stableService"),
            text(canary, "canaryService"),
            text(blue_green, "activeService"),
            text(blue_green, "previewService"),
        ];
        for service in services.into_iter().flatten() {
            if overlay.get("Service", &rollout.namespace, &service).is_none() {
                findings.push(
                    rollout.finding(dir, format!("names Service `{service}`, which the overlay does not define")),
                );
            }
        }
        let route = canary
            .and_then(|c| c.get("trafficRouting"))
            .and_then(|t| t.get("plugins"))
            .and_then(|p| p.get("argoproj-labs/gatewayAPI"))
            .and_then(|g| g.get("httpRoute"))
            .and_then(Value::as_str);
        if let Some(route) = route {
            if overlay.get("HTTPRoute", &rollout.namespace, route).is_none() {
                findings.push(rollout.finding(
                    dir,
                    format!("shifts traffic with HTTPRoute `{route}`, which the overlay does not define"),
                ));
            }
        }
    }
    for template in overlay.of_kind("AnalysisTemplate") {
        findings.extend(queries(template, overlay, mesh.is_some()));
    }
    if overlay.of_kind("Rollout").next().is_some() && !inputs.releases.iter().any(|r| r.release.name == "argo-rollouts")
    {
        findings.push(overlay.finding_at(
            "kind: Rollout",
            format!("overlay `{}` has Rollouts but environment `{}` does not get the argo-rollouts release (helm-values/releases.toml)", overlay.name, inputs.env.name()),
        ));
    }
    findings
}

/// The metric names a PromQL query reads: identifiers followed by `{` or `[`.
pub fn metric_names(query: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == '_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_' || bytes[i] == ':') {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            if matches!(bytes.get(i), Some('{') | Some('[')) && !matches!(word.as_str(), "by" | "without") {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

fn queries(template: &Object, overlay: &Overlay, mesh: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let metrics = template.value.get("spec").and_then(|s| s.get("metrics")).and_then(Value::as_sequence);
    for metric in metrics.into_iter().flatten() {
        let Some(query) = metric
            .get("provider")
            .and_then(|p| p.get("prometheus"))
            .and_then(|p| p.get("query"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let name = metric.get("name").and_then(Value::as_str).unwrap_or("?");
        for m in metric_names(query) {
            if !MESH_METRICS.contains(&m.as_str()) {
                findings.push(template.finding(
                    &overlay.dir,
                    format!(
                        "metric `{name}` queries `{m}`, which nothing in this stack produces (Linkerd's proxies: {})",
                        MESH_METRICS.join(", ")
                    ),
                ));
            } else if !mesh {
                findings.push(template.finding(
                    &overlay.dir,
                    format!("metric `{name}` queries Linkerd's `{m}`, but the environment does not get linkerd-control-plane (helm-values/releases.toml)"),
                ));
            }
        }
    }
    findings
}

fn applications(inputs: &Inputs, root: &Overlay) -> Vec<Finding> {
    let mut findings = Vec::new();
    let apps: Vec<(&Object, Application)> = root
        .of_kind("Application")
        .filter_map(|o| serde_norway::from_value(o.value.clone()).ok().map(|a| (o, a)))
        .collect();
    let plugins: BTreeSet<String> = inputs
        .releases
        .iter()
        .find(|r| r.release.name == "argo-cd")
        .and_then(|r| r.value("configs.cmp.plugins"))
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let credentials: Vec<&Object> = root
        .of_kind("ExternalSecret")
        .filter(|e| {
            let labels = e
                .value
                .get("spec")
                .and_then(|s| s.get("target"))
                .and_then(|t| t.get("template"))
                .and_then(|t| t.get("metadata"))
                .and_then(|m| m.get("labels"));
            labels.and_then(|l| l.get("argocd.argoproj.io/secret-type")).and_then(Value::as_str) == Some("repository")
        })
        .collect();
    for secret in root.of_kind("Secret") {
        if secret.text(&["metadata", "labels", "argocd.argoproj.io/secret-type"]).is_some() {
            findings.push(secret.finding(
                &root.dir,
                "an Argo CD credential written into git: it must come from an ExternalSecret (Secrets Manager)",
            ));
        }
    }
    for (object, app) in &apps {
        let path = &app.spec.source.path;
        if path.is_empty() || !inputs.root.join(path).join("kustomization.yaml").is_file() {
            findings.push(
                object.finding(
                    &root.dir,
                    format!("syncs path `{path}`, which is not a kustomization in this repository"),
                ),
            );
        }
        let Some(project) = root.get("AppProject", "", &app.spec.project) else {
            findings.push(object.finding(
                &root.dir,
                format!("is in AppProject `{}`, which the Argo CD root does not define", app.spec.project),
            ));
            continue;
        };
        let spec = project.value.get("spec");
        // What the Application asks of its project, and what the project answers (both ends named).
        let mut refused =
            |asks: String, answer: String| {
                findings.push(object.finding(
                    &root.dir,
                    format!("{asks}, which AppProject `{}` ({}) {answer}", project.name, at(project)),
                ));
            };
        let repos = spec.and_then(|s| s.get("sourceRepos")).and_then(Value::as_sequence);
        if !repos.into_iter().flatten().filter_map(Value::as_str).any(|r| r == app.spec.source.repo_url || r == "*") {
            refused(format!("reads {}", app.spec.source.repo_url), "does not list in sourceRepos".into());
        }
        let allowed = strings(spec.and_then(|s| s.get("destinations")), "namespace");
        if !allowed.contains(&app.spec.destination.namespace.as_str()) {
            refused(
                format!("deploys into namespace `{}`", app.spec.destination.namespace),
                format!("does not allow (destinations: {})", allowed.join(", ")),
            );
        }
        if let Some(plugin) = object.text(&["spec", "source", "plugin", "name"]) {
            if !plugins.contains(plugin) {
                findings.push(object.finding(&root.dir, format!("renders with plugin `{plugin}`, which helm-values/argo-cd does not define (configs.cmp.plugins)")));
            }
        }
        let credential = credentials
            .iter()
            .any(|e| e.text(&["spec", "target", "template", "data", "url"]) == Some(app.spec.source.repo_url.as_str()));
        if !credential {
            findings.push(object.finding(&root.dir, format!("reads {}, but no ExternalSecret in the Argo CD root makes its repository credential (a Secret labelled argocd.argoproj.io/secret-type: repository)", app.spec.source.repo_url)));
        }
    }
    if apps.iter().all(|(_, a)| a.metadata.name != gitops::APP) {
        findings.push(root.finding_at(
            "kind: Application",
            format!(
                "the Argo CD root of `{}` defines no Application `{}`, which `deploy` waits for",
                inputs.env.overlay(),
                gitops::APP
            ),
        ));
    }
    findings
}

/// The Argo CD server reaches the internet only behind single sign-on (argo-helm's argo-cd chart,
/// `server.*` at the pinned 10.1.1): an Ingress or gRPC Ingress must be internal or authenticate at
/// the ALB (`alb.ingress.kubernetes.io/scheme: internal`, or `auth-type: oidc|cognito`; AWS Load
/// Balancer Controller, "Ingress annotations"); a Gateway API route is published by a Gateway this
/// stack doesn't run, so it is refused; a LoadBalancer Service must be internal. Argo CD's admin
/// login is a shared password, not single sign-on.
fn server_exposure(inputs: &Inputs) -> Vec<Finding> {
    let mut findings = Vec::new();
    for release in inputs.releases.iter().filter(|r| r.release.chart == "argo-cd") {
        let annotation = |path: &str, key: &str| {
            release.value(&format!("{path}.annotations")).and_then(|a| a.get(key)).and_then(Value::as_str)
        };
        let enabled = |path: &str| release.value(&format!("{path}.enabled")).and_then(Value::as_bool) == Some(true);
        let mut refuse = |path: &str, why: &str| {
            findings.push(release.finding_at_key(
                path,
                format!("`{path}` publishes the Argo CD server {why}: keep it private (cargo xtask tunnel) or put the ALB's OIDC in front"),
            ));
        };
        for path in ["server.ingress", "server.ingressGrpc"] {
            let internal = annotation(path, "alb.ingress.kubernetes.io/scheme") == Some("internal");
            let sso = matches!(annotation(path, "alb.ingress.kubernetes.io/auth-type"), Some("oidc" | "cognito"));
            if enabled(path) && !internal && !sso {
                refuse(path, "with neither `alb.ingress.kubernetes.io/scheme: internal` nor `alb.ingress.kubernetes.io/auth-type: oidc`");
            }
        }
        for path in ["server.httproute", "server.grpcroute"] {
            if enabled(path) {
                refuse(path, "through a Gateway, which this stack doesn't run and which has no single sign-on");
            }
        }
        if release.value("server.service.type").and_then(Value::as_str) == Some("LoadBalancer")
            && annotation("server.service", "service.beta.kubernetes.io/aws-load-balancer-scheme") != Some("internal")
        {
            refuse(
                "server.service",
                "as a LoadBalancer without `service.beta.kubernetes.io/aws-load-balancer-scheme: internal`",
            );
        }
    }
    findings
}

fn at(o: &Object) -> String {
    match &o.origin {
        Some((file, line)) => format!("{}:{line}", file.display()),
        None => "generated".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_the_series_a_query_reads() {
        let q = r#"histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{a="b"}[2m]))) / sum(rate(up[5m]))"#;
        let names: Vec<String> = metric_names(q).into_iter().collect();
        assert_eq!(names, ["response_latency_ms_bucket", "up"]);
    }
}
