//! Drift: what changed outside terraform. A refresh-only plan (`terraform plan -refresh-only`, saved and
//! shown as JSON) compares the real infrastructure with the state without proposing any change; its
//! `resource_drift` names each resource that differs and, before and after, its attributes — each
//! changed path listed, sensitive values masked. In off-hours (`schedule down`) the node groups' sizes
//! and the database's status differ by design: listed as expected, not as drift. The report is printed,
//! written to `<work>/plans/<env>.drift.md`, and under GitHub Actions appended to the job summary with an
//! annotation; drift found is its own exit code (3), distinct from a failed run.

use std::cell::RefCell;
use std::fmt::Write as _;

use anyhow::{Context as _, Result};

use crate::engine::{Cmd, Step};
use crate::target::Target;
use crate::tfplan::{AttrChange, Effect, Plan, ResourceChange};
use crate::{offhours, statelock, Context};

/// One resource that differs from the state.
#[derive(Debug, Clone)]
pub struct Drifted {
    pub address: String,
    /// Deleted outside terraform (nothing of it is left), rather than changed.
    pub deleted: bool,
    pub changes: Vec<AttrChange>,
}

pub struct Report {
    pub env: String,
    pub drifted: Vec<Drifted>,
    /// Differences off-hours makes on purpose (node group sizes, the stopped database).
    pub expected: Vec<Drifted>,
    /// The environment is in off-hours (`schedule down`).
    pub offhours: bool,
}

/// Attribute paths `schedule down` changes: expected while the environment is in off-hours.
fn offhours_path(kind: &str, path: &str) -> bool {
    match kind {
        "aws_eks_node_group" => ["scaling_config[0].min_size", "scaling_config[0].desired_size"].contains(&path),
        "aws_db_instance" => path == "status",
        _ => false,
    }
}

impl Report {
    pub fn find(env: &str, plan: &Plan, offhours: bool) -> Report {
        let mut report = Report { env: env.to_string(), drifted: Vec::new(), expected: Vec::new(), offhours };
        for rc in plan.resource_drift.iter().filter(|rc| rc.managed()) {
            let (drifted, expected) = split(rc, offhours);
            report.drifted.extend(drifted);
            report.expected.extend(expected);
        }
        report
    }

    pub fn in_sync(&self) -> bool {
        self.drifted.is_empty()
    }

    pub fn line(&self) -> String {
        let expected = match self.expected.len() {
            0 => String::new(),
            n => format!(" ({n} expected from off-hours)"),
        };
        let offhours = if self.offhours { format!("; `{}` is in off-hours", self.env) } else { String::new() };
        match self.drifted.len() {
            0 => format!("in sync: the real infrastructure of `{}` matches the state{expected}{offhours}", self.env),
            n => format!("drift: {n} resource(s) of `{}` differ from the state{expected}{offhours}", self.env),
        }
    }

    /// The report as plain text: a line per resource, an indented line per attribute.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.line());
        for (heading, list) in [("", &self.drifted), ("expected (off-hours): ", &self.expected)] {
            for d in list {
                let _ = writeln!(
                    out,
                    "  {heading}{}{}",
                    d.address,
                    if d.deleted { " — deleted outside terraform" } else { "" }
                );
                for c in &d.changes {
                    let _ = writeln!(out, "      {}: {} → {}", c.path, shown(&c.before), shown(&c.after));
                }
            }
        }
        if !self.in_sync() {
            let _ = writeln!(
                out,
                "To undo the changes: `cargo xtask deploy {env}` (its plan shows what it puts back). To keep them: change \
                 the terraform code to match, then deploy.",
                env = self.env
            );
        }
        out
    }

    /// The report as markdown (the drift file, the job summary).
    pub fn markdown(&self) -> String {
        let mut out = format!("### Drift: `{}`\n\n{}\n\n", self.env, self.line());
        let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
        for (heading, list) in [("Differs from the state", &self.drifted), ("Expected in off-hours", &self.expected)] {
            if list.is_empty() {
                continue;
            }
            let _ =
                writeln!(out, "**{heading}:**\n\n| resource | attribute | in the state | real |\n|---|---|---|---|");
            for d in list {
                if d.deleted || d.changes.is_empty() {
                    let what = if d.deleted { "deleted outside terraform" } else { "changed" };
                    let _ = writeln!(out, "| `{}` | {what} | | |", cell(&d.address));
                }
                for c in &d.changes {
                    let _ = writeln!(
                        out,
                        "| `{}` | `{}` | {} | {} |",
                        cell(&d.address),
                        cell(&c.path),
                        cell(&shown(&c.before)),
                        cell(&shown(&c.after))
                    );
                }
            }
            out.push('\n');
        }
        out
    }
}

fn shown(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}

/// A drifted resource's changes: those off-hours explains, and the rest.
fn split(rc: &ResourceChange, offhours: bool) -> (Option<Drifted>, Option<Drifted>) {
    let deleted = rc.change.effect() == Effect::Delete;
    let (expected, rest): (Vec<AttrChange>, Vec<AttrChange>) =
        rc.change.changed_paths().into_iter().partition(|c| offhours && !deleted && offhours_path(&rc.kind, &c.path));
    let make = |changes: Vec<AttrChange>| Drifted { address: rc.address.clone(), deleted, changes };
    let drifted = (deleted || !rest.is_empty() || expected.is_empty()).then(|| make(rest));
    (drifted, (!expected.is_empty()).then(|| make(expected)))
}

/// The refresh-only plan, shown as JSON and read as a [`Report`] into `found`; the report file written.
pub fn step<'a>(ctx: &'a Context, target: &'a Target, found: &'a RefCell<Option<Report>>) -> Step<'a> {
    let tfplan = target.file("drift.tfplan");
    let report_file = target.file("drift.md");
    let cmds = move |endpoint: Option<&str>| -> Result<Vec<Cmd>> {
        let tf = target.terraform(ctx, endpoint)?;
        let plan = tf
            .cmd(["plan", "-refresh-only", "-input=false", "-no-color"])
            .arg(format!("-out={}", tfplan.display()))
            .args(target.vars());
        let show = tf.cmd(["show", "-json", "-no-color"]).arg(tfplan.to_string_lossy());
        let mut cmds = vec![plan, show];
        if !target.env.protected {
            cmds.extend(offhours::Calls::new(ctx, target, endpoint.map(str::to_string)).record_cmd());
        }
        Ok(cmds)
    };
    let shown = cmds(target.shown_endpoint(ctx).as_deref()).unwrap_or_default();
    let note = format!(
        "changes nothing; writes {} (the saved refresh-only plan holds the state's values and is removed once read)",
        report_file.display()
    );
    Step::new("drift", "Compare the real infrastructure with the state (a refresh-only plan)", shown, move |c| {
        let endpoint = target.endpoint(ctx)?;
        target.ensure_dirs()?;
        let cmds = cmds(endpoint.as_deref())?;
        let result = c.run(&cmds[0]);
        statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, false)?;
        let json = c.output(&cmds[1]);
        let _ = std::fs::remove_file(target.file("drift.tfplan"));
        let plan = Plan::parse(&json?)?;
        plan.register_secrets();
        let offhours = match cmds.get(2) {
            Some(_) => offhours::Calls::new(ctx, target, endpoint.clone()).record(c)?.is_some(),
            None => false,
        };
        let report = Report::find(&target.env.name, &plan, offhours);
        let file = target.file("drift.md");
        std::fs::write(&file, report.markdown()).with_context(|| format!("writing {}", file.display()))?;
        c.note(report.line());
        c.fact(format!("{} (report: {})", report.line(), file.display()));
        *found.borrow_mut() = Some(report);
        Ok(())
    })
    .note(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        let drift = |address: &str,
                     kind: &str,
                     actions: &[&str],
                     before: serde_json::Value,
                     after: serde_json::Value| {
            json!({"address": address, "mode": "managed", "type": kind, "name": "x",
                   "change": {"actions": actions, "before": before, "after": after, "after_sensitive": {"password": true},
                              "before_sensitive": {"password": true}}})
        };
        serde_json::from_value(json!({"resource_drift": [
            drift("aws_vpc.main", "aws_vpc", &["update"], json!({"tags": {}}), json!({"tags": {"Drift": "yes"}})),
            drift("aws_db_instance.main", "aws_db_instance", &["update"],
                  json!({"status": "available", "password": "hunter2-old"}), json!({"status": "stopped", "password": "hunter2-new"})),
            drift("aws_eks_node_group.g", "aws_eks_node_group", &["update"],
                  json!({"scaling_config": [{"min_size": 1, "desired_size": 2}]}), json!({"scaling_config": [{"min_size": 0, "desired_size": 0}]})),
            drift("aws_sns_topic.t", "aws_sns_topic", &["delete"], json!({"name": "t"}), json!(null)),
        ], "resource_changes": []}))
        .unwrap()
    }

    #[test]
    fn every_drifted_resource_and_path_is_listed_and_secrets_are_not() {
        let r = Report::find("dev", &plan(), false);
        assert_eq!(r.drifted.len(), 4);
        let text = r.text();
        assert!(text.starts_with("drift: 4 resource(s) of `dev` differ from the state\n"), "{text}");
        assert!(text.contains("  aws_vpc.main\n      tags.Drift: (none) → \"yes\"\n"), "{text}");
        assert!(text.contains("aws_sns_topic.t — deleted outside terraform"), "{text}");
        assert!(text.contains("password: (sensitive value) → (sensitive value)"), "{text}");
        assert!(!text.contains("hunter2") && !r.markdown().contains("hunter2"), "{text}");
        assert!(r.markdown().contains("| `aws_vpc.main` | `tags.Drift` | (none) | \"yes\" |"), "{}", r.markdown());
    }

    #[test]
    fn off_hours_sizes_and_a_stopped_database_are_expected() {
        let r = Report::find("dev", &plan(), true);
        let drifted: Vec<&str> = r.drifted.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(drifted, ["aws_vpc.main", "aws_db_instance.main", "aws_sns_topic.t"], "the password still differs");
        let expected: Vec<&str> = r.expected.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(expected, ["aws_db_instance.main", "aws_eks_node_group.g"]);
        assert!(
            r.line().ends_with("differ from the state (2 expected from off-hours); `dev` is in off-hours"),
            "{}",
            r.line()
        );
        let quiet = Report::find("dev", &Plan::default(), false);
        assert!(quiet.in_sync() && quiet.line().starts_with("in sync"));
    }
}
