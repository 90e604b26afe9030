//! The platform's Helm releases: `helm-values/releases.toml` (chart, repository, pinned version,
//! namespace, what each needs first, which environments get it) and one values folder per release.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use crate::context::Context;
use crate::engine::Cmd;
use crate::env_files::EnvFiles;
use crate::error::{line_of, usage};
use crate::finding::Finding;
use crate::target::Target;

mod namespaces;
use namespaces::check_namespaces;
pub use namespaces::{write_namespace_table, README};

pub const LIST: &str = "helm-values/releases.toml";
/// The mesh's releases: installed by the mesh step (with the identity certificates), not with the rest.
pub const MESH_RELEASES: &[&str] = &["linkerd-crds", "linkerd-control-plane"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(default)]
    release: Vec<Spanned<Release>>,
    #[serde(default)]
    namespace: Vec<Spanned<Namespace>>,
}

/// A release namespace's Pod Security levels (`[[namespace]]`): labelled before the first release
/// into it. `leave = true`: a namespace the cluster already has and keeps as it is (kube-system).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    pub name: String,
    #[serde(default)]
    pub enforce: Option<String>,
    #[serde(default)]
    pub audit: Option<String>,
    #[serde(default)]
    pub warn: Option<String>,
    #[serde(default)]
    pub leave: bool,
    /// Why not stricter (or why left alone): the README table's last column.
    #[serde(default)]
    pub why: String,
    /// Other labels the namespace carries (Linkerd's `config.linkerd.io/admission-webhooks`, …).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations the namespace carries (Linkerd's `linkerd.io/inject: disabled` on its own).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip)]
    pub line: usize,
}

/// The Pod Security Standards' levels (kubernetes.io/docs/concepts/security/pod-security-admission).
pub const POD_SECURITY_LEVELS: &[&str] = &["privileged", "baseline", "restricted"];

impl Namespace {
    /// The `pod-security.kubernetes.io/<mode>` labels, in the order enforce, audit, warn, then the others.
    pub fn labels(&self) -> Vec<(String, String)> {
        [("enforce", &self.enforce), ("audit", &self.audit), ("warn", &self.warn)]
            .into_iter()
            .filter_map(|(mode, level)| {
                level.as_ref().map(|l| (format!("pod-security.kubernetes.io/{mode}"), l.clone()))
            })
            .chain(self.labels.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect()
    }

    /// The Namespace object deploy applies (server-side) before the first release into it.
    pub fn manifest(&self) -> String {
        let quote = |v: &str| serde_json::to_string(v).expect("a string serialises");
        let mut yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n", self.name);
        if !self.annotations.is_empty() {
            yaml.push_str("  annotations:\n");
            for (k, v) in &self.annotations {
                yaml.push_str(&format!("    {k}: {}\n", quote(v)));
            }
        }
        yaml.push_str("  labels:\n");
        for (k, v) in self.labels() {
            // Pod Security levels stay bare (as before); other values are quoted ("true" is a string).
            let v = if k.starts_with("pod-security.kubernetes.io/") { v } else { quote(&v) };
            yaml.push_str(&format!("    {k}: {v}\n"));
        }
        yaml
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub name: String,
    pub chart: String,
    pub repository: String,
    pub version: String,
    pub namespace: String,
    #[serde(default)]
    pub needs: Vec<String>,
    pub environments: Vec<String>,
    /// Helm value path → terraform output name, passed as `--set` at install time.
    #[serde(default)]
    pub set_from_terraform: BTreeMap<String, String>,
    /// API groups whose CRDs this release installs (e.g. `monitoring.coreos.com`).
    #[serde(default)]
    pub provides: Vec<String>,
    /// API groups of custom resources this release creates that its values don't reveal (a
    /// `serviceMonitor`/`podMonitor`/`prometheusRule` with `enabled: true` is read from the values).
    #[serde(default)]
    pub uses: Vec<String>,
    /// Pods the release runs per environment, not counting DaemonSets (each environment it gets).
    #[serde(default)]
    pub pods: BTreeMap<String, u32>,
    /// DaemonSet pods it runs on every node.
    #[serde(default)]
    pub daemonsets: u32,
    /// A values path (e.g. `image.tag`) whose minor version must be the cluster's Kubernetes minor.
    #[serde(default)]
    pub follows_kubernetes: Option<String>,
    /// The chart keeps CRDs in its top-level `crds/` folder, which Helm installs once and never
    /// upgrades: deploy and upgrade apply them server-side (`helm show crds`) before the release. Not set
    /// for charts whose CRDs are templates, nor for CRDs of subcharts (`helm show crds` prints those too,
    /// enabled or not).
    #[serde(default)]
    pub crds_folder: bool,
    /// The chart's application version, where another release must match it.
    #[serde(default)]
    pub app_version: Option<String>,
    /// A release whose `app_version` this one's must equal (CRDs at the operator's version).
    #[serde(default)]
    pub app_version_of: Option<String>,
    /// Kubernetes minor → how this pinned version is known to run on it: "matrix" or "decision" (lifecycle.rs).
    #[serde(default)]
    pub kubernetes: BTreeMap<String, String>,
    #[serde(skip)]
    pub line: usize,
}

impl Release {
    pub fn values_dir(&self, root: &Path) -> PathBuf {
        root.join("helm-values").join(&self.name)
    }

    /// The values files for an environment (its overlay's), in the order helm layers them.
    pub fn values_files(&self, env: EnvFiles<'_>) -> [PathBuf; 2] {
        let dir = self.values_dir(env.root());
        [dir.join("values.yaml"), dir.join(format!("values-{}.yaml", env.overlay()))]
    }

    /// Where the bound copies of this release's values files are written for environment `env_name`
    /// (under the xtask's work directory `work`).
    pub fn bound_dir(&self, work: &Path, env_name: &str) -> PathBuf {
        work.join("helm-values").join(env_name).join(&self.name)
    }

    /// The values files helm gets (values of `env`), in order: each that names a terraform output
    /// (`${terraform:NAME}`, see [`crate::bindings::bind_values`]) as its bound copy in `bound_dir`,
    /// which [`Release::bind_values`] writes once the outputs are recorded; the others as they are.
    pub fn install_values(&self, env: EnvFiles<'_>, bound_dir: &Path) -> Vec<PathBuf> {
        self.values_files(env)
            .into_iter()
            .map(|file| match std::fs::read_to_string(&file) {
                Ok(text) if binds(&text) => bound_dir.join(file.file_name().unwrap_or_default()),
                _ => file,
            })
            .collect()
    }

    /// Writes the bound copy of each of this release's values files that names a terraform output
    /// for `target`, into [`Release::bound_dir`], from the outputs its `outputs` step recorded; with
    /// `stand_ins` (the emulator) a null output is bound to a marked stand-in, and the outputs that
    /// were are returned. The one place a release's values are bound (deploy, mesh install, local).
    pub fn bind_values(&self, ctx: &Context, target: &Target, stand_ins: bool) -> Result<Vec<String>> {
        use anyhow::Context as _;
        let (root, env_name) = (&ctx.root, &target.env.name);
        let bound_dir = &self.bound_dir(&ctx.work, env_name);
        let outputs = &target.outputs_file();
        let what = || format!("release {} takes terraform outputs in its values", self.name);
        let mut stood_in: Vec<String> = Vec::new();
        for file in self.values_files(target.files()) {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            if !binds(&text) {
                continue;
            }
            let shown = file.strip_prefix(root).unwrap_or(&file);
            let (bound, stood) =
                crate::bindings::bind_values(&text, shown, outputs, env_name, stand_ins).with_context(what)?;
            for s in stood {
                if !stood_in.contains(&s) {
                    stood_in.push(s);
                }
            }
            std::fs::create_dir_all(bound_dir)?;
            let to = bound_dir.join(file.file_name().unwrap_or_default());
            std::fs::write(&to, bound).map_err(|e| anyhow::anyhow!("writing {}: {e}", to.display()))?;
        }
        Ok(stood_in)
    }

    pub fn is_mesh(&self) -> bool {
        MESH_RELEASES.contains(&self.name.as_str())
    }

    /// The merged values of an environment (values.yaml, then values-<env>.yaml over it); `Null` where
    /// a file is missing or unreadable (check_list reports those).
    pub fn values(&self, env: EnvFiles<'_>) -> serde_norway::Value {
        let mut merged = serde_norway::Value::Null;
        for file in self.values_files(env) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if let Ok(v) = serde_norway::from_str::<serde_norway::Value>(&text) {
                merge(&mut merged, v);
            }
        }
        merged
    }

    /// `helm show crds`: the CRDs the chart keeps in its `crds/` folder (empty output when none).
    pub fn show_crds(&self, helm: Cmd) -> Cmd {
        helm.args(["show", "crds", &self.chart]).args(["--repo", &self.repository, "--version", &self.version])
    }

    /// `helm upgrade --install` of this release (its namespace exists, labelled: see `Namespace`): rolled back on failure (helm 4's `--atomic`), waited on, with its values and the terraform
    /// outputs it takes (`outputs`: output name → value, or a placeholder for `--dry-run`).
    pub fn install(&self, helm: Cmd, values: &[PathBuf], kubeconfig: &Path, outputs: &dyn Fn(&str) -> String) -> Cmd {
        let mut cmd = helm
            .args(["upgrade", "--install", &self.name, &self.chart])
            .args(["--repo", &self.repository, "--version", &self.version, "--namespace", &self.namespace])
            .args(["--rollback-on-failure", "--wait", "--timeout", "10m"])
            .arg(format!("--kubeconfig={}", kubeconfig.display()));
        for file in values {
            cmd = cmd.arg("-f").arg(file.to_string_lossy());
        }
        for (path, output) in &self.set_from_terraform {
            cmd = cmd.arg("--set").arg(format!("{path}={}", outputs(output)));
        }
        cmd
    }
}

/// Whether a values file's text names a terraform output `deploy` binds.
fn binds(text: &str) -> bool {
    crate::bindings::references(text).iter().any(crate::bindings::is_output_reference)
}

fn merge(into: &mut serde_norway::Value, over: serde_norway::Value) {
    match (into, over) {
        (serde_norway::Value::Mapping(a), serde_norway::Value::Mapping(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, serde_norway::Value::Null) if !slot.is_null() => {}
        (slot, v) => *slot = v,
    }
}

/// The release list and the namespace table.
pub struct List {
    pub releases: Vec<Release>,
    pub namespaces: Vec<Namespace>,
}

pub fn load(root: &Path) -> Result<Vec<Release>> {
    Ok(load_list(root)?.releases)
}

pub fn load_list(root: &Path) -> Result<List> {
    let path = root.join(LIST);
    let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let raw: RawList = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| format!(":{}", line_of(&text, s.start))).unwrap_or_default();
        usage(format!("{}{at}: {}", path.display(), e.message().trim().replace('\n', "; ")))
    })?;
    let releases = raw
        .release
        .into_iter()
        .map(|r| {
            let line = line_of(&text, r.span().start);
            Release { line, ..r.into_inner() }
        })
        .collect();
    let namespaces = raw
        .namespace
        .into_iter()
        .map(|n| {
            let line = line_of(&text, n.span().start);
            Namespace { line, ..n.into_inner() }
        })
        .collect();
    Ok(List { releases, namespaces })
}

/// The releases an environment gets, each after everything it needs (list order otherwise).
pub fn ordered(env: EnvFiles<'_>) -> Result<Vec<Release>> {
    Ok(ordered_list(env)?.releases)
}

/// `ordered`, with the namespace table (deploy labels each namespace before its first release).
pub fn ordered_list(env: EnvFiles<'_>) -> Result<List> {
    let (root, env) = (env.root(), env.overlay());
    let list = load_list(root)?;
    let findings = check_all(root, &list);
    let all = list.releases;
    if let Some(first) = findings.first() {
        return Err(usage(format!(
            "{first}{}",
            if findings.len() > 1 { " (and more: cargo xtask validate)" } else { "" }
        )));
    }
    let chosen: Vec<&Release> = all.iter().filter(|r| r.environments.iter().any(|e| e == env)).collect();
    let mut done: Vec<Release> = Vec::new();
    while done.len() < chosen.len() {
        let next = chosen.iter().find(|r| {
            !done.iter().any(|d| d.name == r.name) && r.needs.iter().all(|n| done.iter().any(|d| &d.name == n))
        });
        match next {
            Some(r) => done.push((*r).clone()),
            None => {
                let waiting: Vec<&str> =
                    chosen.iter().filter(|r| !done.iter().any(|d| d.name == r.name)).map(|r| r.name.as_str()).collect();
                return Err(usage(format!(
                    "{LIST}: releases for `{env}` can't be ordered: {} wait on each other",
                    waiting.join(", ")
                )));
            }
        }
    }
    Ok(List { releases: done, namespaces: list.namespaces })
}

/// Every check of the list: `check_list`, the namespace table (and the README's copy of it), the
/// CRDs each release's objects need, and the versions that must pair.
pub fn check_all(root: &Path, list: &List) -> Vec<Finding> {
    let mut findings = check_list(root, &list.releases);
    findings.extend(check_namespaces(root, list));
    findings.extend(check_crd_order(root, &list.releases));
    findings.extend(check_pairing(root, &list.releases));
    findings.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    findings.dedup();
    findings
}

/// The API groups a release's objects belong to in `env`, each with where that was read: its values
/// (`crds::in_values`) and its `uses`.
pub fn crd_uses(release: &Release, env: EnvFiles<'_>) -> Vec<(String, String)> {
    let mut found = crate::crds::in_values(&release.values(env));
    found.extend(release.uses.iter().map(|g| (g.clone(), "its `uses`".to_string())));
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|(g, _)| seen.insert(g.clone()));
    found
}

/// The API groups whose CRDs the releases `env` gets provide (the overlay may use these).
pub fn provided_in(releases: &[Release], env: &str) -> std::collections::BTreeSet<String> {
    releases.iter().filter(|r| r.environments.iter().any(|e| e == env)).flat_map(|r| r.provides.clone()).collect()
}

/// Every release whose objects need CRDs that neither it nor anything in its `needs` closure provides.
fn check_crd_order(root: &Path, releases: &[Release]) -> Vec<Finding> {
    let file = root.join(LIST);
    let mut findings = Vec::new();
    for r in releases {
        let mut provided: std::collections::BTreeSet<&str> = r.provides.iter().map(String::as_str).collect();
        let (mut stack, mut seen): (Vec<&str>, Vec<&str>) = (r.needs.iter().map(String::as_str).collect(), vec![]);
        while let Some(name) = stack.pop() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            if let Some(o) = releases.iter().find(|o| o.name == name) {
                provided.extend(o.provides.iter().map(String::as_str));
                stack.extend(o.needs.iter().map(String::as_str));
            }
        }
        for env in &r.environments {
            for (group, why) in
                crd_uses(r, EnvFiles::of_overlay(root, env)).into_iter().filter(|(g, _)| !provided.contains(g.as_str()))
            {
                let providers: Vec<&str> =
                    releases.iter().filter(|o| o.provides.contains(&group)).map(|o| o.name.as_str()).collect();
                let fix = match providers.as_slice() {
                    [] => "no release in the list provides them: add the release that installs those CRDs".to_string(),
                    some => format!("add `{}` to its needs", some.join("` or `")),
                };
                findings.push(Finding::new(&file, Some(r.line), format!(
                    "release `{}` creates {group} objects in `{env}` ({why}) but no release it needs provides those CRDs: {fix}",
                    r.name
                )));
            }
        }
    }
    findings
}

/// Versions that must go together: a `follows_kubernetes` values path's minor is the Kubernetes
/// minor of every environment the release is in (terraform's `kubernetes_version`); an
/// `app_version_of` release has the same `app_version`.
fn check_pairing(root: &Path, releases: &[Release]) -> Vec<Finding> {
    let file = root.join(LIST);
    let mut findings = Vec::new();
    for r in releases {
        let at = |msg: String| Finding::new(&file, Some(r.line), msg);
        if let Some(path) = &r.follows_kubernetes {
            for env in &r.environments {
                let files = EnvFiles::of_overlay(root, env);
                let values = r.values(files);
                let found = path.split('.').try_fold(&values, |v, k| v.get(k));
                let version = found.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let cluster = crate::k8s::kubernetes_version(files);
                match (minor(&version), minor(&cluster)) {
                    (None, _) => findings.push(at(format!(
                        "release `{}` follows Kubernetes by `{path}`, which its `{env}` values don't set to a version",
                        r.name
                    ))),
                    (Some(have), Some(want)) if have != want => findings.push(at(format!(
                        "release `{}`: `{path}` is {version} in `{env}` but the cluster runs Kubernetes {cluster} \
                         ({} kubernetes_version): pin the {cluster} line",
                        r.name,
                        files.shown_main_tf()
                    ))),
                    _ => {}
                }
            }
        }
        if let Some(other) = &r.app_version_of {
            match releases.iter().find(|o| &o.name == other) {
                None => findings.push(at(format!("release `{}`: app_version_of `{other}` is not in the list", r.name))),
                Some(o) if o.app_version.is_none() || o.app_version != r.app_version => findings.push(at(format!(
                    "release `{}` has app_version {} but `{other}` has {}: they must be the same",
                    r.name,
                    r.app_version.as_deref().unwrap_or("(none)"),
                    o.app_version.as_deref().unwrap_or("(none)")
                ))),
                Some(_) => {}
            }
        }
    }
    findings
}

/// `1.35` of `v1.35.2`, `1.35.0` or `1.35`.
fn minor(version: &str) -> Option<String> {
    let mut parts = version.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok()).then(|| format!("{major}.{minor}"))
}

/// Problems with the release list: unknown or missing needs (per environment), duplicate names,
/// missing values files, values files that don't parse.
pub fn check_list(root: &Path, releases: &[Release]) -> Vec<Finding> {
    let list = root.join(LIST);
    let mut findings = Vec::new();
    for (i, r) in releases.iter().enumerate() {
        let at = |msg: String| Finding::new(&list, Some(r.line), msg);
        if releases[..i].iter().any(|o| o.name == r.name) {
            findings.push(at(format!("release `{}` is listed twice", r.name)));
        }
        if r.version.is_empty() || r.version.contains('*') || r.version.starts_with('^') || r.version.starts_with('~') {
            findings.push(at(format!("release `{}` must pin an exact chart version", r.name)));
        }
        for need in &r.needs {
            match releases.iter().find(|o| &o.name == need) {
                None => findings.push(at(format!("release `{}` needs `{need}`, which is not in the list", r.name))),
                Some(o) => {
                    for env in r.environments.iter().filter(|e| !o.environments.contains(e)) {
                        findings.push(at(format!("release `{}` needs `{need}`, which `{env}` does not get", r.name)));
                    }
                }
            }
        }
        for group in r.provides.iter().chain(&r.uses) {
            if !is_api_group(group) {
                findings.push(at(format!(
                    "release `{}`: `{group}` is not an API group (a DNS name like monitoring.coreos.com)",
                    r.name
                )));
            }
        }
        for env in r.environments.iter().filter(|e| !r.pods.contains_key(*e)) {
            findings.push(at(format!(
                "release `{}` is enabled in `{env}` but `pods` says nothing of it (pods = {{ {env} = <count> }}, 0 for none)",
                r.name
            )));
        }
        for env in r.pods.keys().filter(|e| !r.environments.contains(e)) {
            findings.push(at(format!("release `{}`: `pods` names `{env}`, which it is not enabled in", r.name)));
        }
        for env in &r.environments {
            for file in r.values_files(EnvFiles::of_overlay(root, env)) {
                match std::fs::read_to_string(&file) {
                    Err(_) => findings.push(at(format!(
                        "release `{}` is enabled in `{env}` but {} is missing",
                        r.name,
                        rel(root, &file)
                    ))),
                    Ok(text) => {
                        if let Err(e) = serde_norway::from_str::<serde_norway::Value>(&text) {
                            let line = e.location().map(|l| l.line());
                            findings.push(Finding::new(&file, line, format!("not valid YAML: {e}")));
                        }
                    }
                }
            }
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    findings.dedup();
    findings
}

fn is_api_group(group: &str) -> bool {
    group.contains('.')
        && group
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
