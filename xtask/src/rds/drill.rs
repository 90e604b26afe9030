//! `restore-drill`'s step: the newest snapshot restored into a scratch instance — in the environment's
//! region (its newest available snapshot, automated or `backup`'s) or in its DR region (the newest copy
//! `backup` made there) — checked (status, engine, encryption, tags), deleted; the time the restore
//! took is reported and recorded.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::{describe_cmd, instance, list_cmd, parse_instances, rds, snapshots, Instance, Region};
use crate::clock::utc_stamp;
use crate::context::Context;
use crate::engine::{human, Step};
use crate::target::Target;

/// Where the drill's record is written: `<work>/plans/<env>.restore-drill.json` (`…-dr.json` for the DR region).
pub fn record_file(target: &Target, region: &Region) -> std::path::PathBuf {
    match region {
        Region::Home => target.file("restore-drill.json"),
        Region::Dr(_) => target.file("restore-drill-dr.json"),
    }
}

pub fn drill_step<'a>(ctx: &'a Context, target: &'a Target, region: Region, subnet_group: Option<String>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let restore = {
        let region = region.clone();
        move |endpoint: Option<&str>, id: &str, snapshot: &str, subnets: Option<&str>, class: &str| {
            let mut cmd = rds(
                ctx,
                target,
                endpoint,
                &region,
                &[
                    "restore-db-instance-from-db-snapshot",
                    "--db-instance-identifier",
                    id,
                    "--db-snapshot-identifier",
                    snapshot,
                ],
            )
            .args(["--db-instance-class", class, "--no-multi-az", "--no-publicly-accessible"]);
            if let Some(group) = subnets {
                cmd = cmd.args(["--db-subnet-group-name", group]);
            }
            cmd.args(["--tags", "Key=Purpose,Value=restore-drill"])
                .arg(format!("Key=Environment,Value={}", target.env.name))
        }
    };
    let wait = {
        let region = region.clone();
        move |endpoint: Option<&str>, what: &str, id: &str| {
            rds(ctx, target, endpoint, &region, &["wait", what, "--db-instance-identifier", id])
        }
    };
    let delete = {
        let region = region.clone();
        move |endpoint: Option<&str>, id: &str| {
            rds(
                ctx,
                target,
                endpoint,
                &region,
                &["delete-db-instance", "--db-instance-identifier", id, "--skip-final-snapshot"],
            )
        }
    };
    let s = shown.as_deref();
    let in_dr = matches!(region, Region::Dr(_));
    let shown_group = match (&subnet_group, in_dr) {
        (Some(g), _) => Some(g.as_str()),
        (None, false) => Some("<the db's subnet group>"),
        (None, true) => None,
    };
    let shown_cmds = vec![
        list_cmd(ctx, target, s, &region, "<db>", in_dr),
        describe_cmd(ctx, target, s, &Region::Home, "<db>"),
        restore(s, "<db>-drill-<time>", "<newest snapshot>", shown_group, "<the db's class>"),
        wait(s, "db-instance-available", "<db>-drill-<time>"),
        describe_cmd(ctx, target, s, &region, "<db>-drill-<time>"),
        delete(s, "<db>-drill-<time>"),
        wait(s, "db-instance-deleted", "<db>-drill-<time>"),
    ];
    let about = match &region {
        Region::Home => "Restore the newest snapshot into a scratch instance, check it, delete it".to_string(),
        Region::Dr(r) => format!("Restore the newest copy in {r} into a scratch instance there, check it, delete it"),
    };
    let note = if in_dr && subnet_group.is_none() {
        "in the DR region the scratch instance goes to the region's default VPC (not public, deleted at once); --db-subnet-group names another".to_string()
    } else {
        "the scratch instance is deleted also when the wait or a check fails".to_string()
    };
    Step::new("restore-drill", about, shown_cmds, move |c| {
        let endpoint = target.endpoint(ctx)?;
        let ep = endpoint.as_deref();
        let db = target.output("db_instance_identifier")?;
        let where_ = region.label(target).to_string();
        // Home: every available snapshot, automated or manual; DR: backup's copies (manual there).
        let list = snapshots(c, &list_cmd(ctx, target, ep, &region, &db, in_dr))?;
        let Some(snapshot) = list.iter().find(|s| s.status == "available").map(|s| s.id.clone()) else {
            bail!(
                "{db} has no available snapshot in {where_} to restore: run `cargo xtask backup {}` first",
                target.env.name
            )
        };
        let source = instance(c, &describe_cmd(ctx, target, ep, &Region::Home, &db))?.unwrap_or_default();
        let subnets = match (&subnet_group, in_dr) {
            (Some(g), _) => Some(g.clone()),
            (None, false) => source.subnet_group.as_ref().map(|g| g.name.clone()),
            (None, true) => None,
        };
        let class = if source.class.is_empty() { "db.t3.micro".to_string() } else { source.class.clone() };
        let drill = format!("{db}-drill-{}", utc_stamp().to_lowercase());
        let started = Instant::now();
        c.output(&restore(ep, &drill, &snapshot, subnets.as_deref(), &class))?;
        // From here on the scratch instance exists: whatever happens, it is deleted before returning.
        let checked = (|| -> Result<(Duration, Instance)> {
            c.run(&wait(ep, "db-instance-available", &drill))?;
            let took = started.elapsed();
            let out = c.output(&describe_cmd(ctx, target, ep, &region, &drill))?;
            Ok((took, parse_instances(&out)?.into_iter().next().unwrap_or_default()))
        })();
        let deleted = c
            .output(&delete(ep, &drill))
            .and_then(|_| c.run(&wait(ep, "db-instance-deleted", &drill)))
            .with_context(|| format!("deleting the scratch instance {drill} in {where_}: delete it by hand"));
        let (took, checked) = checked.with_context(|| format!("restoring {snapshot} into {drill} in {where_}"))?;
        deleted?;
        let problems = drill_problems(&checked, &source);
        if !problems.is_empty() {
            bail!("the restored instance failed its checks: {}", problems.join("; "));
        }
        let record = serde_json::json!({
            "environment": target.env.name, "region": where_, "snapshot": snapshot, "instance": drill,
            "restore_seconds": took.as_secs_f64(), "at": utc_stamp(),
        });
        let path = record_file(target, &region);
        target.ensure_dirs()?;
        std::fs::write(&path, serde_json::to_string_pretty(&record)?)
            .with_context(|| format!("writing {}", path.display()))?;
        c.note(format!(
            "restored {snapshot} in {where_} in {} (checked: available, {}, encrypted, tagged; deleted)",
            human(took),
            checked.engine
        ));
        c.fact(format!(
            "restore drill {} in {where_}: {snapshot} restored in {} — recorded in {}",
            target.env.name,
            human(took),
            path.display()
        ));
        Ok(())
    })
    .note(note)
}

/// What is wrong with a restored instance, compared with the instance its snapshot came from (an
/// empty source, when that instance is gone, checks the engine against nothing).
pub fn drill_problems(instance: &Instance, source: &Instance) -> Vec<String> {
    let mut problems = Vec::new();
    if instance.status != "available" {
        problems.push(format!("status is {:?}", instance.status));
    }
    if !source.engine.is_empty() && instance.engine != source.engine {
        problems.push(format!("engine {:?} differs from the source's {:?}", instance.engine, source.engine));
    }
    if !instance.encrypted {
        problems.push("storage is not encrypted".into());
    }
    if !super::tagged(&instance.tags, "Purpose", "restore-drill") {
        problems.push("the Purpose=restore-drill tag is missing".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_instance_is_checked_against_its_source() {
        let source = Instance { engine: "postgres".into(), ..Instance::default() };
        let good = parse_instances(
            r#"{"DBInstances":[{"DBInstanceIdentifier":"d","DBInstanceStatus":"available","Engine":"postgres",
            "StorageEncrypted":true,"TagList":[{"Key":"Purpose","Value":"restore-drill"}]}]}"#,
        )
        .unwrap();
        assert!(drill_problems(&good[0], &source).is_empty());
        let bad = parse_instances(
            r#"{"DBInstances":[{"DBInstanceIdentifier":"d","DBInstanceStatus":"incompatible-restore","Engine":"mysql","StorageEncrypted":false}]}"#,
        )
        .unwrap();
        assert_eq!(
            drill_problems(&bad[0], &source),
            [
                "status is \"incompatible-restore\"",
                "engine \"mysql\" differs from the source's \"postgres\"",
                "storage is not encrypted",
                "the Purpose=restore-drill tag is missing",
            ]
        );
    }
}
