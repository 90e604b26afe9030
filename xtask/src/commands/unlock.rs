//! `cargo xtask unlock <env>`: the terraform state lock a killed run left behind — shown (ID, holder,
//! since when, what it was doing), and removed only when asked (`--yes`, or the environment's name typed
//! back at a terminal). Refused while a run of this checkout works on the environment, or while a
//! terraform process of this machine still runs in the environment's directory: their lock is live.

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, Context as _, Result};

use crate::cli::UnlockArgs;
use crate::engine::runlock;
use crate::engine::Cmd;
use crate::error::usage;
use crate::statelock::{self, StateLock};
use crate::target::Target;
use crate::{context::Context, emulator};

pub fn run(ctx: &Context, args: UnlockArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let name = target.env.name.clone();
    // Our own run lock: no pipeline of this checkout starts on the environment while we look. Taking it
    // is refused (naming the holder) while one runs.
    let _lock = runlock::acquire(&ctx.work, &name, &format!("unlock {name}"))?;
    if let Some(pid) = terraform_running_in(&target.dir()) {
        return Err(usage(format!(
            "terraform (pid {pid}) is still running in {}: its lock is live; let it finish or stop it first. Nothing removed",
            target.dir().display()
        )));
    }
    let endpoint = if target.uses_emulator() {
        match emulator::running(ctx) {
            Some(r) => Some(r.endpoint()),
            None => {
                println!(
                    "The emulator is not running: its state, and any lock in it, went with it. Nothing to unlock."
                );
                return Ok(());
            }
        }
    } else {
        None
    };
    let url = statelock::lock_url(&target);
    let (ok, stdout, stderr) = quick(&statelock::read_cmd(ctx, &target, endpoint.as_deref()))?;
    if !ok {
        if statelock::is_missing(&stderr) {
            println!("No state lock for `{name}` ({url}): nothing to remove.");
            return Ok(());
        }
        return Err(anyhow!("cannot read {url}: {}", stderr.lines().last().unwrap_or_default()));
    }
    let lock = StateLock::parse(&stdout);
    match &lock {
        Some(l) => println!("State lock of `{name}` ({url}): {}", l.describe()),
        None => println!("{url} exists but is not terraform's lock info"),
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "not removed: confirm at a terminal, or run `cargo xtask unlock {name} --yes` once you know the holder is gone"
            )));
        }
        eprint!("Remove it? Only do so when the holder is not running. Type `{name}` to remove it: ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).context("reading the answer")?;
        if answer.trim() != name {
            return Err(usage(format!("not confirmed (typed `{}`): nothing removed", answer.trim())));
        }
    }
    let (ok, _, stderr) = quick(&statelock::remove_cmd(ctx, &target, endpoint.as_deref()))?;
    if !ok {
        return Err(anyhow!("removing {url} failed: {}", stderr.lines().last().unwrap_or_default()));
    }
    let id = lock.map(|l| l.id).unwrap_or_default();
    println!("Removed the state lock {id} of `{name}`. Runs can take the state again.");
    Ok(())
}

/// Runs a short AWS CLI call: (succeeded, stdout, stderr).
fn quick(cmd: &Cmd) -> Result<(bool, String, String)> {
    let out = crate::shell::run_cmd(cmd)?;
    Ok((out.success, out.stdout, out.stderr))
}

/// A terraform process of this machine working in `dir` (its lock would be live).
fn terraform_running_in(dir: &std::path::Path) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        if !String::from_utf8_lossy(first).ends_with("terraform") {
            continue;
        }
        if std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir) {
            return Some(pid);
        }
    }
    None
}
