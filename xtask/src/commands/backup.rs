//! `cargo xtask backup <env>`: a manual RDS snapshot (named and tagged with env, time and git revision),
//! waited on; copied to the DR region where the environment has one (encrypted with a key there); the
//! snapshots this command made that are older than the retention pruned (never automated ones, never
//! the newest); the terraform state object copied to the backups bucket; a report of what exists now.
//!
//! `cargo xtask restore-drill <env>`: the newest snapshot restored into a scratch instance, checked
//! (status, engine, encryption, tags), deleted; the time the restore took is reported and recorded.

use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use serde_json::Value;

use crate::cli::{BackupArgs, EnvRunArgs};
use crate::clock::utc_stamp;
use crate::engine::{human, Cmd, Pipeline, Step, StepCtx};
use crate::shell::{self, cmd};
use crate::target::Target;
use crate::{steps, Context};

/// The tag that marks a snapshot as this command's (only those are ever pruned).
pub const MADE_BY: (&str, &str) = ("xtask:made-by", "cargo-xtask-backup");

pub fn run(ctx: &Context, args: BackupArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let snapshot = std::cell::RefCell::new(String::new());
    let mut pipeline = Pipeline::new(ctx, format!("backup {}", target.env.name));
    steps::with_outputs(ctx, &target, &mut pipeline);
    pipeline.step(snapshot_step(ctx, &target, &snapshot));
    if target.env.dr_region.is_some() {
        pipeline.step(copy_step(ctx, &target, &snapshot));
    }
    pipeline.step(prune_step(ctx, &target, args.retention_days));
    pipeline.step(state_step(ctx, &target));
    pipeline.step(report_step(ctx, &target));
    pipeline.run(&args.run)
}

pub fn run_drill(ctx: &Context, args: EnvRunArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let mut pipeline = Pipeline::new(ctx, format!("restore-drill {}", target.env.name));
    steps::with_outputs(ctx, &target, &mut pipeline);
    pipeline.step(drill_step(ctx, &target));
    pipeline.run(&args.run)
}

fn aws(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Cmd {
    target.aws(ctx, endpoint)
}

/// A step about the environment's database: `run` gets the live endpoint and the database's name.
fn db_step<'a>(
    ctx: &'a Context,
    target: &'a Target,
    name: &str,
    about: &str,
    shown: Vec<Cmd>,
    run: impl FnOnce(&mut StepCtx, Option<&str>, &str) -> Result<()> + 'a,
) -> Step<'a> {
    Step::new(name, about, shown, move |c| {
        let endpoint = target.endpoint(ctx)?;
        let db = target.output("db_instance_identifier")?;
        run(c, endpoint.as_deref(), &db)
    })
}

/// `aws rds <verb> <flag> <id> --output json`.
fn rds(ctx: &Context, target: &Target, endpoint: Option<&str>, verb: &str, flag: &str, id: &str) -> Cmd {
    aws(ctx, target, endpoint).args(["rds", verb, flag, id, "--output", "json"])
}

fn json(text: &str) -> Result<Value> {
    serde_json::from_str(text).context("the AWS CLI did not answer with JSON")
}

/// The git revision of this checkout, for the snapshot's tags.
fn git_revision(ctx: &Context) -> String {
    let revision = || -> Result<String> {
        let sh = shell::at(&ctx.root)?;
        let out = shell::run("git", cmd!(sh, "git rev-parse --short=12 HEAD"))?;
        Ok(if out.success { out.stdout } else { String::new() })
    };
    revision()
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .unwrap_or_else(|| "unknown".into())
}

fn snapshot_step<'a>(ctx: &'a Context, target: &'a Target, made: &'a std::cell::RefCell<String>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let create = move |endpoint: Option<&str>, db: &str, id: &str, stamp: &str| {
        aws(ctx, target, endpoint)
            .args([
                "rds",
                "create-db-snapshot",
                "--db-instance-identifier",
                db,
                "--db-snapshot-identifier",
                id,
                "--tags",
            ])
            .arg(format!("Key={},Value={}", MADE_BY.0, MADE_BY.1))
            .arg(format!("Key=Environment,Value={}", target.env.name))
            .arg(format!("Key=CreatedAt,Value={stamp}"))
            .arg(format!("Key=GitRevision,Value={}", git_revision(ctx)))
            .args(["--output", "json"])
    };
    let wait = move |endpoint: Option<&str>, id: &str| {
        aws(ctx, target, endpoint).args(["rds", "wait", "db-snapshot-available", "--db-snapshot-identifier", id])
    };
    let shown_cmds = vec![
        create(shown.as_deref(), "<terraform output db_instance_identifier>", "<db>-<UTC time>", "<UTC time>"),
        wait(shown.as_deref(), "<db>-<UTC time>"),
    ];
    db_step(
        ctx,
        target,
        "snapshot",
        "Manual RDS snapshot, tagged with env, time and git revision; waited on",
        shown_cmds,
        move |c, endpoint, db| {
            let stamp = utc_stamp();
            let id = format!("{db}-{}", stamp.to_lowercase());
            c.output(&create(endpoint, db, &id, &stamp))?;
            c.run(&wait(endpoint, &id))?;
            c.note(format!("{id} available"));
            *made.borrow_mut() = id;
            Ok(())
        },
    )
}

fn copy_step<'a>(ctx: &'a Context, target: &'a Target, made: &'a std::cell::RefCell<String>) -> Step<'a> {
    let dr = target.env.dr_region.clone().unwrap_or_default();
    let shown = target.shown_endpoint(ctx);
    let copy = {
        let dr = dr.clone();
        move |endpoint: Option<&str>, source_arn: &str, id: &str, key: &str| {
            aws(ctx, target, endpoint)
                .args(["rds", "copy-db-snapshot", "--source-db-snapshot-identifier", source_arn])
                .args(["--target-db-snapshot-identifier", id, "--kms-key-id", key, "--copy-tags"])
                .args(["--source-region", &target.env.region, "--region", &dr, "--output", "json"])
        }
    };
    let wait = {
        let dr = dr.clone();
        move |endpoint: Option<&str>, id: &str| {
            aws(ctx, target, endpoint).args([
                "rds",
                "wait",
                "db-snapshot-available",
                "--db-snapshot-identifier",
                id,
                "--region",
                &dr,
            ])
        }
    };
    let shown_cmds = vec![
        copy(shown.as_deref(), "<snapshot ARN>", "<snapshot>", "<terraform output dr_backup_kms_key_arn>"),
        wait(shown.as_deref(), "<snapshot>"),
    ];
    Step::new(
        "copy-to-dr",
        format!("Copy the snapshot to {dr}, encrypted with the DR region's key"),
        shown_cmds,
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            let id = made.borrow().clone();
            if id.is_empty() {
                bail!("no snapshot from this run to copy (run the whole backup, not --from copy-to-dr)");
            }
            let key = target.output("dr_backup_kms_key_arn")?;
            let arn = format!("arn:aws:rds:{}:{}:snapshot:{id}", target.env.region, target.env.account_id);
            c.output(&copy(endpoint.as_deref(), &arn, &id, &key))?;
            c.run(&wait(endpoint.as_deref(), &id))?;
            c.note(format!("{id} in {dr}"));
            Ok(())
        },
    )
}

/// The manual snapshots of the database as `describe-db-snapshots` prints them, newest first.
fn snapshots(c: &mut StepCtx, ctx: &Context, target: &Target, endpoint: Option<&str>, db: &str) -> Result<Vec<Value>> {
    let out = c.output(&list_cmd(ctx, target, endpoint, db))?;
    let mut list: Vec<Value> = json(&out)?["DBSnapshots"].as_array().cloned().unwrap_or_default();
    list.sort_by(|a, b| b["SnapshotCreateTime"].as_str().cmp(&a["SnapshotCreateTime"].as_str()));
    Ok(list)
}

fn list_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>, db: &str) -> Cmd {
    aws(ctx, target, endpoint).args([
        "rds",
        "describe-db-snapshots",
        "--db-instance-identifier",
        db,
        "--snapshot-type",
        "manual",
        "--output",
        "json",
    ])
}

fn made_by_xtask(snapshot: &Value) -> bool {
    snapshot["TagList"].as_array().into_iter().flatten().any(|t| t["Key"] == MADE_BY.0 && t["Value"] == MADE_BY.1)
}

/// Seconds since the epoch of an RFC 3339 time as the AWS CLI prints it (`2026-11-22T10:45:00.123000+00:00`).
pub fn epoch(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp())
}

/// The snapshots to prune from `list` (newest first): those this command made, older than `days`, except
/// the newest of them, which is kept whatever its age. Automated and hand-made snapshots are never listed;
/// one whose creation time cannot be read counts as new.
fn expired(list: &[Value], now: i64, days: i64) -> Vec<String> {
    list.iter()
        .filter(|s| made_by_xtask(s))
        .skip(1)
        .filter(|s| now - s["SnapshotCreateTime"].as_str().and_then(epoch).unwrap_or(now) >= days * 86_400)
        .filter_map(|s| s["DBSnapshotIdentifier"].as_str().map(str::to_string))
        .collect()
}

fn prune_step<'a>(ctx: &'a Context, target: &'a Target, retention_override: Option<u32>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let delete = move |endpoint: Option<&str>, id: &str| {
        rds(ctx, target, endpoint, "delete-db-snapshot", "--db-snapshot-identifier", id)
    };
    let shown_cmds =
        vec![list_cmd(ctx, target, shown.as_deref(), "<db>"), delete(shown.as_deref(), "<each expired snapshot>")];
    db_step(
        ctx,
        target,
        "prune",
        "Delete this command's snapshots older than the retention (never the newest)",
        shown_cmds,
        move |c, endpoint, db| {
            let days: i64 = match retention_override {
                Some(d) => i64::from(d),
                None => {
                    target.output("backup_retention_days")?.parse().context("backup_retention_days is not a number")?
                }
            };
            let now = crate::mesh::certs::now();
            let list = snapshots(c, ctx, target, endpoint, db)?;
            let pruned = expired(&list, now, days);
            for id in &pruned {
                c.output(&delete(endpoint, id))?;
            }
            c.note(format!(
                "retention {days} day(s): {} pruned{}",
                pruned.len(),
                if pruned.is_empty() { String::new() } else { format!(" ({})", pruned.join(", ")) }
            ));
            Ok(())
        },
    )
    .note("retention: the terraform output backup_retention_days, or --retention-days")
}

fn state_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let copy = move |endpoint: Option<&str>, bucket: &str, stamp: &str| {
        aws(ctx, target, endpoint)
            .args(["s3", "cp"])
            .arg(format!("s3://{}/{}/terraform.tfstate", target.state_bucket(), target.env.name))
            .arg(format!("s3://{bucket}/terraform-state/{}/{stamp}.tfstate", target.env.name))
            .arg("--only-show-errors")
    };
    Step::new(
        "state",
        "Copy the terraform state object to the backups bucket",
        vec![copy(shown.as_deref(), "<terraform output backups_bucket>", "<UTC time>")],
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            let bucket = target.output("backups_bucket")?;
            let stamp = utc_stamp();
            c.run(&copy(endpoint.as_deref(), &bucket, &stamp))?;
            c.note(format!("s3://{bucket}/terraform-state/{}/{stamp}.tfstate", target.env.name));
            Ok(())
        },
    )
}

fn report_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    db_step(
        ctx,
        target,
        "report",
        "What exists now",
        vec![list_cmd(ctx, target, shown.as_deref(), "<db>")],
        move |c, endpoint, db| {
            let list = snapshots(c, ctx, target, endpoint, db)?;
            c.fact(format!("manual snapshots of {db} ({}):", list.len()));
            for s in &list {
                c.fact(format!(
                    "  {}  {}  {}  encrypted={}  {}",
                    s["DBSnapshotIdentifier"].as_str().unwrap_or("?"),
                    s["SnapshotCreateTime"].as_str().unwrap_or("?"),
                    s["Status"].as_str().unwrap_or("?"),
                    s["Encrypted"].as_bool().unwrap_or(false),
                    if made_by_xtask(s) { "cargo-xtask-backup" } else { "other" }
                ));
            }
            c.note(format!("{} manual snapshot(s)", list.len()));
            Ok(())
        },
    )
}

fn drill_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let restore = move |endpoint: Option<&str>, id: &str, snapshot: &str, subnets: &str, class: &str| {
        aws(ctx, target, endpoint)
            .args([
                "rds",
                "restore-db-instance-from-db-snapshot",
                "--db-instance-identifier",
                id,
                "--db-snapshot-identifier",
                snapshot,
            ])
            .args([
                "--db-instance-class",
                class,
                "--db-subnet-group-name",
                subnets,
                "--no-multi-az",
                "--no-publicly-accessible",
            ])
            .args(["--tags", "Key=Purpose,Value=restore-drill"])
            .arg(format!("Key=Environment,Value={}", target.env.name))
            .args(["--output", "json"])
    };
    let wait = move |endpoint: Option<&str>, what: &str, id: &str| {
        aws(ctx, target, endpoint).args(["rds", "wait", what, "--db-instance-identifier", id])
    };
    let describe = move |endpoint: Option<&str>, id: &str| {
        rds(ctx, target, endpoint, "describe-db-instances", "--db-instance-identifier", id)
    };
    let delete = move |endpoint: Option<&str>, id: &str| {
        aws(ctx, target, endpoint).args([
            "rds",
            "delete-db-instance",
            "--db-instance-identifier",
            id,
            "--skip-final-snapshot",
            "--output",
            "json",
        ])
    };
    let s = shown.as_deref();
    let shown_cmds = vec![
        list_cmd(ctx, target, s, "<db>"),
        describe(s, "<db>"),
        restore(s, "<db>-drill-<time>", "<newest snapshot>", "<the db's subnet group>", "<the db's class>"),
        wait(s, "db-instance-available", "<db>-drill-<time>"),
        describe(s, "<db>-drill-<time>"),
        delete(s, "<db>-drill-<time>"),
        wait(s, "db-instance-deleted", "<db>-drill-<time>"),
    ];
    Step::new(
        "restore-drill",
        "Restore the newest snapshot into a scratch instance, check it, delete it",
        shown_cmds,
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            let ep = endpoint.as_deref();
            let db = target.output("db_instance_identifier")?;
            let list = snapshots(c, ctx, target, ep, &db)?;
            let newest = list.first().and_then(|s| s["DBSnapshotIdentifier"].as_str()).map(str::to_string);
            let Some(snapshot) = newest else {
                bail!("{db} has no manual snapshot to restore: run `cargo xtask backup {}` first", target.env.name)
            };
            let source = json(&c.output(&describe(ep, &db))?)?;
            let source = &source["DBInstances"][0];
            let subnets = source["DBSubnetGroup"]["DBSubnetGroupName"].as_str().unwrap_or_default().to_string();
            let class = source["DBInstanceClass"].as_str().unwrap_or("db.t3.micro").to_string();
            let drill = format!("{db}-drill-{}", utc_stamp().to_lowercase());
            let started = Instant::now();
            c.output(&restore(ep, &drill, &snapshot, &subnets, &class))?;
            // From here on the scratch instance exists: whatever happens, it is deleted before returning.
            let checked = (|| -> Result<(std::time::Duration, Value)> {
                c.run(&wait(ep, "db-instance-available", &drill))?;
                let took = started.elapsed();
                Ok((took, json(&c.output(&describe(ep, &drill))?)?))
            })();
            let deleted = c
                .output(&delete(ep, &drill))
                .and_then(|_| c.run(&wait(ep, "db-instance-deleted", &drill)))
                .with_context(|| format!("deleting the scratch instance {drill}: delete it by hand"));
            let (took, checked) = checked.with_context(|| format!("restoring {snapshot} into {drill}"))?;
            deleted?;
            let problems = drill_problems(&checked["DBInstances"][0], source);
            if !problems.is_empty() {
                bail!("the restored instance failed its checks: {}", problems.join("; "));
            }
            let record = serde_json::json!({
                "environment": target.env.name, "snapshot": snapshot, "instance": drill,
                "restore_seconds": took.as_secs_f64(), "at": utc_stamp(),
            });
            let path = target.file("restore-drill.json");
            target.ensure_dirs()?;
            std::fs::write(&path, serde_json::to_string_pretty(&record)?)
                .with_context(|| format!("writing {}", path.display()))?;
            c.note(format!(
                "restored {snapshot} in {} (checked: available, {}, encrypted, tagged; deleted)",
                human(took),
                source["Engine"].as_str().unwrap_or("?")
            ));
            c.fact(format!(
                "restore drill {}: {snapshot} restored in {} — recorded in {}",
                target.env.name,
                human(took),
                path.display()
            ));
            Ok(())
        },
    )
}

/// What is wrong with a restored instance, compared with the instance its snapshot came from.
fn drill_problems(instance: &Value, source: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if instance["DBInstanceStatus"] != "available" {
        problems.push(format!("status is {}", instance["DBInstanceStatus"]));
    }
    if instance["Engine"] != source["Engine"] {
        problems.push(format!("engine {} differs from the source's {}", instance["Engine"], source["Engine"]));
    }
    if instance["StorageEncrypted"] != Value::Bool(true) {
        problems.push("storage is not encrypted".into());
    }
    let tagged = instance["TagList"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["Key"] == "Purpose" && t["Value"] == "restore-drill");
    if !tagged {
        problems.push("the Purpose=restore-drill tag is missing".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(id: &str, created: &str, made_by_us: bool) -> Value {
        let tags = if made_by_us { json!([{"Key": MADE_BY.0, "Value": MADE_BY.1}]) } else { json!([]) };
        json!({"DBSnapshotIdentifier": id, "SnapshotCreateTime": created, "TagList": tags})
    }

    #[test]
    fn pruning_keeps_the_newest_of_ours_and_never_touches_others() {
        let now = epoch("2026-11-30T00:00:00+00:00").unwrap();
        let list = [
            snap("by-hand", "2026-11-29T00:00:00+00:00", false),
            snap("ours-new", "2026-11-01T00:00:00+00:00", true),
            snap("ours-mid", "2026-10-01T00:00:00.123000+00:00", true),
            snap("old-by-hand", "2026-01-01T00:00:00+00:00", false),
            snap("ours-old", "2026-09-01T00:00:00+00:00", true),
            snap("ours-unreadable", "yesterday", true),
        ];
        // 7 days: everything of ours but the newest is old enough, a hand-made newest does not protect it.
        assert_eq!(expired(&list, now, 7), ["ours-mid", "ours-old"]);
        // 75 days: only what is older than that.
        assert_eq!(expired(&list, now, 75), ["ours-old"]);
        // Retention 0 with one snapshot of ours: it is the newest, so it stays.
        assert!(expired(&list[..2], now, 0).is_empty());
    }

    #[test]
    fn a_restored_instance_is_checked_against_its_source() {
        let source = json!({"Engine": "postgres"});
        let good = json!({
            "DBInstanceStatus": "available", "Engine": "postgres", "StorageEncrypted": true,
            "TagList": [{"Key": "Purpose", "Value": "restore-drill"}]
        });
        assert!(drill_problems(&good, &source).is_empty());
        let bad = json!({"DBInstanceStatus": "incompatible-restore", "Engine": "mysql", "StorageEncrypted": false});
        assert_eq!(
            drill_problems(&bad, &source),
            [
                "status is \"incompatible-restore\"",
                "engine \"mysql\" differs from the source's \"postgres\"",
                "storage is not encrypted",
                "the Purpose=restore-drill tag is missing",
            ]
        );
    }
}
