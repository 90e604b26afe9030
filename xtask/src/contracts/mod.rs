//! Contracts between the layers: terraform (what AWS has, read from the environment's emulated plan),
//! the cluster (the rendered overlay, unbound, and the Helm values of the releases the environment
//! gets) and the workflows. Each contract is a [`Contract`] over the same [`Inputs`] and returns
//! findings that name both ends (a file:line in k8s/, helm-values/ or terraform/, or a plan address)
//! and what is missing. `validate` runs them per environment (`contracts <env>`).

pub mod plan;
pub mod policy;

mod approval;
mod bindings;
mod ci;
mod delivery;
mod dns;
mod edge;
mod identity;
pub mod identity_map;
mod images;
mod keys;
mod mesh;
mod mesh_identity;
mod netpol;
mod network;
mod notifications;
mod order;
mod reach;
mod secrets;
mod storage;
mod workflows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_norway::Value;

use crate::config::Environment;
use crate::context::Context;
use crate::env_files::EnvFiles;
use crate::finding::Finding;
use crate::releases::Release;
pub use plan::{Plan, Resource};

/// A check of one seam: every finding names both ends and what is missing.
pub type Contract = fn(&Inputs) -> Vec<Finding>;

/// Every contract, by name.
pub const CONTRACTS: &[(&str, Contract)] = &[
    ("bindings", bindings::check),
    ("network", network::check),
    ("identity", identity::check),
    ("keys", keys::check),
    ("secrets", secrets::check),
    ("notifications", notifications::check),
    ("dns", dns::check),
    ("edge", edge::check),
    ("ci identity", ci::check),
    ("ci reach", reach::check),
    ("approval after plan", approval::check),
    ("mesh", mesh::check),
    ("mesh identity", mesh_identity::check),
    ("storage", storage::check),
    ("order", order::check),
    ("identity map", identity_map::check),
    ("delivery", delivery::check),
    ("images", images::check),
];

/// The environment the contracts run for: as xtask.toml configures it, with the project's name.
#[derive(Debug, Clone)]
pub struct Env {
    project: String,
    config: Environment,
}

impl Env {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The overlay and helm-values environment it uses.
    pub fn overlay(&self) -> &str {
        &self.config.overlay
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The AWS account xtask.toml names for the environment.
    pub fn account(&self) -> &str {
        &self.config.account_id
    }

    /// The region the environment's backups and images are copied to, if it has one (xtask.toml).
    pub fn dr_region(&self) -> Option<&str> {
        self.config.dr_region.as_deref()
    }

    /// A real AWS environment (not `local` on the emulator).
    pub fn real(&self) -> bool {
        !self.config.emulator
    }
}

/// One object of the rendered overlay and the file:line that defines it (found by kind and name in
/// k8s/; `None` for generated objects).
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub origin: Option<(PathBuf, usize)>,
}

impl Object {
    /// `ServiceAccount authorworks/media-service`
    pub fn label(&self) -> String {
        crate::k8s::object_name(&self.value)
    }

    /// A finding at the object's definition (or the overlay), the message prefixed with its label.
    pub fn finding(&self, overlay_dir: &Path, message: impl AsRef<str>) -> Finding {
        let (file, line) = match &self.origin {
            Some((f, l)) => (f.clone(), Some(*l)),
            None => (overlay_dir.to_path_buf(), None),
        };
        Finding::new(&file, line, format!("{}: {}", self.label(), message.as_ref()))
    }

    /// A string at a path of the object (`&["metadata", "annotations", "x"]`).
    pub fn text(&self, path: &[&str]) -> Option<&str> {
        path.iter().try_fold(&self.value, |v, k| v.get(*k)).and_then(Value::as_str)
    }

    /// The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod).
    pub fn pod_spec(&self) -> Option<&Value> {
        let v = &self.value;
        match self.kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
                v.get("spec")?.get("template")?.get("spec")
            }
            "CronJob" => v.get("spec")?.get("jobTemplate")?.get("spec")?.get("template")?.get("spec"),
            "Pod" => v.get("spec"),
            _ => None,
        }
    }
}

/// The rendered overlay of an environment.
pub struct Overlay {
    /// The overlay's name (`dev`).
    pub name: String,
    pub dir: PathBuf,
    pub objects: Vec<Object>,
    /// Every YAML file under k8s/ with its text (for [`Overlay::locate`]).
    sources: Vec<(PathBuf, String)>,
}

impl Overlay {
    /// Parses a render and finds where each object is defined in `k8s_dir`.
    pub fn from_render(name: &str, dir: &Path, k8s_dir: &Path, yaml: &str) -> Result<Overlay> {
        let sources = yaml_files(k8s_dir);
        let index = definitions(&sources);
        let objects = crate::k8s::parse(yaml)?
            .into_iter()
            .map(|value| {
                let get = |path: &[&str]| {
                    path.iter().try_fold(&value, |v, k| v.get(*k)).and_then(Value::as_str).unwrap_or("").to_string()
                };
                let (kind, name, namespace) =
                    (get(&["kind"]), get(&["metadata", "name"]), get(&["metadata", "namespace"]));
                let origin = index.get(&(kind.clone(), name.clone())).cloned();
                Object { value, kind, name, namespace, origin }
            })
            .collect();
        Ok(Overlay { name: name.to_string(), dir: dir.to_path_buf(), objects, sources })
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name == name && (o.namespace == namespace || namespace.is_empty()))
    }

    /// The first file:line under k8s/ whose text contains `needle`, preferring the overlay's own files.
    pub fn locate(&self, needle: &str) -> Option<(PathBuf, usize)> {
        let mine = |p: &PathBuf| !p.starts_with(&self.dir);
        let mut files: Vec<&(PathBuf, String)> = self.sources.iter().collect();
        files.sort_by_key(|(p, _)| mine(p));
        files.into_iter().find_map(|(p, t)| t.lines().position(|l| l.contains(needle)).map(|i| (p.clone(), i + 1)))
    }

    /// A finding at where `needle` is written (or, when no file under k8s/ says it, the overlay).
    pub fn finding_at(&self, needle: &str, message: impl Into<String>) -> Finding {
        match self.locate(needle) {
            Some((file, line)) => Finding::new(&file, Some(line), message),
            None => Finding::new(&self.dir, None, format!("overlay `{}`: {}", self.name, message.into())),
        }
    }
}

fn yaml_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&d).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out
}

/// (kind, name) → the file and line of the document that defines it (its `kind:` line).
fn definitions(sources: &[(PathBuf, String)]) -> BTreeMap<(String, String), (PathBuf, usize)> {
    let mut index = BTreeMap::new();
    for (path, text) in sources {
        let mut start = 0;
        for (i, chunk) in split_documents(text) {
            let Ok(v) = serde_norway::from_str::<Value>(&chunk) else {
                start += 1;
                continue;
            };
            let kind = v.get("kind").and_then(Value::as_str);
            let name = v.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str);
            if let (Some(kind), Some(name)) = (kind, name) {
                let line = chunk.lines().position(|l| l.starts_with("kind:")).map_or(i, |k| i + k);
                index.entry((kind.to_string(), name.to_string())).or_insert((path.clone(), line));
            }
            start += 1;
        }
        let _ = start;
    }
    index
}

/// The YAML documents of a file with the 1-based line each starts on.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            docs.push((i + 2, String::new()));
        } else if let Some((_, doc)) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs
}

/// A Helm release the environment gets, with its merged values.
pub struct HelmRelease {
    pub release: Release,
    pub values: Value,
    /// values.yaml, values-<env>.yaml
    pub files: [PathBuf; 2],
    /// helm-values/releases.toml
    pub list: PathBuf,
}

impl HelmRelease {
    /// A value at a dotted path of the merged values (`serviceAccount.name`).
    pub fn value(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.values, |v, k| v.get(k))
    }

    /// A finding at the release's entry in the release list.
    pub fn finding(&self, message: impl AsRef<str>) -> Finding {
        Finding::new(
            &self.list,
            Some(self.release.line),
            format!("release {}: {}", self.release.name, message.as_ref()),
        )
    }

    /// A finding at the key a dotted path names (`server.service`) in the last values file that sets
    /// it, the one that wins the merge (else the release list).
    pub fn finding_at_key(&self, path: &str, message: impl AsRef<str>) -> Finding {
        for file in self.files.iter().rev() {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if let Some(line) = key_line(&text, path) {
                return Finding::new(file, Some(line), format!("release {}: {}", self.release.name, message.as_ref()));
            }
        }
        self.finding(message)
    }

    /// A finding at the first values file that mentions `needle` (else the release list).
    pub fn finding_at(&self, needle: &str, message: impl AsRef<str>) -> Finding {
        for file in self.files.iter().rev() {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if let Some(i) = text.lines().position(|l| l.contains(needle)) {
                return Finding::new(file, Some(i + 1), format!("release {}: {}", self.release.name, message.as_ref()));
            }
        }
        self.finding(message)
    }
}

/// The 1-based line of a dotted key path in a block-style YAML mapping: each key is looked for among
/// its parent's direct children (the lines at the first child's indent, until the parent's block ends),
/// so `server.service` never lands on a `service:` of another section.
fn key_line(text: &str, path: &str) -> Option<usize> {
    let mut keys = path.split('.');
    let mut want = keys.next()?;
    let (mut parent, mut children) = (None::<usize>, None::<usize>);
    for (i, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
            continue;
        }
        let indent = line.len() - content.len();
        if parent.is_some_and(|p| indent <= p) {
            return None;
        }
        if *children.get_or_insert(indent) != indent {
            continue;
        }
        let key = content.split_once(':').map(|(k, _)| k.trim().trim_matches(['"', '\'']));
        if key == Some(want) {
            match keys.next() {
                Some(next) => (want, parent, children) = (next, Some(indent), None),
                None => return Some(i + 1),
            }
        }
    }
    None
}

/// A GitHub Actions workflow.
pub struct Workflow {
    pub path: PathBuf,
    pub text: String,
    pub value: Value,
}

/// What every contract reads.
pub struct Inputs {
    pub root: PathBuf,
    pub env: Env,
    pub plan: Plan,
    pub overlay: Overlay,
    pub releases: Vec<HelmRelease>,
    pub workflows: Vec<Workflow>,
    /// (kind, name) of the objects `deploy` applies before the first release (k8s/cluster/).
    pub before_releases: std::collections::BTreeSet<(String, String)>,
    /// The overlay's Argo CD root (k8s/overlays/<env>/argocd), rendered, where Argo CD runs.
    pub gitops: Option<Overlay>,
}

impl Inputs {
    /// The environment's files in the repository.
    pub fn files(&self) -> EnvFiles<'_> {
        EnvFiles::of(&self.root, &self.env.config)
    }

    /// The inputs of `env` (configured under `project`) with its plan JSON at `plan_path`: the overlay
    /// rendered (unbound), the releases the environment gets with their values, the workflows.
    pub fn load(ctx: &Context, project: &str, e: &Environment, plan_path: &Path) -> Result<Inputs> {
        let files = EnvFiles::of(&ctx.root, e);
        let plan = Plan::load(plan_path, &files.terraform_dir())?;
        let yaml = crate::k8s::render(ctx, &e.overlay)?;
        let overlay = Overlay::from_render(&e.overlay, &files.overlay_dir(), &ctx.root.join("k8s"), &yaml)?;
        let gitops = if crate::gitops::owns(ctx, &e.overlay) {
            let name = crate::gitops::root_overlay(&e.overlay);
            let yaml = crate::k8s::render(ctx, &name)?;
            Some(Overlay::from_render(&name, &crate::k8s::overlay_dir(&ctx.root, &name), &ctx.root.join("k8s"), &yaml)?)
        } else {
            None
        };
        let releases = if ctx.root.join(crate::releases::LIST).is_file() {
            crate::releases::ordered(files)?
                .into_iter()
                .map(|release| HelmRelease {
                    values: release.values(files),
                    files: release.values_files(files),
                    list: ctx.root.join(crate::releases::LIST),
                    release,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Inputs {
            root: ctx.root.clone(),
            env: Env { project: project.to_string(), config: e.clone() },
            plan,
            overlay,
            releases,
            workflows: workflows(&ctx.root)?,
            before_releases: crate::k8s::before_releases_keys(ctx)?,
            gitops,
        })
    }
}

/// The workflows under .github/workflows.
pub fn workflows(root: &Path) -> Result<Vec<Workflow>> {
    let dir = root.join(".github").join("workflows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let value = serde_norway::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?;
            Ok(Workflow { path, text, value })
        })
        .collect()
}

/// Every contract over the inputs.
pub fn run(inputs: &Inputs) -> Vec<Finding> {
    CONTRACTS.iter().flat_map(|(_, contract)| contract(inputs)).collect()
}

/// `validate`'s `contracts <env>`: the inputs from the plan at `plan_path`, every contract run.
pub fn check(ctx: &Context, project: &str, env: &Environment, plan_path: &Path) -> Result<Vec<Finding>> {
    Ok(run(&Inputs::load(ctx, project, env, plan_path)?))
}

#[cfg(test)]
mod tests {
    use super::key_line;

    const VALUES: &str = "\
# comment
controller:
  service:
    type: ClusterIP
server:
  ingress:
    enabled: false

  service:
    # the one asked for
    type: LoadBalancer
\"quoted\":
  key: 1
";

    #[test]
    fn a_dotted_key_is_found_under_its_own_parent_only() {
        assert_eq!(key_line(VALUES, "server.service"), Some(9));
        assert_eq!(key_line(VALUES, "server.service.type"), Some(11));
        assert_eq!(key_line(VALUES, "controller.service"), Some(3));
        assert_eq!(key_line(VALUES, "quoted.key"), Some(13));
        // A grandchild is not a child; a key past its parent's block is not in it.
        assert_eq!(key_line(VALUES, "server.type"), None);
        assert_eq!(key_line(VALUES, "controller.ingress"), None);
        assert_eq!(key_line(VALUES, "missing"), None);
    }
}
