//! The API versions Kubernetes stopped serving, per minor (`k8s/removed-apis.toml`, from Kubernetes'
//! deprecation guide), and the check of rendered objects against them: an object whose API was removed
//! at or before a version is refused there, one removed in the next minor is a warning. With them, the
//! objects of a built-in API group that kubernetes-validate has no schema for at that version (an API
//! version Kubernetes never had, or an alpha one EKS does not serve). Custom resources are not judged
//! here: `crds::check_overlay` holds them to the groups the environment's releases install.

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;
use serde_norway::Value;
use toml::Spanned;

use super::{toml_error, Minor, RawSource};
use crate::env_files::EnvFiles;
use crate::error::line_of;
use crate::error::usage;
use crate::finding::Finding;
use crate::k8s::{object_name, text};

/// The table, relative to the repository root.
pub const REMOVED: &str = "k8s/removed-apis.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[allow(dead_code)]
    source: RawSource,
    removed: Vec<Spanned<RawRemoval>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemoval {
    #[serde(rename = "in")]
    removed_in: String,
    api: String,
    kinds: Vec<String>,
    #[serde(rename = "use", default)]
    replacement: Option<String>,
}

/// One API version that a minor stopped serving, for some kinds.
#[derive(Clone, Debug)]
pub struct Removal {
    pub removed_in: Minor,
    pub api: String,
    pub kinds: Vec<String>,
    pub replacement: Option<String>,
}

impl Removal {
    /// `use flowcontrol.apiserver.k8s.io/v1; k8s/removed-apis.toml`
    fn instead(&self) -> String {
        match &self.replacement {
            Some(r) => format!("use {r}; {REMOVED}"),
            None => format!("it has no replacement; {REMOVED}"),
        }
    }
}

pub struct Removals {
    pub list: Vec<Removal>,
}

impl Removals {
    pub fn load(root: &Path) -> Result<Removals> {
        let path = root.join(REMOVED);
        let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        let raw: RawTable = toml::from_str(&text).map_err(|e| toml_error(&path, &text, &e))?;
        let mut list = Vec::new();
        for row in raw.removed {
            let at = format!("{}:{}", path.display(), line_of(&text, row.span().start));
            let row = row.into_inner();
            let removed_in = Minor::parse_exact(&row.removed_in)
                .ok_or_else(|| usage(format!("{at}: in = `{}` is not a minor version like 1.32", row.removed_in)))?;
            if !row.api.contains('/') || row.kinds.is_empty() {
                return Err(usage(format!("{at}: api must be group/version (or v1 style) and kinds non-empty")));
            }
            list.push(Removal { removed_in, api: row.api, kinds: row.kinds, replacement: row.replacement });
        }
        Ok(Removals { list })
    }

    /// The removal that covers `api_version` and `kind`, if any.
    pub fn find(&self, api_version: &str, kind: &str) -> Option<&Removal> {
        self.list.iter().find(|r| r.api == api_version && r.kinds.iter().any(|k| k == kind))
    }
}

/// What one object meets at a version.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Removed at or before the version: the API server refuses it.
    Removed(String),
    /// Removed in the next minor: it breaks on the next upgrade.
    NextMinor(String),
    /// A built-in API group's version kubernetes-validate has no schema for at this version.
    Unknown(String),
}

/// The verdict for an object of `api_version`/`kind` at `version`; `unknown` lists the (apiVersion, kind)
/// pairs kubernetes-validate had no schema for (custom resources among them: ignored here).
pub fn verdict(
    removals: &Removals,
    api_version: &str,
    kind: &str,
    version: Minor,
    unknown: &[(String, String)],
) -> Option<Verdict> {
    if let Some(r) = removals.find(api_version, kind) {
        if r.removed_in <= version {
            return Some(Verdict::Removed(format!(
                "{api_version} is not served since Kubernetes {} ({}), so Kubernetes {version} refuses it",
                r.removed_in,
                r.instead()
            )));
        }
        if r.removed_in == version.next() {
            return Some(Verdict::NextMinor(format!(
                "{api_version} is no longer served in Kubernetes {} ({}): it breaks the upgrade from {version}",
                r.removed_in,
                r.instead()
            )));
        }
    }
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    if crate::crds::is_builtin(group) && unknown.iter().any(|(a, k)| a == api_version && k == kind) {
        return Some(Verdict::Unknown(format!(
            "Kubernetes {version} serves no {api_version} {kind} (kubernetes-validate has no schema for it, and no CRD can add a built-in group)"
        )));
    }
    None
}

/// The rendered overlay of an environment at its Kubernetes version: findings (removed or unknown APIs),
/// and warnings (removed in the next minor), each at the file and line under k8s/ that defines the object.
pub fn check_overlay(
    root: &Path,
    overlay: &str,
    yaml: &str,
    version: Minor,
    unknown: &[(String, String)],
) -> Result<(Vec<Finding>, Vec<Finding>)> {
    let removals = Removals::load(root)?;
    let dir = crate::k8s::overlay_dir(root, overlay);
    let rendered = crate::contracts::Overlay::from_render(overlay, &dir, &root.join("k8s"), yaml)?;
    let (mut findings, mut warnings) = (Vec::new(), Vec::new());
    for o in &rendered.objects {
        let api = o.text(&["apiVersion"]).unwrap_or("");
        match verdict(&removals, api, &o.kind, version, unknown) {
            Some(Verdict::Removed(m) | Verdict::Unknown(m)) => findings.push(o.finding(&dir, m)),
            Some(Verdict::NextMinor(m)) => warnings.push(o.finding(&dir, m)),
            None => {}
        }
    }
    Ok((findings, warnings))
}

/// An overlay's schema check (kubernetes-validate) and API check at its environment's Kubernetes version
/// (terraform's `kubernetes_version`): findings, and warnings for the next minor.
pub fn overlay_findings(
    ctx: &crate::context::Context,
    overlay: &str,
    yaml: &str,
) -> Result<(Vec<Finding>, Vec<Finding>)> {
    let version = crate::k8s::kubernetes_version(EnvFiles::of_overlay(&ctx.root, overlay));
    let schemas = crate::k8s::schema_check(ctx, yaml, overlay, &version)?;
    let minor = Minor::parse(&version)
        .ok_or_else(|| usage(format!("`{overlay}`: kubernetes_version `{version}` is not like 1.35")))?;
    let (found, warnings) = check_overlay(&ctx.root, overlay, yaml, minor, &schemas.unknown)?;
    let mut findings = schemas.findings;
    findings.extend(found);
    Ok((findings, warnings))
}

/// The objects of a render (a release's `helm template`) that `version` refuses, as
/// `Kind ns/name: why` lines; and those the minor after it would.
pub fn check_objects(removals: &Removals, objects: &[Value], version: Minor) -> (Vec<String>, Vec<String>) {
    let (mut refused, mut next) = (Vec::new(), Vec::new());
    for o in objects {
        let (api, kind) = (text(o, &["apiVersion"]), text(o, &["kind"]));
        match verdict(removals, api, kind, version, &[]) {
            Some(Verdict::Removed(m) | Verdict::Unknown(m)) => refused.push(format!("{}: {m}", object_name(o))),
            Some(Verdict::NextMinor(m)) => next.push(format!("{}: {m}", object_name(o))),
            None => {}
        }
    }
    (refused, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removals() -> Removals {
        let r = |v: &str, api: &str, kinds: &[&str], to: Option<&str>| Removal {
            removed_in: Minor::parse_exact(v).unwrap(),
            api: api.into(),
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            replacement: to.map(str::to_string),
        };
        Removals {
            list: vec![
                r(
                    "1.32",
                    "flowcontrol.apiserver.k8s.io/v1beta3",
                    &["FlowSchema"],
                    Some("flowcontrol.apiserver.k8s.io/v1"),
                ),
                r("1.36", "example.k8s.io/v1beta1", &["Widget"], None),
            ],
        }
    }

    #[test]
    fn removed_next_minor_and_unknown_apis_are_told_apart() {
        let t = removals();
        let v = |api: &str, kind: &str, unknown: &[(String, String)]| {
            verdict(&t, api, kind, Minor::parse_exact("1.35").unwrap(), unknown)
        };
        let Some(Verdict::Removed(m)) = v("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", &[]) else { panic!() };
        assert!(m.contains("not served since Kubernetes 1.32 (use flowcontrol.apiserver.k8s.io/v1"), "{m}");
        assert!(matches!(v("example.k8s.io/v1beta1", "Widget", &[]), Some(Verdict::NextMinor(_))));
        assert_eq!(v("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", &[]), None);
        let unknown = [
            ("apps/v2".to_string(), "Deployment".to_string()),
            ("monitoring.coreos.com/v1".into(), "PodMonitor".into()),
        ];
        assert!(matches!(v("apps/v2", "Deployment", &unknown), Some(Verdict::Unknown(_))));
        assert_eq!(v("monitoring.coreos.com/v1", "PodMonitor", &unknown), None, "custom resources are crds.rs's");
    }

    #[test]
    fn the_projects_table_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let t = Removals::load(root).unwrap();
        assert!(t.find("policy/v1beta1", "PodDisruptionBudget").is_some_and(|r| r.removed_in.to_string() == "1.25"));
        assert!(t.find("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration").is_some());
        let cal = super::super::Calendar::load(root).unwrap();
        assert!(cal.get(Minor::parse_exact("1.35").unwrap()).is_some());
    }
}
