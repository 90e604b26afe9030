//! Off-hours for unprotected environments (dev): `down` records every node group's scaling config in an
//! SSM parameter, `/{project}/{env}/schedule/previous-sizes` (so any machine can bring it back), scales
//! the node groups to zero and stops the database; `up` restores exactly the recorded sizes, starts
//! the database and removes the record. The record is also how a deploy knows the environment is in
//! off-hours: it brings the environment up with the same calls before it plans (a plan made against
//! node groups at zero would raise their minimum above a desired size of zero, which EKS refuses), and
//! returns it to off-hours when the deploy is done — both said in the step list and in `--dry-run`.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::engine::{Cmd, Step, StepCtx};
use crate::target::Target;
use crate::tfplan::{Plan, ResourceChange};

/// `/{project}/{env}/schedule/previous-sizes`
pub fn parameter(target: &Target) -> String {
    format!("/{}/{}/schedule/previous-sizes", target.config.project, target.env.name)
}

/// A node group's scaling, as `describe-nodegroup` answers and the record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scaling {
    pub min_size: u64,
    pub max_size: u64,
    pub desired_size: u64,
}

/// Node group name → its scaling before off-hours.
type Record = BTreeMap<String, Scaling>;

/// The AWS CLI calls off-hours makes, against the endpoint given (the shown one or the live one).
pub struct Calls<'a> {
    ctx: &'a Context,
    target: &'a Target,
    endpoint: Option<String>,
}

impl<'a> Calls<'a> {
    pub fn new(ctx: &'a Context, target: &'a Target, endpoint: Option<String>) -> Calls<'a> {
        Calls { ctx, target, endpoint }
    }
    fn aws(&self) -> Cmd {
        self.target.aws(self.ctx, self.endpoint.as_deref())
    }
    fn describe(&self, cluster: &str, group: &str) -> Cmd {
        self.aws().args(["eks", "describe-nodegroup", "--cluster-name", cluster, "--nodegroup-name", group]).args([
            "--query",
            "nodegroup.scalingConfig",
            "--output",
            "json",
        ])
    }
    fn scale(&self, cluster: &str, group: &str, s: Scaling) -> Cmd {
        self.aws()
            .args(["eks", "update-nodegroup-config", "--cluster-name", cluster, "--nodegroup-name", group])
            .arg("--scaling-config")
            .arg(format!("minSize={},maxSize={},desiredSize={}", s.min_size, s.max_size, s.desired_size))
            .args(["--output", "json"])
    }
    fn group_active(&self, cluster: &str, group: &str) -> Cmd {
        self.aws().args(["eks", "wait", "nodegroup-active", "--cluster-name", cluster, "--nodegroup-name", group])
    }
    fn db(&self, verb: &str, db: &str) -> Cmd {
        self.aws().args(["rds", verb, "--db-instance-identifier", db, "--output", "json"])
    }
    fn db_available(&self, db: &str) -> Cmd {
        self.aws().args(["rds", "wait", "db-instance-available", "--db-instance-identifier", db])
    }
    fn put(&self, name: &str, value: &str) -> Cmd {
        self.aws()
            .args(["ssm", "put-parameter", "--name", name, "--type", "String", "--overwrite", "--value", value])
            .args(["--output", "json"])
    }
    fn get(&self, name: &str) -> Cmd {
        self.aws().args(["ssm", "get-parameter", "--name", name, "--query", "Parameter.Value", "--output", "text"])
    }
    fn delete(&self, name: &str) -> Cmd {
        self.aws().args(["ssm", "delete-parameter", "--name", name])
    }

    /// The call that reads the off-hours record.
    pub fn record_cmd(&self) -> Vec<Cmd> {
        vec![self.get(&parameter(self.target))]
    }

    /// The off-hours record, if the environment is in off-hours. SSM refuses an empty value, so an
    /// empty answer is no record.
    pub fn record(&self, c: &mut StepCtx) -> Result<Option<String>> {
        Ok(c.attempt(&self.get(&parameter(self.target)))?.ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
    }

    /// Records the sizes, scales the node groups to zero, stops the database; what was done.
    pub fn down(&self, c: &mut StepCtx) -> Result<String> {
        let (target, param) = (self.target, parameter(self.target));
        if self.record(c)?.is_some() {
            bail!(
                "`{}` is already scheduled down ({param} holds the sizes to restore): run `cargo xtask schedule {} up` first",
                target.env.name,
                target.env.name
            );
        }
        let cluster = target.output("cluster_name")?;
        let db = target.output("db_instance_identifier")?;
        let mut sizes = Record::new();
        for group in groups(target)? {
            let text = c.output(&self.describe(&cluster, &group))?;
            let scaling: Scaling = serde_json::from_str(&text).context("the node group's scalingConfig is not JSON")?;
            sizes.insert(group, scaling);
        }
        c.run(&self.put(&param, &serde_json::to_string(&sizes).expect("sizes serialize")))?;
        for (group, s) in &sizes {
            c.output(&self.scale(
                &cluster,
                group,
                Scaling { min_size: 0, max_size: s.max_size.max(1), desired_size: 0 },
            ))?;
        }
        c.output(&self.db("stop-db-instance", &db))?;
        Ok(format!("{} node group(s) at zero, {db} stopped; sizes kept in {param}", sizes.len()))
    }

    /// Restores the recorded sizes, starts the database and removes the record; with `wait`, until the
    /// database is available and every node group active (a deploy changes them next).
    pub fn up(&self, c: &mut StepCtx, recorded: &str, wait: bool) -> Result<(String, Record)> {
        let cluster = self.target.output("cluster_name")?;
        let db = self.target.output("db_instance_identifier")?;
        let sizes: Record =
            serde_json::from_str(recorded).context("the recorded sizes are not the JSON `down` writes")?;
        for (group, s) in &sizes {
            c.output(&self.scale(&cluster, group, *s))?;
        }
        c.output(&self.db("start-db-instance", &db))?;
        if wait {
            c.run(&self.db_available(&db))?;
            for group in sizes.keys() {
                c.run(&self.group_active(&cluster, group))?;
            }
        }
        c.run(&self.delete(&parameter(self.target)))?;
        Ok((format!("{} node group(s) restored, {db} started", sizes.len()), sizes))
    }
}

fn groups(target: &Target) -> Result<Vec<String>> {
    let raw = target.output("node_group_names")?;
    serde_json::from_str(&raw).context("the terraform output node_group_names is not a list")
}

/// `schedule <env> down`.
pub fn down_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls::new(ctx, target, target.shown_endpoint(ctx));
    Step::new(
        "down",
        "Record the node group sizes, scale them to zero, stop the database",
        shown.down_cmds(),
        move |c| {
            let note = Calls::new(ctx, target, target.endpoint(ctx)?).down(c)?;
            c.note(note);
            Ok(())
        },
    )
}

/// `schedule <env> up`.
pub fn up_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls::new(ctx, target, target.shown_endpoint(ctx));
    let mut cmds = vec![shown.get(&parameter(target))];
    cmds.extend(shown.up_cmds(false));
    Step::new("up", "Restore the recorded node group sizes, start the database", cmds, move |c| {
        let calls = Calls::new(ctx, target, target.endpoint(ctx)?);
        let Some(recorded) = calls.record(c)? else {
            bail!("`{}` is not scheduled down: {} does not exist", target.env.name, parameter(target));
        };
        let (note, sizes) = calls.up(c, &recorded, false)?;
        c.note(note);
        c.fact(format!("restored sizes: {}", serde_json::to_string(&sizes).expect("sizes serialize")));
        Ok(())
    })
}

impl Calls<'_> {
    fn down_cmds(&self) -> Vec<Cmd> {
        let p = parameter(self.target);
        vec![
            self.get(&p),
            self.describe("<cluster>", "<each node group>"),
            self.put(&p, "<the sizes, JSON>"),
            self.scale("<cluster>", "<each node group>", Scaling { min_size: 0, max_size: 1, desired_size: 0 }),
            self.db("stop-db-instance", "<db>"),
        ]
    }
    fn up_cmds(&self, wait: bool) -> Vec<Cmd> {
        let mut cmds = vec![
            self.scale("<cluster>", "<each node group>", Scaling { min_size: 1, max_size: 3, desired_size: 2 }),
            self.db("start-db-instance", "<db>"),
        ];
        if wait {
            cmds.push(self.db_available("<db>"));
            cmds.push(self.group_active("<cluster>", "<each node group>"));
        }
        cmds.push(self.delete(&parameter(self.target)));
        cmds
    }
}

/// Deploy, before it plans: when the environment is in off-hours, bring it up with `schedule up`'s
/// calls (and wait for it), and leave a marker for [`return_step`].
pub fn wake_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls::new(ctx, target, target.shown_endpoint(ctx));
    let mut cmds = vec![shown.get(&parameter(target))];
    cmds.extend(target.output_cmd(ctx, shown.endpoint.as_deref()));
    cmds.extend(shown.up_cmds(true));
    let env = &target.env.name;
    Step::new("offhours-up", format!("If `{env}` is in off-hours, bring it up for this deploy"), cmds, move |c| {
        let endpoint = target.endpoint(ctx)?;
        let calls = Calls::new(ctx, target, endpoint.clone());
        let marker = target.offhours_marker();
        let Some(recorded) = calls.record(c)? else {
            c.note(if marker.is_file() {
                "brought up from off-hours by the earlier run of this deploy: returned at its end".to_string()
            } else {
                format!("`{env}` is not in off-hours")
            });
            return Ok(());
        };
        c.log(format!("`{env}` is in off-hours ({}): bringing it up for the deploy", parameter(target)));
        target.record_outputs(c, ctx, endpoint.as_deref())?;
        std::fs::create_dir_all(marker.parent().expect("a file in a directory"))?;
        std::fs::write(&marker, &recorded).with_context(|| format!("writing {}", marker.display()))?;
        let (note, _) = calls.up(c, &recorded, true)?;
        crate::engine::say(format!(
            "`{env}` was brought up from off-hours for this deploy and is up now: resume the deploy (its last step \
             returns it to off-hours), or run `cargo xtask schedule {env} down`."
        ));
        c.note(format!("in off-hours: {note} for the deploy; the last step returns it to off-hours"));
        c.fact(format!("off-hours: `{env}` brought up for the deploy, returned to off-hours at its end"));
        Ok(())
    })
    .note(format!(
        "runs the calls only when {} exists (`{env}` is in off-hours, `cargo xtask schedule {env} down`): the same calls as `schedule {env} up`, then waits for the database and the node groups",
        parameter(target)
    ))
}

/// Deploy, last: when [`wake_step`] brought the environment up, return it to off-hours with
/// `schedule down`'s calls (recording the sizes as they are after the deploy).
pub fn return_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls::new(ctx, target, target.shown_endpoint(ctx));
    let env = &target.env.name;
    Step::new(
        "offhours-down",
        format!("If this deploy brought `{env}` up from off-hours, return it to off-hours"),
        shown.down_cmds(),
        move |c| {
            let marker = target.offhours_marker();
            if !marker.is_file() {
                c.note(format!("`{env}` was not in off-hours: left as it is"));
                return Ok(());
            }
            let note = Calls::new(ctx, target, target.endpoint(ctx)?).down(c)?;
            std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
            c.note(format!("back in off-hours: {note}"));
            Ok(())
        },
    )
    .note(format!("runs the calls only when `offhours-up` brought `{env}` up: the same calls as `schedule {env} down`"))
}

/// Node group updates in a plan that EKS would refuse: a desired size below the minimum (UpdateNodegroupConfig:
/// `desiredSize` must be at least `minSize`). A plan made while the environment was in off-hours has
/// them: the node groups were at zero, and the configuration raises their minimum.
pub fn unappliable_scaling(plan: &Plan) -> Vec<String> {
    plan.changes()
        .iter()
        .filter(|rc| rc.kind == "aws_eks_node_group" && rc.managed())
        .filter_map(|rc: &ResourceChange| {
            let s = rc.change.after.get("scaling_config")?.get(0)?;
            let (min, desired) = (s.get("min_size")?.as_u64()?, s.get("desired_size")?.as_u64()?);
            (desired < min).then(|| format!("{} (desired {desired} < minimum {min})", rc.address))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_made_in_off_hours_is_found() {
        let plan: Plan = serde_json::from_value(serde_json::json!({"resource_changes": [
            {"address": "module.stack.module.eks.aws_eks_node_group.this[\"general\"]", "mode": "managed", "type": "aws_eks_node_group",
             "change": {"actions": ["update"], "before": {"scaling_config": [{"min_size": 0, "max_size": 3, "desired_size": 0}]},
                        "after": {"scaling_config": [{"min_size": 1, "max_size": 3, "desired_size": 0}]}}},
            {"address": "module.stack.module.eks.aws_eks_node_group.this[\"spot\"]", "mode": "managed", "type": "aws_eks_node_group",
             "change": {"actions": ["no-op"], "after": {"scaling_config": [{"min_size": 1, "max_size": 3, "desired_size": 2}]}}}
        ]}))
        .unwrap();
        assert_eq!(
            unappliable_scaling(&plan),
            ["module.stack.module.eks.aws_eks_node_group.this[\"general\"] (desired 0 < minimum 1)"]
        );
    }

    #[test]
    fn the_record_is_the_scaling_config_by_group() {
        let record: Record =
            serde_json::from_str(r#"{"dev-general":{"minSize":1,"maxSize":3,"desiredSize":2}}"#).unwrap();
        assert_eq!(record["dev-general"], Scaling { min_size: 1, max_size: 3, desired_size: 2 });
    }
}
