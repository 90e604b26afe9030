//! `restore`'s terraform: the plan of the database module with the restore source (checked: it creates
//! the primary from exactly that source and deletes or replaces no data resource) and its apply, timed.

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use super::record::{current, epoch_now, write_record, Source, MODULE};
use crate::engine::{human, Cmd, Step};
use crate::target::Target;
use crate::tfplan::{Action, Plan, PlanSummary, DATA_RESOURCES};
use crate::{context::Context, statelock};

fn plan_file(target: &Target) -> std::path::PathBuf {
    target.file("restore.tfplan")
}

pub fn plan_json(target: &Target) -> std::path::PathBuf {
    target.file("restore.plan.json")
}

/// The primary's planned attributes that name its source (the rest of `after` is not read).
#[derive(Deserialize, Default)]
struct DbAfter {
    #[serde(default)]
    snapshot_identifier: Option<String>,
    #[serde(default)]
    restore_to_point_in_time: Vec<PointInTime>,
}

#[derive(Deserialize, Default)]
struct PointInTime {
    #[serde(default)]
    source_dbi_resource_id: Option<String>,
    #[serde(default)]
    restore_time: Option<String>,
}

/// What is wrong with the restore's plan: it must create the primary from `source`, and delete or
/// replace no data resource (but the restore's own primary, tainted by a failed apply).
pub fn plan_problems(plan: &Plan, source: &Source) -> Result<Vec<String>> {
    let primary = format!("{MODULE}.aws_db_instance.primary");
    let mut problems = Vec::new();
    match plan.changes().iter().find(|r| r.address == primary && r.change.has(Action::Create)) {
        None => problems.push(format!("it does not create {primary}")),
        Some(rc) => {
            let after: DbAfter = match &rc.change.after {
                serde_json::Value::Null => DbAfter::default(),
                after => serde_json::from_value(after.clone())?,
            };
            let pit = after.restore_to_point_in_time.first();
            let from = (
                after.snapshot_identifier,
                pit.and_then(|p| p.source_dbi_resource_id.clone()),
                pit.and_then(|p| p.restore_time.clone()),
            );
            if from
                != (
                    source.snapshot_identifier.clone(),
                    source.source_dbi_resource_id.clone(),
                    source.restore_time.clone(),
                )
            {
                problems.push(format!("{primary} is not created from {}", source.describe()));
            }
        }
    }
    for rc in plan.changes() {
        let deletes = rc.change.has(Action::Delete);
        let own = rc.address == primary && rc.action_reason.as_deref() == Some("replace_because_tainted");
        if deletes && DATA_RESOURCES.contains(&rc.kind.as_str()) && !own {
            problems.push(format!("it deletes or replaces {}", rc.address));
        }
    }
    Ok(problems)
}

pub fn plan_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let cmds = move |ep: Option<&str>, source: &str| -> Result<(Cmd, Cmd)> {
        let tf = target.terraform(ctx, ep)?;
        let plan = tf
            .cmd(["plan", "-input=false", "-no-color"])
            .arg(format!("-out={}", plan_file(target).display()))
            .args(target.vars())
            .args(["-var".to_string(), source.to_string()]);
        let show = tf.cmd(["show", "-json", "-no-color"]).arg(plan_file(target).to_string_lossy());
        Ok((plan, show))
    };
    let shown_cmds = cmds(shown.as_deref(), "database_restore_source=<the source step's choice>")
        .map(|(a, b)| vec![a, b])
        .unwrap_or_default();
    Step::new(
        "plan",
        "Plan the new primary from the restore source; nothing else of the data may go",
        shown_cmds,
        move |c| {
            let record = current(target)?;
            let endpoint = target.endpoint(ctx)?;
            let (plan, show) = cmds(endpoint.as_deref(), &record.source.var())?;
            target.ensure_dirs()?;
            let result = c.run(&plan);
            statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, false)?;
            let json = c.output(&show)?;
            std::fs::write(plan_json(target), &json)
                .with_context(|| format!("writing {}", plan_json(target).display()))?;
            let parsed = Plan::parse(&json)?;
            let problems = plan_problems(&parsed, &record.source)?;
            if !problems.is_empty() {
                bail!("refusing the restore's plan: {}. Nothing was applied", problems.join("; "));
            }
            let summary = PlanSummary::of(&parsed);
            c.note(format!("{}: the primary from {}", summary.line(), record.source.describe()));
            Ok(())
        },
    )
    .note(format!("writes {} and its JSON", plan_file(target).display()))
}

pub fn apply_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let apply = move |ep: Option<&str>| -> Result<Cmd> {
        Ok(target
            .terraform(ctx, ep)?
            .cmd(["apply", "-input=false", "-no-color", "-parallelism=30"])
            .arg(plan_file(target).to_string_lossy()))
    };
    Step::new(
        "apply",
        "Apply the restore: RDS creates the primary from the source",
        apply(shown.as_deref()).into_iter().collect(),
        move |c| {
            let mut record = current(target)?;
            let endpoint = target.endpoint(ctx)?;
            let result = c.run(&apply(endpoint.as_deref())?);
            statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, true)?;
            record.applied = true;
            let seconds = (epoch_now() - record.started_epoch).max(0) as f64;
            record.database_seconds = Some(seconds);
            write_record(target, &record)?;
            c.note(format!(
                "{} available under its old name ({} since the rename)",
                record.database,
                human(std::time::Duration::from_secs_f64(seconds))
            ));
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_must_create_the_primary_from_the_source_and_delete_no_data() {
        let plan_problems = |json: &str, source: &Source| plan_problems(&Plan::parse(json)?, source);
        let source = Source { snapshot_identifier: Some("s1".into()), ..Source::default() };
        let create = |snapshot: &str| {
            format!(
                r#"{{"address":"{MODULE}.aws_db_instance.primary","type":"aws_db_instance","change":{{"actions":["create"],"after":{{"snapshot_identifier":"{snapshot}","restore_to_point_in_time":[]}}}}}}"#
            )
        };
        let good = format!(r#"{{"resource_changes":[{}]}}"#, create("s1"));
        assert!(plan_problems(&good, &source).unwrap().is_empty());
        let other = format!(r#"{{"resource_changes":[{}]}}"#, create("s2"));
        assert_eq!(
            plan_problems(&other, &source).unwrap(),
            [format!("{MODULE}.aws_db_instance.primary is not created from snapshot s1")]
        );
        let bucket = r#"{"address":"module.stack.module.storage.module.buckets.aws_s3_bucket.this[\"media\"]","type":"aws_s3_bucket","change":{"actions":["delete","create"]}}"#;
        let deletes = format!(r#"{{"resource_changes":[{},{bucket}]}}"#, create("s1"));
        assert_eq!(plan_problems(&deletes, &source).unwrap().len(), 1);
        assert_eq!(plan_problems(r#"{"resource_changes":[]}"#, &source).unwrap().len(), 1, "nothing created");
    }
}
