//! The control plane: terraform moves the environment's `kubernetes_version`, and nothing else. The version
//! is written into the environment's main.tf where it still says the minor below; the plan must update
//! the cluster in place, its version its only change (node groups and add-ons keep theirs: EKS moves them
//! in the next steps), or nothing is applied. A control plane does not go back: EKS has no downgrade.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value;

use super::Upgrade;
use crate::engine::{Cmd, Step};
use crate::error::usage;
use crate::lifecycle::{self, Minor};
use crate::target::Target;
use crate::tfplan::Plan;
use crate::{context::Context, statelock};

/// The saved plan of the version change (beside deploy's, not over it).
fn plan_file(target: &Target) -> std::path::PathBuf {
    target.file("upgrade.tfplan")
}

fn commands(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Result<[Cmd; 3]> {
    let tf = target.terraform(ctx, endpoint)?;
    let plan = tf
        .cmd(["plan", "-input=false", "-no-color"])
        .arg(format!("-out={}", plan_file(target).display()))
        .args(target.vars());
    let show = tf.cmd(["show", "-json", "-no-color"]).arg(plan_file(target).to_string_lossy());
    let apply = tf.cmd(["apply", "-input=false", "-no-color"]).arg(plan_file(target).to_string_lossy());
    Ok([plan, show, apply])
}

pub fn step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let mut shown_cmds: Vec<Cmd> = commands(ctx, target, shown.as_deref()).map(Vec::from).unwrap_or_default();
    let mut note = "refuses a plan that does more than update the cluster's version in place; \
                    a control plane can't go back a minor (EKS has no downgrade)"
        .to_string();
    if up.tree != up.to {
        note = format!(
            "first writes kubernetes_version = \"{}\" into {}:{}; {note}",
            up.to,
            up.tree_file.display(),
            up.tree_line
        );
    }
    if target.uses_emulator() {
        shown_cmds.pop();
        note.push_str("; on the emulator the plan is made and checked, not applied (it has no UpdateClusterVersion)");
    }
    let about = format!("Control plane to Kubernetes {} (terraform: kubernetes_version only, in place)", up.to);
    Step::new("control-plane", about, shown_cmds, move |c| {
        let endpoint = target.endpoint(ctx)?;
        target.prepare(ctx, endpoint.as_deref(), false)?;
        let main_tf = target.dir().join("main.tf");
        let written = set_version(&main_tf, up.tree, up.to)?;
        let [plan, show, apply] = commands(ctx, target, endpoint.as_deref())?;
        let result = c.run(&plan);
        statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, false)?;
        let json = c.output(&show)?;
        std::fs::write(target.file("upgrade.plan.json"), &json).context("writing the upgrade's plan JSON")?;
        let changes = match check_plan(&json, up.to) {
            Ok(changes) => changes,
            Err(problems) => {
                if written && !target.uses_emulator() {
                    set_version(&main_tf, up.to, up.tree)?;
                }
                return Err(usage(format!(
                    "refusing to apply: the plan of kubernetes_version = \"{}\" does more than move the control plane, so nothing was applied{}:\n  - {}\nBring `{}` in line with its configuration first (`cargo xtask plan {}`, then `cargo xtask deploy {}`), then upgrade",
                    up.to,
                    if written && !target.uses_emulator() { " and main.tf is as it was" } else { "" },
                    problems.join("\n  - "),
                    target.env.name,
                    target.env.name,
                    target.env.name
                )));
            }
        };
        for line in &changes {
            c.log(line);
        }
        if written && !target.uses_emulator() {
            let file = target.files().main_tf();
            c.fact(format!(
                "{} now says kubernetes_version = \"{}\" (it said {}): commit it with this upgrade",
                file.strip_prefix(&ctx.root).unwrap_or(&file).display(),
                up.to,
                up.tree
            ));
            // An environment that runs this one's overlay (dr) is held to its minor by validate.
            let config = ctx.config()?;
            for other in config.environments().filter(|e| e.borrowed_overlay() == Some(target.env.name.as_str())) {
                c.fact(format!(
                    "`{}` runs `{}`'s overlay: set kubernetes_version = \"{}\" in {} in the same commit (validate's \"cluster fit {}\" holds it to `{}`'s)",
                    other.name,
                    target.env.name,
                    up.to,
                    crate::env_files::shown_main_tf(&other.name),
                    other.name,
                    target.env.name
                ));
            }
        }
        if changes.is_empty() {
            c.note(format!("the cluster already runs {}: nothing to apply", up.to));
            return Ok(());
        }
        if target.uses_emulator() {
            c.note("planned in place and checked; not applied: the emulator has no UpdateClusterVersion");
            return Ok(());
        }
        let result = c.run(&apply).map_err(|e| {
            e.context(format!(
                "the control plane's update to {} failed. EKS does not move a control plane back to an earlier minor: \
                 whatever part of the update is done stays, so the way on is forward — fix the cause and resume",
                up.to
            ))
        });
        statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, true)?;
        c.note(format!("control plane at {}", up.to));
        Ok(())
    })
    .note(note)
}

/// Writes `to` over `from` on the one `kubernetes_version` line of main.tf; whether it changed anything.
pub fn set_version(main_tf: &Path, from: Minor, to: Minor) -> Result<bool> {
    if from == to {
        return Ok(false);
    }
    let text = std::fs::read_to_string(main_tf).with_context(|| format!("reading {}", main_tf.display()))?;
    let Some((index, line)) = lifecycle::version_line(&text) else {
        return Err(usage(format!("{}: no single `kubernetes_version = \"…\"` line to set", main_tf.display())));
    };
    let (old, new) = (format!("\"{from}\""), format!("\"{to}\""));
    if !line.contains(&old) {
        return Err(usage(format!(
            "{}:{}: kubernetes_version is not \"{from}\": `{}`",
            main_tf.display(),
            index + 1,
            line.trim()
        )));
    }
    let updated: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == index { l.replacen(&old, &new, 1) } else { l.to_string() })
        .collect();
    let mut updated = updated.join("\n");
    if text.ends_with('\n') {
        updated.push('\n');
    }
    std::fs::write(main_tf, updated).with_context(|| format!("writing {}", main_tf.display()))?;
    Ok(true)
}

/// The one attribute of an `aws_eks_cluster`'s before/after that is read by name here. The rest of a
/// resource's attribute map is free-form (its shape depends on the resource type), so `check_plan`
/// compares it key by key as a `Value`.
#[derive(serde::Deserialize)]
struct ClusterAttributes {
    #[serde(default)]
    version: Option<String>,
}

fn cluster_version(side: &Value) -> Option<String> {
    <ClusterAttributes as serde::Deserialize>::deserialize(side).ok()?.version
}

/// The plan of the version change: `Ok(lines)` when its only change is the cluster's version, updated in
/// place (no lines: nothing changes, the cluster is there already); else every other change.
pub fn check_plan(json: &str, to: Minor) -> std::result::Result<Vec<String>, Vec<String>> {
    let plan: Plan = serde_json::from_str(json).map_err(|e| vec![format!("the plan is not terraform's JSON: {e}")])?;
    let (mut ok, mut problems) = (Vec::new(), Vec::new());
    for rc in plan.resource_changes.iter().flatten() {
        let actions = rc.change.actions_text();
        if actions == "no-op" || (!rc.managed() && actions == "read") {
            continue;
        }
        if rc.kind != "aws_eks_cluster" || actions != "update" {
            problems.push(format!("{} ({actions})", rc.address));
            continue;
        }
        let unknown = |k: &str| rc.change.after_unknown.get(k).is_some_and(|v| v != &Value::Bool(false));
        let keys: std::collections::BTreeSet<&String> = rc
            .change
            .before
            .as_object()
            .into_iter()
            .flatten()
            .chain(rc.change.after.as_object().into_iter().flatten())
            .map(|(k, _)| k)
            .collect();
        let changed: Vec<&str> = keys
            .into_iter()
            .filter(|k| !unknown(k) && rc.change.before.get(k.as_str()) != rc.change.after.get(k.as_str()))
            .map(String::as_str)
            .collect();
        let version = cluster_version(&rc.change.after).unwrap_or_default();
        if changed != ["version"] || version != to.to_string() {
            problems.push(format!("{} (update of {})", rc.address, changed.join(", ")));
            continue;
        }
        let before = cluster_version(&rc.change.before).unwrap_or_else(|| "?".to_string());
        ok.push(format!("{}: version {before} → {version}, updated in place", rc.address));
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}

/// The cluster version change a plan makes (an update of an `aws_eks_cluster`'s `version`), if any: what
/// `deploy` refuses, because moving the version is `upgrade`'s, in order with the add-ons and nodes.
pub fn version_change(json: &str) -> Option<(String, String)> {
    let plan: Plan = serde_json::from_str(json).ok()?;
    plan.resource_changes
        .iter()
        .flatten()
        .filter(|rc| rc.kind == "aws_eks_cluster" && rc.change.actions_text() == "update")
        .find_map(|rc| match (cluster_version(&rc.change.before), cluster_version(&rc.change.after)) {
            (Some(a), Some(b)) if a != b => Some((a, b)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(address: &str, rtype: &str, actions: &[&str], before: Value, after: Value) -> Value {
        serde_json::json!({"address": address, "type": rtype, "mode": "managed",
            "change": {"actions": actions, "before": before, "after": after, "after_unknown": {"platform_version": true}}})
    }

    #[test]
    fn only_an_in_place_version_update_of_the_cluster_passes() {
        let to = Minor::parse_exact("1.36").unwrap();
        let cluster = |actions: &[&str], after: Value| {
            change(
                "module.stack.module.eks.aws_eks_cluster.this",
                "aws_eks_cluster",
                actions,
                serde_json::json!({"version": "1.35", "name": "c", "platform_version": "eks.3"}),
                after,
            )
        };
        let plan = |rcs: Vec<Value>| serde_json::json!({"resource_changes": rcs}).to_string();
        let good = plan(vec![cluster(&["update"], serde_json::json!({"version": "1.36", "name": "c"}))]);
        assert_eq!(
            check_plan(&good, to).unwrap(),
            ["module.stack.module.eks.aws_eks_cluster.this: version 1.35 → 1.36, updated in place"]
        );
        let replaced = plan(vec![cluster(&["delete", "create"], serde_json::json!({"version": "1.36", "name": "c"}))]);
        assert_eq!(
            check_plan(&replaced, to).unwrap_err(),
            ["module.stack.module.eks.aws_eks_cluster.this (delete+create)"]
        );
        let more = plan(vec![cluster(&["update"], serde_json::json!({"version": "1.36", "name": "d"}))]);
        assert_eq!(
            check_plan(&more, to).unwrap_err(),
            ["module.stack.module.eks.aws_eks_cluster.this (update of name, version)"]
        );
        let other = plan(vec![
            cluster(&["update"], serde_json::json!({"version": "1.36", "name": "c"})),
            change("aws_s3_bucket.b", "aws_s3_bucket", &["update"], serde_json::json!({}), serde_json::json!({"x": 1})),
        ]);
        assert_eq!(check_plan(&other, to).unwrap_err(), ["aws_s3_bucket.b (update)"]);
        assert_eq!(check_plan(&plan(vec![]), to).unwrap(), Vec::<String>::new());
        let mut read = change("data.aws_caller_identity.c", "aws_caller_identity", &["read"], Value::Null, Value::Null);
        read["mode"] = serde_json::json!("data");
        assert_eq!(check_plan(&plan(vec![read]), to).unwrap(), Vec::<String>::new(), "a data source read is no change");
        assert_eq!(version_change(&good), Some(("1.35".to_string(), "1.36".to_string())));
        assert_eq!(version_change(&replaced), None, "a replacement is not an in-place version move");
    }

    #[test]
    fn the_version_is_set_on_its_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("main.tf");
        std::fs::write(&file, "module \"stack\" {\n  kubernetes_version = \"1.35\"\n}\n").unwrap();
        let (a, b) = (Minor::parse_exact("1.35").unwrap(), Minor::parse_exact("1.36").unwrap());
        assert!(set_version(&file, a, b).unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "module \"stack\" {\n  kubernetes_version = \"1.36\"\n}\n");
        assert!(set_version(&file, a, b).is_err(), "it no longer says 1.35");
    }
}
