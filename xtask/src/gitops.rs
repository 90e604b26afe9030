//! Argo CD owns the application where it runs (the environments whose overlay has an `argocd/` root,
//! k8s/gitops): `deploy` hands terraform's outputs to the cluster, bootstraps the app of apps, pins
//! the application to the commit it deploys, starts the sync where the environment does not sync
//! itself (production), and waits for Argo CD to report it synced and healthy — failing, with what
//! degraded, when a Rollout's analysis aborts it. The overlay itself is never applied with kubectl
//! there.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use crate::engine::{Cmd, Pipeline, Step, StepCtx};
use crate::target::Target;
use crate::tools::{self, Tools};
use crate::{bindings, context::Context, k8s, shell};

/// The folder of an overlay that holds its Argo CD root (k8s/overlays/<env>/argocd).
pub const ROOT: &str = "argocd";
/// Argo CD's namespace and the Application k8s/gitops defines for the application (its root,
/// `authorworks-root`, syncs itself and this one).
pub const NAMESPACE: &str = "argocd";
pub const APP: &str = "authorworks";
/// The ConfigMap the `terraform-bindings` plugin reads (helm-values/argo-cd/values.yaml).
pub const OUTPUTS_CONFIGMAP: &str = "terraform-outputs";
/// How long `deploy` waits for the application to be synced and healthy (a production canary's
/// steps take 15 minutes) and how often it asks.
const WAIT: Duration = Duration::from_secs(40 * 60);
const POLL: Duration = Duration::from_secs(10);

/// The overlay's Argo CD root folder, as an overlay name `k8s::render` takes (`staging/argocd`).
pub fn root_overlay(overlay: &str) -> String {
    format!("{overlay}/{ROOT}")
}

/// Whether Argo CD owns the application in this environment: its overlay has an Argo CD root.
pub fn owns(ctx: &Context, overlay: &str) -> bool {
    k8s::overlay_dir(&ctx.root, &root_overlay(overlay)).join("kustomization.yaml").is_file()
}

/// An Argo CD Application as far as `deploy` reads it (rendered from git, or `kubectl get -o json`).
#[derive(Debug, Deserialize, Default)]
pub struct Application {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: AppSpec,
    #[serde(default)]
    pub status: AppStatus,
}

#[derive(Debug, Deserialize, Default)]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppSpec {
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub destination: Destination,
    #[serde(default)]
    pub sync_policy: SyncPolicy,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct Destination {
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct SyncPolicy {
    /// Present (even empty) when Argo CD syncs the application itself.
    pub automated: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    #[serde(default)]
    pub sync: SyncStatus,
    #[serde(default)]
    pub health: Health,
    pub operation_state: Option<OperationState>,
    #[serde(default)]
    pub resources: Vec<ResourceStatus>,
}

#[derive(Debug, Deserialize, Default)]
pub struct SyncStatus {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub revision: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct Health {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct OperationState {
    #[serde(default)]
    pub phase: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct ResourceStatus {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    pub health: Option<Health>,
}

/// Where the application stands, from Argo CD's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Synced to the commit and healthy.
    Done,
    /// Still syncing or progressing (a canary between its steps): why, in words.
    Waiting(String),
    /// It will not get there by waiting: the sync failed, or something degraded (an aborted Rollout).
    Failed(String),
}

impl Application {
    /// Progress towards `revision` synced and healthy.
    pub fn progress(&self, revision: &str) -> Progress {
        let s = &self.status;
        if let Some(op) = &s.operation_state {
            if matches!(op.phase.as_str(), "Failed" | "Error") {
                return Progress::Failed(format!("Argo CD's sync {}: {}", op.phase.to_lowercase(), op.message));
            }
        }
        if s.health.status == "Degraded" {
            let degraded: Vec<String> = s
                .resources
                .iter()
                .filter(|r| r.health.as_ref().is_some_and(|h| h.status == "Degraded"))
                .map(|r| {
                    let why = r.health.as_ref().map(|h| h.message.as_str()).unwrap_or_default();
                    let at = if r.namespace.is_empty() { String::new() } else { format!(" in {}", r.namespace) };
                    if why.is_empty() {
                        format!("{} {}{at}", r.kind, r.name)
                    } else {
                        format!("{} {}{at} ({why})", r.kind, r.name)
                    }
                })
                .collect();
            let what = if degraded.is_empty() { s.health.message.clone() } else { degraded.join("; ") };
            return Progress::Failed(format!("the application is Degraded: {what}"));
        }
        if s.sync.revision != revision {
            let at = if s.sync.revision.is_empty() { "none yet".to_string() } else { short(&s.sync.revision) };
            return Progress::Waiting(format!("synced revision {at}, waiting for {}", short(revision)));
        }
        if s.sync.status != "Synced" || s.health.status != "Healthy" {
            return Progress::Waiting(format!(
                "sync {}, health {}",
                or_unknown(&s.sync.status),
                or_unknown(&s.health.status)
            ));
        }
        Progress::Done
    }
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

/// The Applications a rendered Argo CD root defines.
pub fn applications(yaml: &str) -> Result<Vec<Application>> {
    let mut apps = Vec::new();
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let value = serde_norway::Value::deserialize(doc)?;
        if value.get("kind").and_then(|k| k.as_str()) == Some("Application") {
            apps.push(serde_norway::from_value(value)?);
        }
    }
    Ok(apps)
}

/// The `terraform-outputs` ConfigMap: one key per binding (`db_secret_names.user-service`), its value
/// the output's. A value sed would read as syntax (`|`, `&`, `\`, a line break) is refused.
pub fn outputs_configmap(values: &BTreeMap<String, String>) -> Result<String> {
    let mut data = serde_norway::Mapping::new();
    for (key, value) in values {
        if value.contains(['|', '&', '\\', '\n']) {
            bail!("terraform output `{key}` holds `|`, `&`, `\\` or a line break, which Argo CD's terraform-bindings plugin can't substitute (helm-values/argo-cd/values.yaml)");
        }
        data.insert(key.clone().into(), value.clone().into());
    }
    let doc = serde_norway::to_string(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": OUTPUTS_CONFIGMAP, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "authorworks"}},
    }))?;
    let mut value: serde_norway::Value = serde_norway::from_str(&doc)?;
    value["data"] = serde_norway::Value::Mapping(data);
    Ok(serde_norway::to_string(&value)?)
}

fn kubeconfig_arg(target: &Target) -> String {
    format!("--kubeconfig={}", target.kubeconfig().display())
}

fn file(ctx: &Context, target: &Target, what: &str) -> PathBuf {
    ctx.work.join("k8s").join(format!("{}-{what}.yaml", target.env.name))
}

fn write(path: &PathBuf, text: &str) -> Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(path))?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The commit the deploy runs from: what the application is pinned to and synced at.
fn revision(ctx: &Context) -> Result<String> {
    shell::git_head(&ctx.root).context(
        "Argo CD syncs a commit: run the deploy from a git checkout (the commit it deploys is the one checked out)",
    )
}

/// The steps that take the application to the deployed commit through Argo CD, in place of applying
/// the overlay (cluster.rs's `workloads`, `rollout` and `verify`).
pub fn deploy_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) -> Result<()> {
    let overlay = &target.env.overlay;
    // Whether Argo CD syncs the application itself (dev, staging) or the deploy starts each sync
    // (production): as the environment's Argo CD root says.
    let automated = applications(&k8s::render(ctx, &root_overlay(overlay))?)?
        .iter()
        .any(|a| a.metadata.name == APP && a.spec.sync_policy.automated.is_some());
    let kubectl = move || Tools::new(ctx).cmd(tools::KUBECTL);
    let apply = move |path: PathBuf| {
        kubectl()
            .args(["apply", "--server-side", "--field-manager=cargo-xtask", "-f"])
            .arg(path.to_string_lossy())
            .arg(kubeconfig_arg(target))
    };
    let outputs_file = file(ctx, target, OUTPUTS_CONFIGMAP);
    let outputs_apply = apply(outputs_file.clone());
    pipeline.step(
        Step::new(
            "gitops-outputs",
            format!("Hand terraform's outputs to Argo CD: the `{OUTPUTS_CONFIGMAP}` ConfigMap in {NAMESPACE}"),
            vec![outputs_apply.clone()],
            move |c| {
                let mut yaml = k8s::render(ctx, &target.env.overlay)?;
                yaml.push_str("\n---\n");
                yaml.push_str(&k8s::render(ctx, &root_overlay(&target.env.overlay))?);
                let values = bindings::resolved(&yaml, &target.outputs_file(), &target.env.name)?;
                write(&outputs_file, &outputs_configmap(&values)?)?;
                c.note(format!("{} output(s) the overlay and its Argo CD root bind", values.len()));
                c.run(&outputs_apply)
            },
        )
        .note("one key per ${terraform:NAME[.KEY]} the overlay names, which Argo CD's terraform-bindings plugin substitutes"),
    );

    let root_file = file(ctx, target, "argocd");
    let root_apply = apply(root_file.clone());
    let app = move |verb: &str| kubectl().args([verb, &format!("application/{APP}"), "--namespace", NAMESPACE]);
    let pin = move |sha: &str| {
        app("patch")
            .args(["--type", "merge", "-p"])
            .arg(format!(r#"{{"spec":{{"source":{{"targetRevision":"{sha}"}}}}}}"#))
            .arg(kubeconfig_arg(target))
    };
    let refresh =
        move || app("annotate").args(["--overwrite", "argocd.argoproj.io/refresh=hard"]).arg(kubeconfig_arg(target));
    pipeline.step(
        Step::new(
            "gitops-bootstrap",
            format!("Apply `{overlay}`'s Argo CD root (projects, applications, repository credential), pin `{APP}` to this commit"),
            vec![k8s::render_cmd(ctx, &root_overlay(overlay)), root_apply.clone(), pin("<this commit>"), refresh()],
            move |c| {
                let sha = revision(ctx)?;
                let yaml = k8s::render(ctx, &root_overlay(&target.env.overlay))?;
                write(&root_file, &bindings::bound(&yaml, &target.outputs_file(), &target.env.name)?)?;
                c.run(&root_apply)?;
                c.run(&pin(&sha))?;
                c.run(&refresh())?;
                c.note(format!("`{APP}` pinned to {}", short(&sha)));
                Ok(())
            },
        )
        .note("server-side apply of the bound render; Argo CD keeps them from then on (the root syncs itself)"),
    );

    let sync = move |sha: &str| {
        app("patch")
            .args(["--type", "merge", "-p"])
            .arg(format!(
                r#"{{"operation":{{"initiatedBy":{{"username":"cargo-xtask"}},"sync":{{"revision":"{sha}","prune":true}}}}}}"#
            ))
            .arg(kubeconfig_arg(target))
    };
    let get = move || app("get").args(["--output", "json"]).arg(kubeconfig_arg(target));
    let (about, shown) = if automated {
        (
            format!("Wait for Argo CD to sync `{APP}` to this commit (it syncs itself) and report it healthy"),
            vec![get()],
        )
    } else {
        (
            format!("Start Argo CD's sync of `{APP}` to this commit, wait for it to be synced and healthy"),
            vec![sync("<this commit>"), get()],
        )
    };
    pipeline.step(
        Step::new("gitops-sync", about, shown, move |c| {
            let sha = revision(ctx)?;
            if !automated {
                c.run(&sync(&sha))?;
            }
            wait(c, &get(), &sha)
        })
        .note(format!(
            "polls `{APP}` every {}s for up to {} minutes; a Degraded application (a Rollout whose analysis aborted it: Argo Rollouts has already returned the traffic to the stable version) or a failed sync fails the step",
            POLL.as_secs(),
            WAIT.as_secs() / 60
        )),
    );
    Ok(())
}

fn wait(c: &mut StepCtx, get: &Cmd, sha: &str) -> Result<()> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let json = c.output(get)?;
        let app: Application = serde_json::from_str(&json).context("reading Argo CD's answer for the application")?;
        match app.progress(sha) {
            Progress::Done => {
                c.note(format!("`{APP}` synced at {} and healthy", short(sha)));
                return Ok(());
            }
            Progress::Failed(why) => bail!(
                "{why}. Argo CD keeps the last healthy version serving; see docs/DEPLOYMENT.md, \"Shipping a service\", to roll back or retry"
            ),
            Progress::Waiting(why) => {
                if why != last {
                    c.log(format!("waiting: {why}"));
                    last = why;
                }
            }
        }
        if started.elapsed() >= WAIT {
            bail!("`{APP}` was not synced and healthy after {} minutes ({last})", WAIT.as_secs() / 60);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(json: &str) -> Application {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn done_only_when_synced_at_the_commit_and_healthy() {
        let ok = app(r#"{"status":{"sync":{"status":"Synced","revision":"abc"},"health":{"status":"Healthy"}}}"#);
        assert_eq!(ok.progress("abc"), Progress::Done);
        assert!(matches!(ok.progress("def"), Progress::Waiting(w) if w.contains("waiting for def")));
        let progressing =
            app(r#"{"status":{"sync":{"status":"Synced","revision":"abc"},"health":{"status":"Progressing"}}}"#);
        assert!(matches!(progressing.progress("abc"), Progress::Waiting(w) if w.contains("health Progressing")));
    }

    #[test]
    fn an_aborted_rollout_fails_naming_it() {
        let degraded = app(r#"{"status":{"sync":{"status":"Synced","revision":"abc"},"health":{"status":"Degraded"},
            "resources":[{"kind":"Rollout","name":"gateway","namespace":"authorworks","health":{"status":"Degraded","message":"RolloutAborted: metric \"success-rate\" assessed Failed"}},
            {"kind":"Service","name":"gateway","namespace":"authorworks","health":{"status":"Healthy"}}]}}"#);
        let Progress::Failed(why) = degraded.progress("abc") else { panic!() };
        assert!(why.contains("Rollout gateway in authorworks (RolloutAborted"), "{why}");
        assert!(!why.contains("Service"), "{why}");
        let failed = app(r#"{"status":{"operationState":{"phase":"Failed","message":"sync window"}}}"#);
        assert!(matches!(failed.progress("abc"), Progress::Failed(w) if w.contains("sync window")));
    }

    #[test]
    fn the_outputs_configmap_refuses_what_sed_would_read() {
        let mut v = BTreeMap::new();
        v.insert("region".to_string(), "us-east-1".to_string());
        v.insert("db_secret_names.user-service".to_string(), "authorworks/staging/db/user-service".to_string());
        let yaml = outputs_configmap(&v).unwrap();
        assert!(
            yaml.contains("name: terraform-outputs")
                && yaml.contains("db_secret_names.user-service: authorworks/staging/db/user-service"),
            "{yaml}"
        );
        v.insert("x".to_string(), "a|b".to_string());
        assert!(outputs_configmap(&v).unwrap_err().to_string().contains("`x`"));
    }
}
