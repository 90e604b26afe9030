//! One pipeline per environment per checkout: a lock file under `<work>/locks/`, held with flock(2)
//! for as long as the pipeline runs. The kernel drops the lock when the holding process ends, however
//! it ends (even `kill -9`), so a lock is never stale; the file also names its holder (pid, command,
//! start time) for the run that is refused. A second run of the same environment exits 2 within
//! moments, naming the first, before it touches the scratch terraform tree, the data dir, the journal
//! or the logs.
//!
//! Also here: every run's step logs are its own. Before a run writes `<work>/logs/<pipeline>/`, the
//! previous run's logs are moved aside to `<work>/logs/<pipeline>.<its start time>/` (the newest few kept).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};

use crate::error::usage;

/// How many earlier runs' logs are kept beside the current ones.
const KEPT_RUNS: usize = 5;

/// Held while a pipeline runs; dropping it (or the process ending) releases the lock.
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the holder line first, so nobody reads a finished run as the holder; the flock itself
        // goes with the file descriptor.
        let _ = self.file.set_len(0);
        let _ = fs::remove_file(&self.path);
    }
}

/// Where the lock for `key` lives.
pub fn path(work: &Path, key: &str) -> PathBuf {
    work.join("locks").join(format!("{key}.lock"))
}

/// Takes the lock `key` (what the caller works on: an environment, or a resource of the checkout such
/// as `tools-install`) for `invocation`, or refuses (exit 2) naming the run that holds it. The engine
/// knows no command's arguments: the caller says what it locks.
pub fn acquire(work: &Path, key: &str, invocation: &str) -> Result<RunLock> {
    let path = path(work, key);
    let dir = path.parent().expect("a file in a directory");
    fs::create_dir_all(dir).map_err(|e| {
        usage(format!(
            "cannot write to the work directory {} ({e}): make it writable, or point XTASK_WORK_DIR at one that is",
            work.display()
        ))
    })?;
    for _ in 0..2 {
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| {
                usage(format!(
                "cannot write to the work directory {} ({e}): make it writable, or point XTASK_WORK_DIR at one that is",
                work.display()
            ))
            })?;
        // SAFETY: flock(2) on a file descriptor this function owns; no memory is shared.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            return Err(usage(refusal(key, &holder_of(&path))));
        }
        // The previous holder may have removed the file between our open and our flock: then we hold
        // a lock on an unlinked file, which nobody else sees. Start again with the file on disk.
        let same = fs::metadata(&path).ok().map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            == file.metadata().ok().map(|m| std::os::unix::fs::MetadataExt::ino(&m));
        if !same {
            continue;
        }
        let holder = Holder::me(invocation);
        file.set_len(0).context("writing the run lock")?;
        file.rewind().context("writing the run lock")?;
        file.write_all(holder.to_line().as_bytes()).context("writing the run lock")?;
        return Ok(RunLock { file, path });
    }
    Err(usage(refusal(key, &holder_of(&path))))
}

fn refusal(key: &str, holder: &Holder) -> String {
    format!(
        "another run is working on `{key}` in this checkout: {}; wait for it to finish (or stop it with Ctrl-C \
         there), then run again. Nothing was changed by this one",
        holder.describe()
    )
}

/// The holder's line, re-read for a moment in case it is being written right now.
fn holder_of(path: &Path) -> Holder {
    for _ in 0..20 {
        let mut text = String::new();
        if File::open(path).and_then(|mut f| f.read_to_string(&mut text)).is_ok() {
            if let Some(h) = Holder::parse(&text) {
                return h;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    Holder { pid: 0, started: 0, command: "(unknown: the lock file names no holder)".into() }
}

/// Who holds a run lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub command: String,
}

impl Holder {
    fn me(invocation: &str) -> Holder {
        Holder { pid: std::process::id(), started: now(), command: format!("cargo xtask {invocation}") }
    }

    fn to_line(&self) -> String {
        format!("pid={}\nstarted={}\ncommand={}\n", self.pid, self.started, self.command)
    }

    fn parse(text: &str) -> Option<Holder> {
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('='))).map(str::to_string)
        };
        Some(Holder {
            pid: field("pid")?.parse().ok()?,
            started: field("started")?.parse().ok()?,
            command: field("command")?,
        })
    }

    pub fn describe(&self) -> String {
        format!("`{}` (pid {}, started {})", self.command, self.pid, utc(self.started))
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `2026-12-01 14:03:07 UTC`.
pub fn utc(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The step-log directory for a new run: the previous run's logs are moved aside first (to
/// `<dir>.<when it started>`), so no run overwrites another's; the newest [`KEPT_RUNS`] are kept.
pub fn fresh_log_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        let stamp = fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let aside = dir.with_file_name(format!("{name}.{stamp}"));
        fs::rename(dir, &aside).with_context(|| format!("moving the previous run's logs to {}", aside.display()))?;
        // Prune the oldest.
        let parent = dir.parent().expect("logs live in a directory");
        let prefix = format!("{name}.");
        let mut old: Vec<(u128, PathBuf)> = fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_prefix(&prefix).and_then(|s| s.parse::<u128>().ok()).map(|s| (s, e.path()))
            })
            .collect();
        old.sort();
        while old.len() > KEPT_RUNS {
            let (_, p) = old.remove(0);
            let _ = fs::remove_dir_all(p);
        }
    }
    fs::create_dir_all(dir).map_err(|e| {
        usage(format!("cannot create {} ({e}): make the work directory writable, or set XTASK_WORK_DIR", dir.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "local", "deploy local").unwrap();
        let err = acquire(dir.path(), "local", "plan local").err().unwrap();
        let text = format!("{err:#}");
        assert!(text.contains("another run is working on `local`"), "{text}");
        assert!(text.contains("`cargo xtask deploy local` (pid"), "{text}");
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        // Another key is another lock: the tunnel of `local` runs beside a deploy of it.
        acquire(dir.path(), "local-tunnel", "tunnel local").unwrap();
        drop(first);
        acquire(dir.path(), "local", "plan local").unwrap();
    }

    #[test]
    fn dates_read_as_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_764_597_787), "2025-12-01 14:03:07 UTC");
    }
}
