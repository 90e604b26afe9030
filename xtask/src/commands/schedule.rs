//! `cargo xtask schedule <env> down|up`: off-hours for unprotected environments (dev). `down` records
//! every node group's scaling config in an SSM parameter (so any machine can bring it back), scales the
//! node groups to zero and stops the database; `up` restores exactly the recorded sizes and starts it.

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

use crate::cli::{ScheduleAction, ScheduleArgs};
use crate::engine::{Cmd, Pipeline, Step};
use crate::error::usage;
use crate::target::Target;
use crate::{steps, Context};

pub fn run(ctx: &Context, args: ScheduleArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    if target.env.protected {
        return Err(usage(format!(
            "`{}` is protected: off-hours scheduling is for unprotected environments like dev; nothing changed",
            target.env.name
        )));
    }
    let down = matches!(args.action, ScheduleAction::Down(_));
    let mut pipeline = Pipeline::new(ctx, format!("schedule {} {}", target.env.name, if down { "down" } else { "up" }));
    steps::with_outputs(ctx, &target, &mut pipeline);
    pipeline.step(if down { down_step(ctx, &target) } else { up_step(ctx, &target) });
    let run = match args.action {
        ScheduleAction::Down(a) | ScheduleAction::Up(a) => a.run,
    };
    pipeline.run(&run)
}

/// `/{project}/{env}/schedule/previous-sizes`
fn parameter(target: &Target) -> String {
    format!("/{}/{}/schedule/previous-sizes", target.config.project, target.env.name)
}

struct Calls<'a> {
    ctx: &'a Context,
    target: &'a Target,
    endpoint: Option<String>,
}

impl Calls<'_> {
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
    fn scale(&self, cluster: &str, group: &str, min: u64, max: u64, desired: u64) -> Cmd {
        self.aws()
            .args([
                "eks",
                "update-nodegroup-config",
                "--cluster-name",
                cluster,
                "--nodegroup-name",
                group,
                "--scaling-config",
            ])
            .arg(format!("minSize={min},maxSize={max},desiredSize={desired}"))
            .args(["--output", "json"])
    }
    fn db(&self, verb: &str, db: &str) -> Cmd {
        self.aws().args(["rds", verb, "--db-instance-identifier", db, "--output", "json"])
    }
    fn put(&self, name: &str, value: &str) -> Cmd {
        self.aws().args([
            "ssm",
            "put-parameter",
            "--name",
            name,
            "--type",
            "String",
            "--overwrite",
            "--value",
            value,
            "--output",
            "json",
        ])
    }
    fn get(&self, name: &str) -> Cmd {
        self.aws().args(["ssm", "get-parameter", "--name", name, "--query", "Parameter.Value", "--output", "text"])
    }
    fn delete(&self, name: &str) -> Cmd {
        self.aws().args(["ssm", "delete-parameter", "--name", name])
    }
}

fn groups(target: &Target) -> Result<Vec<String>> {
    let raw = target.output("node_group_names")?;
    serde_json::from_str(&raw).context("node_group_names is not a list")
}

fn down_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let p = parameter(target);
    let shown_cmds = vec![
        shown.describe("<cluster>", "<each node group>"),
        shown.put(&p, "<the sizes, JSON>"),
        shown.scale("<cluster>", "<each node group>", 0, 1, 0),
        shown.db("stop-db-instance", "<db>"),
    ];
    Step::new("down", "Record the node group sizes, scale them to zero, stop the database", shown_cmds, move |c| {
        let calls = Calls { ctx, target, endpoint: target.endpoint(ctx)? };
        let cluster = target.output("cluster_name")?;
        let db = target.output("db_instance_identifier")?;
        let param = parameter(target);
        if c.attempt(&calls.get(&param))?.is_ok() {
            bail!("`{}` is already scheduled down ({param} holds the sizes to restore): run `cargo xtask schedule {} up` first", target.env.name, target.env.name);
        }
        let mut sizes = serde_json::Map::new();
        for group in groups(target)? {
            let config: Value = serde_json::from_str(&c.output(&calls.describe(&cluster, &group))?)
                .context("scalingConfig is not JSON")?;
            sizes.insert(group, config);
        }
        c.run(&calls.put(&param, &Value::Object(sizes.clone()).to_string()))?;
        for (group, config) in &sizes {
            let max = config["maxSize"].as_u64().unwrap_or(1).max(1);
            c.output(&calls.scale(&cluster, group, 0, max, 0))?;
        }
        c.output(&calls.db("stop-db-instance", &db))?;
        c.note(format!("{} node group(s) at zero, {db} stopped; sizes kept in {param}", sizes.len()));
        Ok(())
    })
}

fn up_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let p = parameter(target);
    let shown_cmds = vec![
        shown.get(&p),
        shown.scale("<cluster>", "<each node group>", 1, 3, 2),
        shown.db("start-db-instance", "<db>"),
        shown.delete(&p),
    ];
    Step::new("up", "Restore the recorded node group sizes, start the database", shown_cmds, move |c| {
        let calls = Calls { ctx, target, endpoint: target.endpoint(ctx)? };
        let cluster = target.output("cluster_name")?;
        let db = target.output("db_instance_identifier")?;
        let param = parameter(target);
        let recorded = match c.attempt(&calls.get(&param))? {
            Ok(text) => text,
            Err(_) => bail!("`{}` is not scheduled down: {param} does not exist", target.env.name),
        };
        let sizes: serde_json::Map<String, Value> =
            serde_json::from_str(recorded.trim()).context("the recorded sizes are not JSON")?;
        for (group, config) in &sizes {
            let n = |k: &str| config[k].as_u64().with_context(|| format!("{group}: no {k} recorded"));
            c.output(&calls.scale(&cluster, group, n("minSize")?, n("maxSize")?, n("desiredSize")?))?;
        }
        c.output(&calls.db("start-db-instance", &db))?;
        c.run(&calls.delete(&param))?;
        c.note(format!("{} node group(s) restored, {db} started", sizes.len()));
        c.fact(format!("restored sizes: {}", json!(sizes)));
        Ok(())
    })
}
