//! `restore`'s steps: the environment's database brought back from a snapshot or a point in time into a
//! NEW instance that terraform then owns, and the services switched to it.
//!
//! The way the RDS User Guide describes it ("Renaming to replace an existing DB instance"): the current
//! instance (and its read replicas) is tagged and renamed aside (`<name>-retired-<time>`), kept until a
//! person deletes it; terraform forgets it (`state rm`) and creates the primary again under the old
//! name from the restore source (the database module's `restore_source`, passed as
//! `-var database_restore_source=…` for this one plan); the outputs are recorded again and the cluster
//! steps `deploy` runs bind the services to them (the master secret is the new instance's), then
//! PgBouncer is restarted so no pooled connection stays on the retired instance. The time from the
//! rename to the applied restore, and to the end, is measured and recorded.
//!
//! What the run decided lives in `<work>/plans/<env>.restore.json`, so `--resume` continues the same
//! restore: once the old instance is retired, the source is not chosen again and nothing is renamed twice.

use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use super::record::{current, epoch_now, read_record, record_file, write_record, Record, Source, MODULE};
use super::{automated_backups_cmd, describe_cmd, epoch, instance, list_cmd, parse_automated_backups, rds, snapshots};
use super::{Region, Snapshot};
use crate::clock::{rfc3339, utc_stamp};
use crate::engine::{human, Cmd, Pipeline, Step};
use crate::target::Target;
use crate::{cluster, context::Context, steps};

/// What was asked on the command line.
#[derive(Debug, Clone)]
pub enum Request {
    /// The newest available snapshot of the environment's database (automated or `backup`'s).
    Newest,
    Snapshot(String),
    /// A UTC time, `YYYY-MM-DDTHH:MM:SSZ`.
    Time(String),
}

/// `--to-time`: any RFC 3339 time, as the UTC time RDS takes (`2026-12-04T09:30:00Z`); bad input is `None`.
pub fn utc_time(text: &str) -> Option<(String, i64)> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let u = t.to_offset(time::UtcOffset::UTC);
    let shown = rfc3339(u);
    Some((shown, u.unix_timestamp()))
}

/// Everything `cargo xtask restore <env>` does, in order.
pub fn steps<'a>(
    ctx: &'a Context,
    target: &'a Target,
    pipeline: &mut Pipeline<'a>,
    request: Request,
    confirm: bool,
) -> Result<()> {
    steps::announce_omissions(target, pipeline);
    steps::with_outputs(ctx, target, pipeline);
    pipeline.step(source_step(ctx, target, request));
    if confirm {
        pipeline.step(confirm_step(target));
    }
    pipeline.step(retire_step(ctx, target));
    pipeline.step(super::restore_tf::plan_step(ctx, target));
    pipeline.step(super::restore_tf::apply_step(ctx, target));
    pipeline.step(steps::outputs_step_named(ctx, target, "new-outputs"));
    cluster::deploy_steps(ctx, target, pipeline)?;
    if !target.uses_emulator() {
        pipeline.step(reconnect_step(ctx, target));
    }
    pipeline.step(record_step(target));
    Ok(())
}

fn source_step<'a>(ctx: &'a Context, target: &'a Target, request: Request) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let s = shown.as_deref();
    let home = Region::Home;
    let shown_cmds = match &request {
        Request::Newest => vec![list_cmd(ctx, target, s, &home, "<db>", false)],
        Request::Snapshot(id) => {
            vec![rds(ctx, target, s, &home, &["describe-db-snapshots", "--db-snapshot-identifier", id])]
        }
        Request::Time(_) => {
            vec![describe_cmd(ctx, target, s, &home, "<db>"), automated_backups_cmd(ctx, target, s, "<db>")]
        }
    };
    let about = match &request {
        Request::Newest => "Choose the newest available snapshot of the database".to_string(),
        Request::Snapshot(id) => format!("Check that snapshot {id} is available"),
        Request::Time(t) => format!("Check that {t} is within the automated backups' restore window"),
    };
    Step::new("source", about, shown_cmds, move |c| {
        if let Some(r) = read_record(target).filter(|r| !r.done && !r.retired.is_empty()) {
            c.note(format!("resuming the restore from {} (its instance is already retired)", r.source.describe()));
            return Ok(());
        }
        let endpoint = target.endpoint(ctx)?;
        let ep = endpoint.as_deref();
        let db = target.output("db_instance_identifier")?;
        let source = match &request {
            Request::Newest | Request::Snapshot(_) => {
                let cmd = match &request {
                    Request::Snapshot(id) => rds(ctx, target, ep, &home, &["describe-db-snapshots", "--db-snapshot-identifier", id]),
                    _ => list_cmd(ctx, target, ep, &home, &db, false),
                };
                let list: Vec<Snapshot> = snapshots(c, &cmd)?;
                let Some(found) = list.into_iter().find(|s| s.status == "available") else {
                    bail!(match &request {
                        Request::Snapshot(id) => format!("snapshot {id} is not available (describe-db-snapshots lists it as not available, or not at all)"),
                        _ => format!("{db} has no available snapshot: take one with `cargo xtask backup {}`", target.env.name),
                    })
                };
                Source { snapshot_identifier: Some(found.id), ..Source::default() }
            }
            Request::Time(time) => point_in_time(c, ctx, target, ep, &db, time)?,
        };
        let stamp = utc_stamp();
        write_record(
            target,
            &Record {
                environment: target.env.name.clone(),
                database: db.clone(),
                source: source.clone(),
                started_at: stamp,
                ..Record::default()
            },
        )?;
        c.note(format!("restoring {db} from {}", source.describe()));
        c.fact(format!("restore {}: {db} from {}", target.env.name, source.describe()));
        Ok(())
    })
    .note(format!("recorded in {}, so --resume continues the same restore", record_file(target).display()))
}

/// The instance's automated backups: its resource id (live, or retained after a deletion) and the time
/// checked against their restore window.
fn point_in_time(
    c: &mut crate::engine::StepCtx,
    ctx: &Context,
    target: &Target,
    ep: Option<&str>,
    db: &str,
    time: &str,
) -> Result<Source> {
    let at = epoch(time).context("the restore time")?;
    if at > epoch_now() {
        bail!("{time} is in the future: give a time before now (UTC)");
    }
    let live = instance(c, &describe_cmd(ctx, target, ep, &Region::Home, db))?;
    let backups = parse_automated_backups(&c.output(&automated_backups_cmd(ctx, target, ep, db))?)?;
    let resource_id = match (&live, backups.first()) {
        (Some(i), _) if !i.resource_id.is_empty() => i.resource_id.clone(),
        (_, Some(b)) => b.resource_id.clone(),
        _ => bail!("{db} has neither an instance nor retained automated backups to restore a point in time from"),
    };
    if let Some(window) = backups.iter().find(|b| b.resource_id == resource_id).and_then(|b| b.window.clone()) {
        let earliest = window.earliest.as_deref().and_then(epoch);
        let latest = window.latest.as_deref().and_then(epoch);
        if earliest.is_some_and(|e| at < e) || latest.is_some_and(|l| at > l) {
            bail!(
                "{time} is outside the restore window of {db}'s automated backups ({} to {}): choose a time inside it",
                window.earliest.as_deref().unwrap_or("?"),
                window.latest.as_deref().unwrap_or("?")
            );
        }
    }
    Ok(Source { source_dbi_resource_id: Some(resource_id), restore_time: Some(time.to_string()), ..Source::default() })
}

/// A person types the environment's name back before a protected environment's database is replaced.
fn confirm_step(target: &Target) -> Step<'_> {
    Step::new("confirm", format!("Confirm the restore of protected `{}`", target.env.name), vec![], move |c| {
        let record = current(target)?;
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(crate::error::usage(format!(
                "`{}` is protected: confirm at a terminal, or pass --yes",
                target.env.name
            )));
        }
        let answer = c.ask(&format!(
            "Restore {} of `{}` from {}: the instance in service is renamed aside and kept, a new one takes its name. Type `{}` to restore:",
            record.database,
            target.env.name,
            record.source.describe(),
            target.env.name
        ))?;
        if answer != target.env.name {
            return Err(crate::error::usage(format!("not confirmed (typed `{answer}`): nothing changed")));
        }
        c.note("confirmed");
        Ok(())
    })
    .note("skipped with --yes")
}

/// `<name>-retired-<yyyymmddhhmm>`: RDS identifiers are at most 63 letters, digits and hyphens.
pub fn retired_name(id: &str, stamp: &str) -> Result<String> {
    let digits: String = stamp.chars().filter(char::is_ascii_digit).take(12).collect();
    let name = format!("{id}-retired-{digits}");
    if name.len() > 63 {
        bail!("cannot rename {id} aside: {name} is longer than RDS's 63 characters");
    }
    Ok(name)
}

fn retire_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let home = Region::Home;
    let tag = move |ep: Option<&str>, arn: &str, stamp: &str| {
        let at = format!("Key=xtask:retired-at,Value={stamp}");
        let args = [
            "add-tags-to-resource",
            "--resource-name",
            arn,
            "--tags",
            "Key=xtask:retired-by,Value=cargo-xtask-restore",
            &at,
        ];
        rds(ctx, target, ep, &home, &args)
    };
    let rename = move |ep: Option<&str>, id: &str, to: &str| {
        rds(ctx, target, ep, &Region::Home, &["modify-db-instance", "--db-instance-identifier", id]).args([
            "--new-db-instance-identifier",
            to,
            "--apply-immediately",
        ])
    };
    // The old name is free once no instance answers to it (the waiter for a deleted instance).
    let freed = move |ep: Option<&str>, id: &str| {
        target.aws(ctx, ep).args(["rds", "wait", "db-instance-deleted", "--db-instance-identifier", id])
    };
    let delete = move |ep: Option<&str>, id: &str| -> Vec<Cmd> {
        vec![
            rds(
                ctx,
                target,
                ep,
                &Region::Home,
                &["delete-db-instance", "--db-instance-identifier", id, "--skip-final-snapshot"],
            ),
            target.aws(ctx, ep).args(["rds", "wait", "db-instance-deleted", "--db-instance-identifier", id]),
        ]
    };
    let state = move |ep: Option<&str>, args: &[&str]| -> Result<Cmd> {
        Ok(target.terraform(ctx, ep)?.cmd(["state"]).args(args.iter().copied()))
    };
    let s = shown.as_deref();
    let mut shown_cmds = vec![
        describe_cmd(ctx, target, s, &Region::Home, "<db>"),
        tag(s, "<each instance's ARN>", "<UTC time>"),
        rename(s, "<db and each read replica>", "<name>-retired-<time>"),
        freed(s, "<db and each read replica>"),
    ];
    if target.uses_emulator() {
        shown_cmds.extend(delete(s, "<name>-retired-<time>"));
    }
    shown_cmds.extend(state(s, &["list"]));
    shown_cmds.extend(state(s, &["rm", &format!("{MODULE}.aws_db_instance.<each>")]));
    let about = if target.uses_emulator() {
        "Rename the instance aside, then delete it (the emulator can't hold two), and make terraform forget it"
    } else {
        "Tag and rename the instance (and its replicas) aside, kept; make terraform forget them"
    };
    let note = if target.uses_emulator() {
        "the emulator gives every instance the same DbiResourceId, so the provider can't tell two apart: there the retired instance is deleted"
    } else {
        "the retired instances keep running (and costing) until a person deletes them: `aws rds delete-db-instance --db-instance-identifier <name>-retired-<time>`"
    };
    Step::new("retire", about, shown_cmds, move |c| {
        let mut record = current(target)?;
        if !record.retired.is_empty() || record.applied {
            c.note(format!("retired in the run that started at {}: {}", record.started_at, record.retired.join(", ")));
            return Ok(());
        }
        let endpoint = target.endpoint(ctx)?;
        let ep = endpoint.as_deref();
        let started = epoch_now();
        let stamp = utc_stamp();
        let mut retired = Vec::new();
        if let Some(primary) = instance(c, &describe_cmd(ctx, target, ep, &Region::Home, &record.database))? {
            let mut ids = primary.replicas.clone();
            ids.push(primary.id.clone());
            for id in &ids {
                let to = retired_name(id, &stamp)?;
                let arn = if *id == primary.id {
                    primary.arn.clone()
                } else {
                    format!("arn:aws:rds:{}:{}:db:{id}", target.env.region, target.env.account_id)
                };
                c.output(&tag(ep, &arn, &stamp))?;
                c.output(&rename(ep, id, &to))?;
                c.log(format!("renamed {id} to {to}"));
                retired.push((id.clone(), to));
            }
            for (id, to) in &retired {
                c.run(&freed(ep, id))?;
                if target.uses_emulator() {
                    for cmd in delete(ep, to) {
                        c.run(&cmd)?;
                    }
                }
            }
        } else {
            c.log(format!("{} is not there (deleted, or failed): nothing to rename", record.database));
        }
        let listed = c.output(&state(ep, &["list"])?)?;
        for address in listed.lines().map(str::trim).filter(|a| a.starts_with(&format!("{MODULE}.aws_db_instance."))) {
            c.run(&state(ep, &["rm", address])?)?;
        }
        let gone = if target.uses_emulator() { " (deleted: the emulator)" } else { "" };
        record.retired = retired.iter().map(|(id, to)| format!("{id} -> {to}{gone}")).collect();
        if record.retired.is_empty() {
            record.retired.push(format!("{} (gone before the restore)", record.database));
        }
        record.started_epoch = started;
        write_record(target, &record)?;
        c.note(format!("retired: {}", record.retired.join(", ")));
        c.fact(format!("restore {}: retired {}", target.env.name, record.retired.join(", ")));
        Ok(())
    })
    .note(note)
}

/// The pooled connections PgBouncer holds may still point at the retired instance: a rolling restart
/// opens them to the new one.
fn reconnect_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let kubectl = move |args: &[&str]| {
        crate::tools::Tools::new(ctx)
            .cmd(crate::tools::KUBECTL)
            .args(args.iter().copied())
            .arg(format!("--kubeconfig={}", target.kubeconfig().display()))
    };
    let restart =
        move |ns: &str, name: &str| kubectl(&["rollout", "restart", &format!("deployment/{name}"), "--namespace", ns]);
    let status = move |ns: &str, name: &str| {
        kubectl(&["rollout", "status", &format!("deployment/{name}"), "--namespace", ns, "--timeout=10m"])
    };
    Step::new(
        "reconnect",
        "Restart PgBouncer so every pooled connection goes to the new instance",
        vec![restart("<namespace>", "pgbouncer"), status("<namespace>", "pgbouncer")],
        move |c| {
            let objects = crate::k8s::parse(&crate::k8s::render(ctx, &target.env.overlay)?)?;
            let found: Vec<(String, String)> =
                crate::k8s::deployments(&objects).into_iter().filter(|(_, n)| n == "pgbouncer").collect();
            for (ns, name) in &found {
                c.run(&restart(ns, name))?;
                c.run(&status(ns, name))?;
            }
            c.note(if found.is_empty() {
                "no PgBouncer in the overlay".to_string()
            } else {
                "PgBouncer restarted".to_string()
            });
            Ok(())
        },
    )
}

fn record_step(target: &Target) -> Step<'_> {
    Step::new("record", "Record how long the restore took", vec![], move |c| {
        let started = Instant::now();
        let mut record = current(target)?;
        let total = (epoch_now() - record.started_epoch).max(0) as f64 + started.elapsed().as_secs_f64();
        record.total_seconds = Some(total);
        record.done = true;
        write_record(target, &record)?;
        let database = record.database_seconds.unwrap_or(total);
        let line = format!(
            "restore {}: {} from {} — database back in {}, services switched in {} (measured from the rename); recorded in {}",
            target.env.name,
            record.database,
            record.source.describe(),
            human(std::time::Duration::from_secs_f64(database)),
            human(std::time::Duration::from_secs_f64(total)),
            record_file(target).display()
        );
        c.fact(line);
        c.note(format!("restored in {}", human(std::time::Duration::from_secs_f64(total))));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_taken_in_any_offset_and_given_to_rds_in_utc() {
        assert_eq!(utc_time("2026-12-04T10:30:00+01:00").unwrap().0, "2026-12-04T09:30:00Z");
        assert_eq!(utc_time("2026-12-04T09:30:00.5Z").unwrap().0, "2026-12-04T09:30:00Z");
        assert!(utc_time("yesterday").is_none() && utc_time("2026-12-04 09:30").is_none());
    }

    #[test]
    fn a_retired_name_fits_rds_identifiers() {
        assert_eq!(
            retired_name("authorworks-production-postgres-replica", "20261204T103000Z").unwrap(),
            "authorworks-production-postgres-replica-retired-202612041030"
        );
        assert!(retired_name(&"a".repeat(50), "20261204T103000Z").is_err());
    }
}
