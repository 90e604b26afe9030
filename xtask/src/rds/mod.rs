//! The environment's PostgreSQL on RDS, backed up and brought back: snapshots (`backup.rs`), the restore
//! rehearsed in a scratch instance (`drill.rs`), a real restore into a new instance terraform then owns
//! (`restore.rs`, its terraform in `restore_tf.rs`, what it decided in `record.rs`), and the final snapshots a protected environment's
//! destroy takes (`final_snapshots_step`).
//! This file holds what they share: the AWS CLI's answers as types, the snapshot listing, and where
//! (the home region or the DR region) a call goes.

pub mod backup;
pub mod drill;
pub mod record;
pub mod restore;
pub mod restore_tf;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::clock::utc_stamp;
use crate::context::Context;
use crate::engine::{Cmd, Step, StepCtx};
use crate::shell::{self, cmd};
use crate::target::Target;

/// The tag that marks a snapshot as `backup`'s (only those are ever pruned). `--copy-tags` carries it
/// to the DR region's copies.
pub const MADE_BY: (&str, &str) = ("xtask:made-by", "cargo-xtask-backup");

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

fn tagged(tags: &[Tag], key: &str, value: &str) -> bool {
    tags.iter().any(|t| t.key == key && t.value == value)
}

/// A DB snapshot as `describe-db-snapshots` prints it (the fields used here).
#[derive(Deserialize, Debug, Clone)]
pub struct Snapshot {
    #[serde(rename = "DBSnapshotIdentifier")]
    pub id: String,
    #[serde(rename = "SnapshotCreateTime", default)]
    pub created: Option<String>,
    #[serde(rename = "Status", default)]
    pub status: String,
    #[serde(rename = "Encrypted", default)]
    pub encrypted: bool,
    #[serde(rename = "TagList", default)]
    pub tags: Vec<Tag>,
}

impl Snapshot {
    pub fn made_by_xtask(&self) -> bool {
        tagged(&self.tags, MADE_BY.0, MADE_BY.1)
    }
}

#[derive(Deserialize)]
struct Snapshots {
    #[serde(rename = "DBSnapshots", default)]
    list: Vec<Snapshot>,
}

/// A DB instance as `describe-db-instances` prints it (the fields used here).
#[derive(Deserialize, Debug, Clone, Default)]
pub struct Instance {
    #[serde(rename = "DBInstanceIdentifier")]
    pub id: String,
    #[serde(rename = "DBInstanceStatus", default)]
    pub status: String,
    #[serde(rename = "Engine", default)]
    pub engine: String,
    #[serde(rename = "DBInstanceClass", default)]
    pub class: String,
    #[serde(rename = "StorageEncrypted", default)]
    pub encrypted: bool,
    #[serde(rename = "DBSubnetGroup", default)]
    pub subnet_group: Option<SubnetGroup>,
    #[serde(rename = "TagList", default)]
    pub tags: Vec<Tag>,
    #[serde(rename = "DbiResourceId", default)]
    pub resource_id: String,
    #[serde(rename = "DBInstanceArn", default)]
    pub arn: String,
    #[serde(rename = "ReadReplicaDBInstanceIdentifiers", default)]
    pub replicas: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct SubnetGroup {
    #[serde(rename = "DBSubnetGroupName", default)]
    pub name: String,
}

#[derive(Deserialize)]
struct Instances {
    #[serde(rename = "DBInstances", default)]
    list: Vec<Instance>,
}

/// The automated backups of an instance, live or retained after it was deleted.
#[derive(Deserialize, Debug, Clone)]
pub struct AutomatedBackup {
    #[serde(rename = "DbiResourceId", default)]
    pub resource_id: String,
    #[serde(rename = "RestoreWindow", default)]
    pub window: Option<RestoreWindow>,
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct RestoreWindow {
    #[serde(rename = "EarliestTime", default)]
    pub earliest: Option<String>,
    #[serde(rename = "LatestTime", default)]
    pub latest: Option<String>,
}

#[derive(Deserialize)]
struct AutomatedBackups {
    #[serde(rename = "DBInstanceAutomatedBackups", default)]
    list: Vec<AutomatedBackup>,
}

/// Seconds since the epoch of an RFC 3339 time as the AWS CLI prints it (`2026-11-22T10:45:00.123000+00:00`).
pub fn epoch(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp())
}

/// Where a call goes: the environment's own region, or its DR region (`--region` on the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Region {
    Home,
    Dr(String),
}

impl Region {
    pub fn label<'t>(&'t self, target: &'t Target) -> &'t str {
        match self {
            Region::Home => &target.env.region,
            Region::Dr(r) => r,
        }
    }
}

/// `aws rds <args…> --output json`, in `region`.
pub fn rds(ctx: &Context, target: &Target, endpoint: Option<&str>, region: &Region, args: &[&str]) -> Cmd {
    let cmd = target.aws(ctx, endpoint).arg("rds").args(args.iter().copied()).args(["--output", "json"]);
    match region {
        Region::Home => cmd,
        Region::Dr(r) => cmd.args(["--region", r]),
    }
}

/// The environment's snapshots of `db` (`manual` only, or every type), as listed in `region`.
pub fn list_cmd(
    ctx: &Context,
    target: &Target,
    endpoint: Option<&str>,
    region: &Region,
    db: &str,
    manual: bool,
) -> Cmd {
    let mut args = vec!["describe-db-snapshots", "--db-instance-identifier", db];
    if manual {
        args.extend(["--snapshot-type", "manual"]);
    }
    rds(ctx, target, endpoint, region, &args)
}

/// The snapshots a listing answered, newest first.
pub fn snapshots(c: &mut StepCtx, cmd: &Cmd) -> Result<Vec<Snapshot>> {
    let out = c.output(cmd)?;
    let mut list = serde_json::from_str::<Snapshots>(&out).context("the AWS CLI did not answer with snapshots")?.list;
    list.sort_by_key(|s| std::cmp::Reverse(s.created.as_deref().and_then(epoch)));
    Ok(list)
}

pub fn describe_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>, region: &Region, db: &str) -> Cmd {
    rds(ctx, target, endpoint, region, &["describe-db-instances", "--db-instance-identifier", db])
}

/// The instance `db`, or `None` when RDS has none of that name.
pub fn instance(c: &mut StepCtx, cmd: &Cmd) -> Result<Option<Instance>> {
    match c.attempt(cmd)? {
        Ok(out) => Ok(parse_instances(&out)?.into_iter().next()),
        Err(why) if why.contains("DBInstanceNotFound") => Ok(None),
        Err(why) => anyhow::bail!("describing the instance: {why}"),
    }
}

pub fn parse_instances(json: &str) -> Result<Vec<Instance>> {
    Ok(serde_json::from_str::<Instances>(json).context("the AWS CLI did not answer with instances")?.list)
}

pub fn automated_backups_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>, db: &str) -> Cmd {
    rds(
        ctx,
        target,
        endpoint,
        &Region::Home,
        &["describe-db-instance-automated-backups", "--db-instance-identifier", db],
    )
}

pub fn parse_automated_backups(json: &str) -> Result<Vec<AutomatedBackup>> {
    Ok(serde_json::from_str::<AutomatedBackups>(json)
        .context("the AWS CLI did not answer with automated backups")?
        .list)
}

/// A step about the environment's database: `run` gets the live endpoint and the database's name
/// (terraform output `db_instance_identifier`).
pub fn db_step<'a>(
    ctx: &'a Context,
    target: &'a Target,
    name: &str,
    about: impl Into<String>,
    shown: Vec<Cmd>,
    run: impl FnOnce(&mut StepCtx, Option<&str>, &str) -> Result<()> + 'a,
) -> Step<'a> {
    Step::new(name, about, shown, move |c| {
        let endpoint = target.endpoint(ctx)?;
        let db = target.output("db_instance_identifier")?;
        run(c, endpoint.as_deref(), &db)
    })
}

/// The git revision of this checkout, for snapshot tags.
pub fn git_revision(ctx: &Context) -> String {
    let revision = || -> Result<String> {
        let sh = shell::at(&ctx.root)?;
        let out = shell::run("git", || cmd!(sh, "git rev-parse --short=12 HEAD"))?;
        Ok(if out.success { out.stdout } else { String::new() })
    };
    revision()
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .unwrap_or_else(|| "unknown".into())
}

/// `destroy` of a protected environment: every database of the environment gets a final manual
/// snapshot (waited on), then its deletion protection is lifted so terraform can remove it.
pub fn final_snapshots_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let prefix = format!("{}-{}-", target.config.project, target.env.name);
    let shown = target.shown_endpoint(ctx);
    let list = {
        let prefix = prefix.clone();
        move |endpoint: Option<&str>| {
            target
                .aws(ctx, endpoint)
                .args(["rds", "describe-db-instances", "--output", "text", "--query"])
                .arg(format!("DBInstances[?starts_with(DBInstanceIdentifier, '{prefix}')].DBInstanceIdentifier"))
        }
    };
    let per_db = move |endpoint: Option<&str>, db: &str, stamp: &str| -> Vec<Cmd> {
        let snapshot = format!("{db}-final-{stamp}");
        let aws = || target.aws(ctx, endpoint);
        vec![
            aws().args([
                "rds",
                "create-db-snapshot",
                "--db-instance-identifier",
                db,
                "--db-snapshot-identifier",
                &snapshot,
            ]),
            aws().args(["rds", "wait", "db-snapshot-available", "--db-snapshot-identifier", &snapshot]),
            aws().args([
                "rds",
                "modify-db-instance",
                "--db-instance-identifier",
                db,
                "--no-deletion-protection",
                "--apply-immediately",
            ]),
        ]
    };
    let mut shown_cmds = vec![list(shown.as_deref())];
    shown_cmds.extend(per_db(shown.as_deref(), "<each database>", "<UTC time>"));
    Step::new(
        "final-snapshots",
        "Final snapshot of every database, then lift deletion protection",
        shown_cmds,
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            let stamp = utc_stamp();
            let dbs = c.output(&list(endpoint.as_deref()))?;
            let dbs: Vec<&str> = dbs.split_whitespace().collect();
            for db in &dbs {
                for cmd in per_db(endpoint.as_deref(), db, &stamp) {
                    c.run(&cmd)?;
                }
            }
            c.note(format!("{} final snapshot(s)", dbs.len()));
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_answers_read_as_types() {
        let snaps: Snapshots = serde_json::from_str(
            r#"{"DBSnapshots":[{"DBSnapshotIdentifier":"a","SnapshotCreateTime":"2026-11-22T10:45:00.123000+00:00",
            "Status":"available","Encrypted":true,"SnapshotType":"manual","TagList":[{"Key":"xtask:made-by","Value":"cargo-xtask-backup"}]},
            {"DBSnapshotIdentifier":"b"}]}"#,
        )
        .unwrap();
        assert!(snaps.list[0].made_by_xtask() && snaps.list[0].encrypted && !snaps.list[1].made_by_xtask());
        let list = parse_instances(
            r#"{"DBInstances":[{"DBInstanceIdentifier":"db","DbiResourceId":"db-ABC","DBSubnetGroup":{"DBSubnetGroupName":"g"},
            "ReadReplicaDBInstanceIdentifiers":["db-replica"],"Endpoint":{"Address":"db.x.rds.amazonaws.com","Port":5432},
            "MasterUserSecret":{"SecretArn":"arn:aws:secretsmanager:us-east-1:1:secret:rds!db-1"}}]}"#,
        )
        .unwrap();
        assert_eq!(list[0].resource_id, "db-ABC");
        assert_eq!(list[0].replicas, ["db-replica"]);
        assert_eq!(list[0].subnet_group.as_ref().unwrap().name, "g");
        let backups = parse_automated_backups(
            r#"{"DBInstanceAutomatedBackups":[{"DbiResourceId":"db-ABC","Status":"retained",
            "RestoreWindow":{"EarliestTime":"2026-11-01T00:00:00Z","LatestTime":"2026-11-30T00:00:00Z"}}]}"#,
        )
        .unwrap();
        assert_eq!(backups[0].window.as_ref().unwrap().latest.as_deref(), Some("2026-11-30T00:00:00Z"));
    }
}
