//! What a restore decided and how long it took: the source (the database module's `restore_source`),
//! the instances retired, the times — kept in `<work>/plans/<env>.restore.json`, so `--resume` continues
//! the same restore and its last step records the measured times.

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::target::Target;

/// The terraform address of the database module's instances (the environment roots call the stack `stack`).
pub const MODULE: &str = "module.stack.module.database";

/// What the database is restored from: the database module's `restore_source`, as terraform reads it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_dbi_resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_time: Option<String>,
}

impl Source {
    /// `-var database_restore_source=<an HCL object in JSON form>`.
    pub fn var(&self) -> String {
        format!("database_restore_source={}", serde_json::to_string(self).expect("plain strings serialise"))
    }

    pub fn describe(&self) -> String {
        match (&self.snapshot_identifier, &self.restore_time, &self.source_dbi_resource_id) {
            (Some(s), _, _) => format!("snapshot {s}"),
            (None, Some(t), Some(r)) => format!("{t} (automated backups of {r})"),
            _ => "nothing".into(),
        }
    }
}

/// The run's record: what was chosen, what was retired, how long it took.
#[derive(Serialize, Deserialize, Debug, Default)]
pub struct Record {
    pub environment: String,
    pub database: String,
    pub source: Source,
    /// `<old name> -> <retired name>` (the emulator's are deleted after the rename).
    pub retired: Vec<String>,
    pub started_at: String,
    pub started_epoch: i64,
    pub applied: bool,
    pub database_seconds: Option<f64>,
    pub total_seconds: Option<f64>,
    pub done: bool,
}

pub fn record_file(target: &Target) -> std::path::PathBuf {
    target.file("restore.json")
}

pub fn read_record(target: &Target) -> Option<Record> {
    serde_json::from_str(&std::fs::read_to_string(record_file(target)).ok()?).ok()
}

pub fn write_record(target: &Target, record: &Record) -> Result<()> {
    target.ensure_dirs()?;
    let path = record_file(target);
    std::fs::write(&path, serde_json::to_string_pretty(record)?).with_context(|| format!("writing {}", path.display()))
}

/// The record of this restore, written by the `source` step.
pub fn current(target: &Target) -> Result<Record> {
    read_record(target).filter(|r| !r.done).ok_or_else(|| {
        anyhow::anyhow!(
            "no restore in progress is recorded in {} (the `source` step writes it): run the whole restore",
            record_file(target).display()
        )
    })
}

pub fn epoch_now() -> i64 {
    crate::mesh::certs::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restore_source_is_the_variable_terraform_reads() {
        let snap = Source { snapshot_identifier: Some("db-20261204t030000z".into()), ..Source::default() };
        assert_eq!(snap.var(), r#"database_restore_source={"snapshot_identifier":"db-20261204t030000z"}"#);
        let pit = Source {
            source_dbi_resource_id: Some("db-ABC".into()),
            restore_time: Some("2026-12-04T09:30:00Z".into()),
            ..Source::default()
        };
        assert_eq!(
            pit.var(),
            r#"database_restore_source={"source_dbi_resource_id":"db-ABC","restore_time":"2026-12-04T09:30:00Z"}"#
        );
    }
}
