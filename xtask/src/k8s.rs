//! The Kubernetes manifests: overlays rendered with kustomize, checked against the Kubernetes API
//! schemas (kubernetes-validate, strict: a misspelled field is an error; what it has no schema for is
//! handed to lifecycle::apis) and against the project's policies (requests/limits, probes, security
//! context, image tags, PDBs, default-deny policies).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde_norway::Value;

use crate::context::Context;
use crate::engine::Cmd;
use crate::env_files::EnvFiles;
use crate::finding::Finding;
use crate::shell::{self, cmd};
use crate::tools::{self, Tools};

/// The Kubernetes version schemas are checked against when the environment doesn't say.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.36";

/// The Kubernetes version of the environment an overlay belongs to: the `kubernetes_version` argument
/// of its `module "stack"` call, where that is set.
pub fn kubernetes_version(env: EnvFiles<'_>) -> String {
    env.kubernetes_version().ok().flatten().unwrap_or_else(|| DEFAULT_KUBERNETES_VERSION.to_string())
}

pub use crate::env_files::overlay_dir;

/// The overlays under k8s/overlays.
pub fn overlays(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("k8s").join("overlays"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn render_cmd(ctx: &Context, overlay: &str) -> Cmd {
    Tools::new(ctx).cmd(tools::KUBECTL).arg("kustomize").arg(overlay_dir(&ctx.root, overlay).to_string_lossy())
}

/// Renders an overlay (kustomize is read-only: this changes nothing).
pub fn render(ctx: &Context, overlay: &str) -> Result<String> {
    let out = shell::run_cmd(&render_cmd(ctx, overlay))?;
    if !out.success {
        bail!("kustomize could not render overlay `{overlay}`: {}", out.stderr.trim().replace('\n', " "));
    }
    Ok(out.stdout)
}

/// The folder under k8s/ whose objects `deploy` applies before the first Helm release, as the overlay
/// renders them (patches included): what releases need while they install — the default
/// StorageClass their volumes claim (EKS marks none default since Kubernetes 1.30, and `helm --wait`
/// times out on a Pending claim). Only kinds Kubernetes serves itself belong there: no CRD exists yet
/// when it is applied (the `order` contract checks both).
pub const BEFORE_RELEASES: &str = "cluster";

/// (kind, name) of every object k8s/cluster/ defines: the folder rendered on its own (kustomize is
/// read-only), empty where the repository has no such folder.
pub fn before_releases_keys(ctx: &Context) -> Result<std::collections::BTreeSet<(String, String)>> {
    let dir = ctx.root.join("k8s").join(BEFORE_RELEASES);
    if !dir.join("kustomization.yaml").is_file() {
        return Ok(Default::default());
    }
    let out = shell::run_cmd(&Tools::new(ctx).cmd(tools::KUBECTL).arg("kustomize").arg(dir.to_string_lossy()))?;
    if !out.success {
        bail!("kustomize could not render {}: {}", dir.display(), out.stderr.trim().replace('\n', " "));
    }
    Ok(parse(&out.stdout)?
        .iter()
        .map(|o| (text(o, &["kind"]).to_string(), text(o, &["metadata", "name"]).to_string()))
        .collect())
}

/// The objects of a render that `keys` ([`before_releases_keys`]) name, in the render's order.
pub fn select<'a>(objects: &'a [Value], keys: &std::collections::BTreeSet<(String, String)>) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| keys.contains(&(text(o, &["kind"]).to_string(), text(o, &["metadata", "name"]).to_string())))
        .collect()
}

pub fn parse(yaml: &str) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).context("rendered manifests are not YAML")?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    Ok(objects)
}

use serde::Deserialize as _;

// Kubernetes objects are read as YAML values (`serde_norway::Value`), not serde types: an overlay holds
// any kind, custom resources included, and each check reads the few fields it is about, by path.

/// The value at `path` (`["spec", "template", "metadata"]`) of an object, if every step is there.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The text at `path` ("" when it is absent or not a string).
pub fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

/// `Deployment authorworks/gateway`
pub fn object_name(o: &Value) -> String {
    let ns = text(o, &["metadata", "namespace"]);
    let name = text(o, &["metadata", "name"]);
    if ns.is_empty() {
        format!("{} {name}", text(o, &["kind"]))
    } else {
        format!("{} {ns}/{name}", text(o, &["kind"]))
    }
}

/// (namespace, name) of every Deployment.
pub fn deployments(objects: &[Value]) -> Vec<(String, String)> {
    of_kind(objects, "Deployment")
}

/// (namespace, name) of every object of `kind` in a rendered overlay, in order.
pub fn of_kind(objects: &[Value], kind: &str) -> Vec<(String, String)> {
    objects
        .iter()
        .filter(|o| text(o, &["kind"]) == kind)
        .map(|o| (text(o, &["metadata", "namespace"]).to_string(), text(o, &["metadata", "name"]).to_string()))
        .collect()
}

/// The project's policies over one rendered overlay. `where_` names the overlay in findings.
pub fn policies(objects: &[Value], overlay: &str, where_: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut report = |o: &Value, field: String, what: &str| {
        findings.push(Finding::new(where_, None, format!("{}: {field} {what}", object_name(o))));
    };
    for o in objects.iter().filter(|o| text(o, &["kind"]) == "Deployment") {
        let pod = get(o, &["spec", "template", "spec"]).cloned().unwrap_or(Value::Null);
        let pod_non_root = get(&pod, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool) == Some(true);
        for (i, c) in pod.get("containers").and_then(Value::as_sequence).into_iter().flatten().enumerate() {
            let at = format!("spec.template.spec.containers[{i}]");
            for kind in ["requests", "limits"] {
                for res in ["cpu", "memory"] {
                    if get(c, &["resources", kind, res]).is_none() {
                        report(o, format!("{at}.resources.{kind}.{res}"), "is missing");
                    }
                }
            }
            for probe in ["livenessProbe", "readinessProbe"] {
                if c.get(probe).is_none() {
                    report(o, format!("{at}.{probe}"), "is missing");
                }
            }
            let sc = c.get("securityContext").cloned().unwrap_or(Value::Null);
            if !pod_non_root && sc.get("runAsNonRoot").and_then(Value::as_bool) != Some(true) {
                report(o, format!("{at}.securityContext.runAsNonRoot"), "must be true");
            }
            if sc.get("readOnlyRootFilesystem").and_then(Value::as_bool) != Some(true) {
                report(o, format!("{at}.securityContext.readOnlyRootFilesystem"), "must be true");
            }
            if sc.get("allowPrivilegeEscalation").and_then(Value::as_bool) != Some(false) {
                report(o, format!("{at}.securityContext.allowPrivilegeEscalation"), "must be false");
            }
            let drops_all = get(&sc, &["capabilities", "drop"])
                .and_then(Value::as_sequence)
                .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("ALL")));
            if !drops_all {
                report(o, format!("{at}.securityContext.capabilities.drop"), "must include ALL");
            }
            let image = text(c, &["image"]);
            let tag = image.rsplit_once('/').map_or(image, |(_, last)| last).split_once(':').map(|(_, t)| t);
            if overlay != "dev" && !image.contains('@') && matches!(tag, None | Some("latest")) {
                report(
                    o,
                    format!("{at}.image"),
                    &format!("`{image}` must be pinned to a version (no `latest` outside dev)"),
                );
            }
        }
        let replicas = get(o, &["spec", "replicas"]).and_then(Value::as_u64).unwrap_or(1);
        if replicas > 1 && !has_pdb(objects, o) {
            report(o, "spec.replicas".into(), &format!("is {replicas} but no PodDisruptionBudget selects its pods"));
        }
    }
    // Requests and limits on every container of every pod template: the Deployments' containers are
    // checked above with the rest; here their init containers and every other workload's containers.
    for o in objects {
        let kind = text(o, &["kind"]);
        let (pod, at) = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
                (get(o, &["spec", "template", "spec"]), "spec.template.spec")
            }
            "CronJob" => {
                (get(o, &["spec", "jobTemplate", "spec", "template", "spec"]), "spec.jobTemplate.spec.template.spec")
            }
            "Pod" => (o.get("spec"), "spec"),
            _ => continue,
        };
        let Some(pod) = pod else { continue };
        for list in ["containers", "initContainers"] {
            if kind == "Deployment" && list == "containers" {
                continue;
            }
            for (i, c) in pod.get(list).and_then(Value::as_sequence).into_iter().flatten().enumerate() {
                for res_kind in ["requests", "limits"] {
                    for res in ["cpu", "memory"] {
                        if get(c, &["resources", res_kind, res]).is_none() {
                            report(o, format!("{at}.{list}[{i}].resources.{res_kind}.{res}"), "is missing");
                        }
                    }
                }
            }
        }
    }
    for ns in objects.iter().filter(|o| text(o, &["kind"]) == "Namespace") {
        let name = text(ns, &["metadata", "name"]);
        let denies = objects.iter().any(|p| {
            text(p, &["kind"]) == "NetworkPolicy"
                && text(p, &["metadata", "namespace"]) == name
                && get(p, &["spec", "podSelector"]).is_some_and(|sel| sel.as_mapping().is_none_or(|m| m.is_empty()))
                && ["ingress", "egress"].iter().all(|k| get(p, &["spec", k]).is_none())
                && get(p, &["spec", "policyTypes"]).and_then(Value::as_sequence).is_some_and(|t| t.len() == 2)
        });
        if !denies {
            findings.push(Finding::new(where_, None, format!("Namespace {name}: has no default-deny NetworkPolicy (podSelector {{}}, policyTypes Ingress and Egress, no rules)")));
        }
    }
    findings
}

fn has_pdb(objects: &[Value], deployment: &Value) -> bool {
    let ns = text(deployment, &["metadata", "namespace"]);
    let labels = get(deployment, &["spec", "template", "metadata", "labels"]).and_then(Value::as_mapping);
    objects
        .iter()
        .filter(|p| text(p, &["kind"]) == "PodDisruptionBudget" && text(p, &["metadata", "namespace"]) == ns)
        .any(|p| match (get(p, &["spec", "selector", "matchLabels"]).and_then(Value::as_mapping), labels) {
            (Some(sel), Some(labels)) => !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)),
            _ => false,
        })
}

/// What kubernetes-validate said of a render: schema errors, and the (apiVersion, kind) pairs it has no
/// schema for at that version (custom resources, and API versions that version does not serve).
pub struct Schemas {
    pub findings: Vec<Finding>,
    pub unknown: Vec<(String, String)>,
}

/// Strict schema validation of rendered manifests with kubernetes-validate. Objects it has no schema for
/// are returned in `unknown` for the caller to judge (lifecycle::apis: a built-in API the version does
/// not serve is a finding there; a custom resource is crds.rs's).
pub fn schema_check(ctx: &Context, yaml: &str, overlay: &str, kubernetes_version: &str) -> Result<Schemas> {
    let tools = Tools::new(ctx);
    let exe = shell::program(tools.find(tools::KUBE_VALIDATE), tools::KUBE_VALIDATE.bin)?;
    let dir = ctx.work.join("k8s");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{overlay}.yaml"));
    std::fs::write(&file, yaml).with_context(|| format!("writing {}", file.display()))?;
    let version = if kubernetes_version.matches('.').count() == 1 {
        format!("{kubernetes_version}.0")
    } else {
        kubernetes_version.to_string()
    };
    let sh = shell::at(&ctx.root)?;
    let out = shell::run("kubernetes-validate", || cmd!(sh, "{exe} --strict --quiet -k {version} {file}"))?;
    let text = out.combined();
    let where_ = overlay_dir(&ctx.root, overlay);
    let mut findings: Vec<Finding> = text
        .lines()
        .filter(|l| l.starts_with("ERROR"))
        .map(|l| {
            // ERROR <file> did not validate for resource <kind>/<name> against version <v>: <path>: <message>
            let detail = l.split_once(" did not validate for resource ").map(|(_, d)| d).unwrap_or(l);
            let (resource, rest) = detail.split_once(" against version ").unwrap_or((detail, ""));
            let message = rest.split_once(": ").map(|(_, m)| m).unwrap_or(rest);
            Finding::new(&where_, None, format!("{resource}: {message}"))
        })
        .collect();
    // WARN <file> Couldn't find schema for kind <Kind> with api version <group/version> for kubernetes version <v>
    let mut unknown: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("WARN"))
        .filter_map(|l| {
            let rest = l.split_once("Couldn't find schema for kind ")?.1;
            let (kind, rest) = rest.split_once(" with api version ")?;
            let api = rest.split_once(" for kubernetes version").map_or(rest, |(a, _)| a);
            Some((api.trim().to_string(), kind.trim().to_string()))
        })
        .collect();
    unknown.sort();
    unknown.dedup();
    if !out.success && findings.is_empty() {
        findings.push(Finding::new(&where_, None, format!("kubernetes-validate failed: {}", text.trim())));
    }
    Ok(Schemas { findings, unknown })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: ghcr.io/authorworks/web:1.2.3
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 500m, memory: 128Mi}}
          livenessProbe: {httpGet: {path: /health/live, port: 8080}}
          readinessProbe: {httpGet: {path: /health/ready, port: 8080}}
          securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: app}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
"#;

    fn check(yaml: &str, overlay: &str) -> Vec<String> {
        policies(&parse(yaml).unwrap(), overlay, Path::new("k8s/overlays/x"))
            .iter()
            .map(|f| f.message.clone())
            .collect()
    }

    #[test]
    fn a_compliant_overlay_passes() {
        assert_eq!(check(GOOD, "production"), Vec::<String>::new());
    }

    #[test]
    fn each_policy_names_the_object_and_the_field() {
        let no_limits = GOOD.replace(", limits: {cpu: 500m, memory: 128Mi}", "");
        assert_eq!(
            check(&no_limits, "production"),
            [
                "Deployment app/web: spec.template.spec.containers[0].resources.limits.cpu is missing",
                "Deployment app/web: spec.template.spec.containers[0].resources.limits.memory is missing"
            ]
        );
        let latest = GOOD.replace("web:1.2.3", "web:latest");
        assert_eq!(
            check(&latest, "production"),
            ["Deployment app/web: spec.template.spec.containers[0].image `ghcr.io/authorworks/web:latest` must be pinned to a version (no `latest` outside dev)"]
        );
        assert!(check(&latest, "dev").is_empty(), "dev may run latest");
        let no_pdb = GOOD.replace("kind: PodDisruptionBudget", "kind: Other");
        assert_eq!(
            check(&no_pdb, "dev"),
            ["Deployment app/web: spec.replicas is 2 but no PodDisruptionBudget selects its pods"]
        );
        let init = GOOD.replace(
            "      containers:\n",
            "      initContainers:\n        - {name: wait, image: busybox:1.37, resources: {requests: {cpu: 10m, memory: 16Mi}}}\n      containers:\n",
        );
        assert_eq!(
            check(&init, "dev"),
            [
                "Deployment app/web: spec.template.spec.initContainers[0].resources.limits.cpu is missing",
                "Deployment app/web: spec.template.spec.initContainers[0].resources.limits.memory is missing"
            ]
        );
        let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, namespace: app}\nspec:\n  template:\n    spec:\n      containers: [{name: m, image: m:1}]\n";
        assert_eq!(check(&format!("{GOOD}---\n{job}"), "dev").len(), 4, "a Job's container without requests or limits");
        let no_deny = GOOD.replace("policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]");
        assert!(check(&no_deny, "dev")[0].starts_with("Namespace app: has no default-deny NetworkPolicy"));
        let root = GOOD.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
        assert_eq!(check(&root, "dev"), ["Deployment app/web: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem must be true"]);
    }
}
