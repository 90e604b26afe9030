//! Drift: what changed outside terraform. A refresh-only plan (`terraform plan -refresh-only`, saved and
//! shown as JSON) compares the real infrastructure with the state without proposing any change; its
//! `resource_drift` names each resource that differs and, before and after, its attributes — each
//! changed path listed, sensitive values masked. Drift is a difference in what terraform enforces: an
//! attribute or block the configuration writes, or a plain argument it leaves unset (terraform sets it
//! back). What the provider computes or other resources fill (`tags_all`, an address an association
//! gave, a security group's `ingress` when its rules are separate resources, a role's `inline_policy`)
//! is listed as "also changed", without the drift exit code; the provider schema
//! (`terraform providers schema -json`) says which is which, and unset, null and empty are one value.
//! In off-hours (`schedule down`) the node groups' sizes and the database's status differ by design:
//! listed as expected, not as drift. The report is printed,
//! written to `<work>/plans/<env>.drift.md`, and under GitHub Actions appended to the job summary with an
//! annotation; drift found is its own exit code (3), distinct from a failed run.

use std::cell::RefCell;
use std::fmt::Write as _;

use anyhow::{Context as _, Result};

use crate::engine::{Cmd, Step};
use crate::target::Target;
use crate::tfplan::{AttrChange, Effect, Plan, ResourceChange, Schemas};
use crate::{context::Context, offhours, statelock};

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
    /// Resources whose enforced attributes differ (or that were deleted): drift.
    pub drifted: Vec<Drifted>,
    /// Attributes the provider computes or other resources manage that changed: informational.
    pub computed: Vec<Drifted>,
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
    /// `schemas`: the provider schemas (without them every changed attribute counts as drift).
    pub fn find(env: &str, plan: &Plan, schemas: Option<&Schemas>, offhours: bool) -> Report {
        let mut report =
            Report { env: env.to_string(), drifted: Vec::new(), computed: Vec::new(), expected: Vec::new(), offhours };
        for rc in plan.resource_drift.iter().filter(|rc| rc.managed()) {
            let deleted = rc.change.effect() == Effect::Delete;
            let make = |changes: Vec<AttrChange>| Drifted { address: rc.address.clone(), deleted, changes };
            let (mut drift, mut computed, mut expected) = (Vec::new(), Vec::new(), Vec::new());
            for c in rc.change.changed_paths() {
                if offhours && !deleted && offhours_path(&rc.kind, &c.path) {
                    expected.push(c);
                } else if deleted || enforced(plan, rc, schemas, &c.path) {
                    drift.push(c);
                } else {
                    computed.push(c);
                }
            }
            if deleted || !drift.is_empty() {
                report.drifted.push(make(drift));
            }
            if !computed.is_empty() {
                report.computed.push(make(computed));
            }
            if !expected.is_empty() {
                report.expected.push(make(expected));
            }
        }
        report
    }

    pub fn in_sync(&self) -> bool {
        self.drifted.is_empty()
    }

    pub fn line(&self) -> String {
        let mut also = Vec::new();
        if !self.expected.is_empty() {
            also.push(format!("{} expected from off-hours", self.expected.len()));
        }
        if !self.computed.is_empty() {
            also.push(format!("{} with computed attributes changed", self.computed.len()));
        }
        let expected = if also.is_empty() { String::new() } else { format!(" ({})", also.join("; ")) };
        let offhours = if self.offhours { format!("; `{}` is in off-hours", self.env) } else { String::new() };
        match self.drifted.len() {
            0 => format!("in sync: the real infrastructure of `{}` matches the state{expected}{offhours}", self.env),
            n => format!("drift: {n} resource(s) of `{}` differ from the state{expected}{offhours}", self.env),
        }
    }

    /// The report as plain text: a line per resource, an indented line per attribute.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.line());
        let lists = [
            ("", &self.drifted),
            ("also changed (computed): ", &self.computed),
            ("expected (off-hours): ", &self.expected),
        ];
        for (heading, list) in lists {
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
        let lists = [
            ("Differs from the state", &self.drifted),
            ("Also changed, in attributes the provider computes or other resources manage (not drift)", &self.computed),
            ("Expected in off-hours", &self.expected),
        ];
        for (heading, list) in lists {
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

/// Whether a changed attribute path is one terraform enforces: its top-level name is written in the
/// resource's configuration, or is a plain argument the provider doesn't compute. Unknown: enforced.
fn enforced(plan: &Plan, rc: &ResourceChange, schemas: Option<&Schemas>, path: &str) -> bool {
    let name = path.split(['.', '[']).next().unwrap_or(path);
    if plan.config_of(rc).is_some_and(|c| c.expressions.contains_key(name)) {
        return true;
    }
    schemas.and_then(|s| s.enforced_when_unset(rc.provider_name.as_deref(), &rc.kind, name)).unwrap_or(true)
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
        let schema = tf.cmd(["providers", "schema", "-json"]);
        let mut cmds = vec![plan, show, schema];
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
        let schema = c.output(&cmds[2])?;
        let schemas = if schema.trim().is_empty() {
            c.log("terraform printed no provider schema: every changed attribute counts as drift");
            None
        } else {
            Some(Schemas::parse(&schema)?)
        };
        let offhours = match cmds.get(3) {
            Some(_) => offhours::Calls::new(ctx, target, endpoint.clone()).record(c)?.is_some(),
            None => false,
        };
        let report = Report::find(&target.env.name, &plan, schemas.as_ref(), offhours);
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
        let r = Report::find("dev", &plan(), None, false);
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
        let r = Report::find("dev", &plan(), None, true);
        let drifted: Vec<&str> = r.drifted.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(drifted, ["aws_vpc.main", "aws_db_instance.main", "aws_sns_topic.t"], "the password still differs");
        let expected: Vec<&str> = r.expected.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(expected, ["aws_db_instance.main", "aws_eks_node_group.g"]);
        assert!(
            r.line().ends_with("differ from the state (2 expected from off-hours); `dev` is in off-hours"),
            "{}",
            r.line()
        );
        let quiet = Report::find("dev", &Plan::default(), None, false);
        assert!(quiet.in_sync() && quiet.line().starts_with("in sync"));
    }

    #[test]
    fn what_the_provider_computes_is_listed_apart_and_is_not_drift() {
        let schemas = Schemas::parse(
            r#"{"provider_schemas":{"p":{"resource_schemas":{"aws_vpc":{"block":{"attributes":{
                "tags":{"optional":true},"tags_all":{"optional":true,"computed":true},"description":{"optional":true}}}}}}}}"#,
        )
        .unwrap();
        let plan: Plan = serde_json::from_value(json!({"resource_drift": [
            {"address": "aws_vpc.a", "mode": "managed", "type": "aws_vpc", "name": "a", "change": {"actions": ["update"],
             "before": {"tags_all": {"Name": "a"}}, "after": {"tags_all": {"Name": "a", "X": "1"}}}},
            {"address": "aws_vpc.b", "mode": "managed", "type": "aws_vpc", "name": "b", "change": {"actions": ["update"],
             "before": {"tags": {}, "tags_all": {}, "description": null}, "after": {"tags": {"X": "1"}, "tags_all": {"X": "1"}, "description": "set by hand"}}}
        ]}))
        .unwrap();
        let r = Report::find("dev", &plan, Some(&schemas), false);
        let drifted: Vec<(&str, Vec<&str>)> = r
            .drifted
            .iter()
            .map(|d| (d.address.as_str(), d.changes.iter().map(|c| c.path.as_str()).collect()))
            .collect();
        assert_eq!(drifted, [("aws_vpc.b", vec!["description", "tags.X"])]);
        let computed: Vec<&str> = r.computed.iter().map(|d| d.address.as_str()).collect();
        assert_eq!(computed, ["aws_vpc.a", "aws_vpc.b"]);
        assert!(
            r.line().starts_with(
                "drift: 1 resource(s) of `dev` differ from the state (2 with computed attributes changed)"
            ),
            "{}",
            r.line()
        );
    }
}
