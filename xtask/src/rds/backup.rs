//! `backup`'s steps: a manual RDS snapshot (named and tagged with env, time and git revision), waited
//! on; copied to the DR region where the environment has one (encrypted with a key there, its tags
//! with it); the snapshots this command made that are older than the retention pruned, in the home
//! region and in the DR region alike (never automated ones, never the newest); the terraform state
//! object copied to the backups bucket; a report of what exists now.

use std::cell::RefCell;

use anyhow::{bail, Context as _};

use super::{db_step, git_revision, list_cmd, rds, snapshots, Region, Snapshot, MADE_BY};
use crate::clock::utc_stamp;
use crate::engine::{Pipeline, Step};
use crate::target::Target;
use crate::{context::Context, steps};

/// Everything `cargo xtask backup <env>` does, in order.
pub fn steps<'a>(
    ctx: &'a Context,
    target: &'a Target,
    pipeline: &mut Pipeline<'a>,
    made: &'a RefCell<String>,
    retention_override: Option<u32>,
) {
    steps::with_outputs(ctx, target, pipeline);
    pipeline.step(snapshot_step(ctx, target, made));
    let dr = target.env.dr_region.clone().map(Region::Dr);
    if dr.is_some() {
        pipeline.step(copy_step(ctx, target, made));
    }
    pipeline.step(prune_step(ctx, target, Region::Home, retention_override));
    if let Some(dr) = dr.clone() {
        pipeline.step(prune_step(ctx, target, dr, retention_override));
    }
    pipeline.step(state_step(ctx, target));
    pipeline.step(report_step(ctx, target, dr));
}

fn snapshot_step<'a>(ctx: &'a Context, target: &'a Target, made: &'a RefCell<String>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let create = move |endpoint: Option<&str>, db: &str, id: &str, stamp: &str| {
        target
            .aws(ctx, endpoint)
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
        target.aws(ctx, endpoint).args(["rds", "wait", "db-snapshot-available", "--db-snapshot-identifier", id])
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

fn copy_step<'a>(ctx: &'a Context, target: &'a Target, made: &'a RefCell<String>) -> Step<'a> {
    let dr = target.env.dr_region.clone().unwrap_or_default();
    let shown = target.shown_endpoint(ctx);
    let region = Region::Dr(dr.clone());
    let copy = {
        let region = region.clone();
        move |endpoint: Option<&str>, source_arn: &str, id: &str, key: &str| {
            rds(
                ctx,
                target,
                endpoint,
                &region,
                &[
                    "copy-db-snapshot",
                    "--source-db-snapshot-identifier",
                    source_arn,
                    "--target-db-snapshot-identifier",
                    id,
                ],
            )
            .args(["--kms-key-id", key, "--copy-tags", "--source-region", &target.env.region])
        }
    };
    let wait = move |endpoint: Option<&str>, id: &str| {
        rds(ctx, target, endpoint, &region, &["wait", "db-snapshot-available", "--db-snapshot-identifier", id])
    };
    let shown_cmds = vec![
        copy(shown.as_deref(), "<snapshot ARN>", "<snapshot>", "<terraform output dr_backup_kms_key_arn>"),
        wait(shown.as_deref(), "<snapshot>"),
    ];
    Step::new(
        "copy-to-dr",
        format!("Copy the snapshot to {dr}, encrypted with the DR region's key, with its tags"),
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

/// The snapshots to prune from `list` (newest first): those this command made, older than `days`, except
/// the newest of them, which is kept whatever its age. Automated and hand-made snapshots are never listed;
/// one whose creation time cannot be read counts as new.
pub fn expired(list: &[Snapshot], now: i64, days: i64) -> Vec<String> {
    list.iter()
        .filter(|s| s.made_by_xtask())
        .skip(1)
        .filter(|s| now - s.created.as_deref().and_then(super::epoch).unwrap_or(now) >= days * 86_400)
        .map(|s| s.id.clone())
        .collect()
}

/// Pruning in one region: the DR region's copies carry the same tags (`--copy-tags`), so the same rule
/// picks them, and the newest copy there is kept too.
fn prune_step<'a>(ctx: &'a Context, target: &'a Target, region: Region, retention_override: Option<u32>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let (name, about) = match &region {
        Region::Home => (
            "prune".to_string(),
            "Delete this command's snapshots older than the retention (never the newest)".to_string(),
        ),
        Region::Dr(r) => (
            "prune-dr".to_string(),
            format!("Delete this command's copies in {r} older than the retention (never the newest)"),
        ),
    };
    let delete = {
        let region = region.clone();
        move |endpoint: Option<&str>, id: &str| {
            rds(ctx, target, endpoint, &region, &["delete-db-snapshot", "--db-snapshot-identifier", id])
        }
    };
    let shown_cmds = vec![
        list_cmd(ctx, target, shown.as_deref(), &region, "<db>", true),
        delete(shown.as_deref(), "<each expired snapshot>"),
    ];
    db_step(ctx, target, &name, about, shown_cmds, move |c, endpoint, db| {
        let days: i64 = match retention_override {
            Some(d) => i64::from(d),
            None => target.output("backup_retention_days")?.parse().context("backup_retention_days is not a number")?,
        };
        let now = crate::mesh::certs::now();
        let list = snapshots(c, &list_cmd(ctx, target, endpoint, &region, db, true))?;
        let pruned = expired(&list, now, days);
        for id in &pruned {
            c.output(&delete(endpoint, id))?;
        }
        c.note(format!(
            "{} retention {days} day(s): {} pruned{}",
            region.label(target),
            pruned.len(),
            if pruned.is_empty() { String::new() } else { format!(" ({})", pruned.join(", ")) }
        ));
        Ok(())
    })
    .note("retention: the terraform output backup_retention_days, or --retention-days")
}

fn state_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let copy = move |endpoint: Option<&str>, bucket: &str, stamp: &str| {
        target
            .aws(ctx, endpoint)
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

fn report_step<'a>(ctx: &'a Context, target: &'a Target, dr: Option<Region>) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let regions: Vec<Region> = std::iter::once(Region::Home).chain(dr).collect();
    let shown_cmds = regions.iter().map(|r| list_cmd(ctx, target, shown.as_deref(), r, "<db>", true)).collect();
    db_step(ctx, target, "report", "What exists now", shown_cmds, move |c, endpoint, db| {
        let mut counts = Vec::new();
        for region in &regions {
            let list = snapshots(c, &list_cmd(ctx, target, endpoint, region, db, true))?;
            c.fact(format!("manual snapshots of {db} in {} ({}):", region.label(target), list.len()));
            for s in &list {
                c.fact(format!(
                    "  {}  {}  {}  encrypted={}  {}",
                    s.id,
                    s.created.as_deref().unwrap_or("?"),
                    s.status,
                    s.encrypted,
                    if s.made_by_xtask() { "cargo-xtask-backup" } else { "other" }
                ));
            }
            counts.push(format!("{} in {}", list.len(), region.label(target)));
        }
        c.note(format!("manual snapshot(s): {}", counts.join(", ")));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rds::{epoch, Tag};

    fn snap(id: &str, created: &str, made_by_us: bool) -> Snapshot {
        let tags = if made_by_us { vec![Tag { key: MADE_BY.0.into(), value: MADE_BY.1.into() }] } else { vec![] };
        Snapshot { id: id.into(), created: Some(created.into()), status: "available".into(), encrypted: true, tags }
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
}
