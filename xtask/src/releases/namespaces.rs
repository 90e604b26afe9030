//! The release namespaces' `[[namespace]]` table: its checks, and the Pod Security table in
//! helm-values/README.md rendered from it (`cargo xtask docs`).

use std::path::Path;

use anyhow::Result;

use super::{load_list, List, LIST, POD_SECURITY_LEVELS};
use crate::error::usage;
use crate::finding::Finding;

/// The `[[namespace]]` table: one entry per release namespace, known levels, and the README table
/// (helm-values/README.md, "Pod Security levels") the same as `namespace_table` renders it.
pub(super) fn check_namespaces(root: &Path, list: &List) -> Vec<Finding> {
    let file = root.join(LIST);
    let mut findings = Vec::new();
    for (i, ns) in list.namespaces.iter().enumerate() {
        let at = |msg: String| Finding::new(&file, Some(ns.line), msg);
        if list.namespaces[..i].iter().any(|o| o.name == ns.name) {
            findings.push(at(format!("namespace `{}` is listed twice", ns.name)));
        }
        for (mode, level) in [("enforce", &ns.enforce), ("audit", &ns.audit), ("warn", &ns.warn)] {
            if let Some(level) = level.as_deref().filter(|l| !POD_SECURITY_LEVELS.contains(l)) {
                findings.push(at(format!(
                    "namespace `{}`: {mode} = `{level}` is not a Pod Security level ({})",
                    ns.name,
                    POD_SECURITY_LEVELS.join(", ")
                )));
            }
        }
        if let Some(k) = ns.labels.keys().find(|k| k.starts_with("pod-security.kubernetes.io/")) {
            findings
                .push(at(format!("namespace `{}`: label {k} is set by enforce/audit/warn, not by `labels`", ns.name)));
        }
        if ns.leave && !(ns.labels.is_empty() && ns.annotations.is_empty()) {
            findings.push(at(format!(
                "namespace `{}` is left as the cluster has it (`leave = true`) but names labels or annotations",
                ns.name
            )));
        }
        match (ns.leave, &ns.enforce) {
            (false, None) => findings.push(at(format!(
                "namespace `{}` has no `enforce` level: give the strictest its pods run under (or `leave = true`)",
                ns.name
            ))),
            (true, Some(_)) => findings.push(at(format!(
                "namespace `{}` is left as the cluster has it (`leave = true`) but names levels",
                ns.name
            ))),
            _ => {}
        }
        if !list.releases.iter().any(|r| r.namespace == ns.name) {
            findings.push(at(format!("namespace `{}` is no release's namespace", ns.name)));
        }
    }
    for r in &list.releases {
        if !list.namespaces.iter().any(|n| n.name == r.namespace) {
            findings.push(Finding::new(
                &file,
                Some(r.line),
                format!(
                    "release `{}` installs into namespace `{}`, which has no [[namespace]] entry (its Pod Security levels)",
                    r.name, r.namespace
                ),
            ));
        }
    }
    let readme = root.join(README);
    if let Ok(text) = std::fs::read_to_string(&readme) {
        let table = namespace_table(list);
        match (text.find(TABLE_BEGIN), text.find(TABLE_END)) {
            (Some(b), Some(e)) if b < e => {
                let current = text[b + TABLE_BEGIN.len()..e].trim();
                if current != table.trim() {
                    let line = text[..b].matches('\n').count() + 1;
                    let first = table
                        .lines()
                        .zip(current.lines().chain(std::iter::repeat("")))
                        .find(|(want, have)| want != have)
                        .map(|(want, _)| want.to_string())
                        .unwrap_or_else(|| "(extra rows)".into());
                    findings.push(Finding::new(
                        &readme,
                        Some(line),
                        format!(
                            "the Pod Security table differs from {LIST}'s [[namespace]] entries; expected row: {first}"
                        ),
                    ));
                }
            }
            _ if !list.namespaces.is_empty() => findings.push(Finding::new(
                &readme,
                None,
                format!("no {TABLE_BEGIN} / {TABLE_END} markers around the Pod Security table"),
            )),
            _ => {}
        }
    }
    findings
}

pub const README: &str = "helm-values/README.md";

/// Writes the README's Pod Security table from the `[[namespace]]` entries (`cargo xtask docs`);
/// whether the file changed.
pub fn write_namespace_table(root: &Path) -> Result<bool> {
    let list = load_list(root)?;
    let readme = root.join(README);
    let text = std::fs::read_to_string(&readme).map_err(|e| usage(format!("cannot read {}: {e}", readme.display())))?;
    let (Some(b), Some(e)) = (text.find(TABLE_BEGIN), text.find(TABLE_END)) else {
        return Err(usage(format!("{README}: no {TABLE_BEGIN} / {TABLE_END} markers to fill")));
    };
    let updated = format!("{}{TABLE_BEGIN}\n{}{}", &text[..b], namespace_table(&list), &text[e..]);
    if updated == text {
        return Ok(false);
    }
    std::fs::write(&readme, updated).map_err(|e| usage(format!("cannot write {}: {e}", readme.display())))?;
    Ok(true)
}
const TABLE_BEGIN: &str = "<!-- BEGIN_POD_SECURITY -->";
const TABLE_END: &str = "<!-- END_POD_SECURITY -->";

/// The README's Pod Security table, rendered from the `[[namespace]]` entries.
pub fn namespace_table(list: &List) -> String {
    let mut out = String::from(
        "| namespace | releases | enforce | audit | warn | why not stricter |\n|---|---|---|---|---|---|\n",
    );
    for ns in &list.namespaces {
        let releases: Vec<&str> =
            list.releases.iter().filter(|r| r.namespace == ns.name).map(|r| r.name.as_str()).collect();
        let level = |l: &Option<String>| l.clone().unwrap_or_else(|| "—".into());
        let enforce = if ns.leave { "(left as the cluster has it)".to_string() } else { level(&ns.enforce) };
        out.push_str(&format!(
            "| {} | {} | {enforce} | {} | {} | {} |\n",
            ns.name,
            releases.join(", "),
            level(&ns.audit),
            level(&ns.warn),
            ns.why
        ));
    }
    out
}
