//! The platform's Helm releases: `helm-values/releases.toml` (chart, repository, pinned version,
//! namespace, what each needs first, which environments get it) and one values folder per release.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use crate::engine::Cmd;
use crate::error::usage;
use crate::finding::Finding;

pub const LIST: &str = "helm-values/releases.toml";
/// The mesh's releases: installed by the mesh step (with the identity certificates), not with the rest.
pub const MESH_RELEASES: &[&str] = &["linkerd-crds", "linkerd-control-plane"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(default)]
    release: Vec<Spanned<Release>>,
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
    #[serde(skip)]
    pub line: usize,
}

impl Release {
    pub fn values_dir(&self, root: &Path) -> PathBuf {
        root.join("helm-values").join(&self.name)
    }

    /// The values files for an environment, in the order helm layers them.
    pub fn values_files(&self, root: &Path, env: &str) -> [PathBuf; 2] {
        let dir = self.values_dir(root);
        [dir.join("values.yaml"), dir.join(format!("values-{env}.yaml"))]
    }

    pub fn is_mesh(&self) -> bool {
        MESH_RELEASES.contains(&self.name.as_str())
    }

    /// `helm upgrade --install` of this release: rolled back on failure (helm 4's `--atomic`), waited on, with its values and the terraform
    /// outputs it takes (`outputs`: output name → value, or a placeholder for `--dry-run`).
    pub fn install(
        &self,
        helm: Cmd,
        root: &Path,
        env: &str,
        kubeconfig: &Path,
        outputs: &dyn Fn(&str) -> String,
    ) -> Cmd {
        let mut cmd = helm
            .args(["upgrade", "--install", &self.name, &self.chart])
            .args(["--repo", &self.repository, "--version", &self.version, "--namespace", &self.namespace])
            .args(["--create-namespace", "--rollback-on-failure", "--wait", "--timeout", "10m"])
            .arg(format!("--kubeconfig={}", kubeconfig.display()));
        for file in self.values_files(root, env) {
            cmd = cmd.arg("-f").arg(file.to_string_lossy());
        }
        for (path, output) in &self.set_from_terraform {
            cmd = cmd.arg("--set").arg(format!("{path}={}", outputs(output)));
        }
        cmd
    }
}

pub fn load(root: &Path) -> Result<Vec<Release>> {
    let path = root.join(LIST);
    let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let raw: RawList = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| format!(":{}", line_of(s.start))).unwrap_or_default();
        usage(format!("{}{at}: {}", path.display(), e.message().trim().replace('\n', "; ")))
    })?;
    Ok(raw
        .release
        .into_iter()
        .map(|r| {
            let line = line_of(r.span().start);
            Release { line, ..r.into_inner() }
        })
        .collect())
}

/// The releases an environment gets, each after everything it needs (list order otherwise).
pub fn ordered(root: &Path, env: &str) -> Result<Vec<Release>> {
    let all = load(root)?;
    let findings = check_list(root, &all);
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
    Ok(done)
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
        for env in &r.environments {
            for file in r.values_files(root, env) {
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

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
