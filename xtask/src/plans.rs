//! The emulated-plan cache: `plan <env> --emulated` writes `<work>/plans/<env>-emulated.plan.json` and
//! next to it a key — a hash of every file under terraform/ (what the scratch copy is made of), the
//! environment's settings from xtask.toml as the plan's `-var`s, and the `TF_VAR_*` of the variables
//! the root declares. [`Planner::emulated_plan`] reuses the plan while the key matches and otherwise makes it
//! with the very steps `plan <env> --emulated` runs (the emulator started on demand), quietly, into a
//! log. `validate` gets its contracts' plans this way.
//! It runs the xtask binary (`emulator start`, `plan <env> --emulated`) rather than the pipeline in this
//! process: a pipeline's notes, learnt secrets, watched emulator and interrupt count are process-wide
//! (xtask/README.md, "Process-wide state"), so plans made side by side inside validate would share them
//! with each other and with validate's checks.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::engine::Cmd;
use crate::target::Target;
use crate::terraform::{tf_dir, tree_files, TfFile};
use crate::{context::Context, emulator, shell};

/// Where the key of an emulated plan is kept.
pub fn key_file(target: &Target) -> PathBuf {
    target.file("key")
}

/// The key of `target`'s emulated plan: what the plan depends on, hashed (values never shown).
pub fn key(ctx: &Context, target: &Target) -> Result<String> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let tf = tf_dir(&ctx.root);
    for file in tree_files(&tf)? {
        let rel = file.strip_prefix(&tf).unwrap_or(&file).to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        parts.push(format!("file {rel} {}\n", bytes.len()).into_bytes());
        parts.push(bytes);
    }
    parts.push(format!("vars {}\n", target.vars().join(" ")).into_bytes());
    for name in declared_variables(&target.source_dir()) {
        if let Some(value) = std::env::var_os(format!("TF_VAR_{name}")) {
            parts.push(format!("TF_VAR_{name}=").into_bytes());
            parts.push(value.into_encoded_bytes());
        }
    }
    let mut ctx_hash = ring::digest::Context::new(&ring::digest::SHA256);
    parts.iter().for_each(|p| ctx_hash.update(p));
    Ok(crate::digest::hex(ctx_hash.finish().as_ref()))
}

/// The names of the `variable` blocks of a root module (a file that doesn't parse declares none here:
/// terraform's own validate names it).
fn declared_variables(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = crate::terraform::tf_files(dir)
        .iter()
        .filter_map(|f| TfFile::read(f).ok())
        .flat_map(|f| f.blocks("variable").map(|(name, _, _)| name).collect::<Vec<_>>())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the saved emulated plan was made from what `key` says.
pub fn is_current(target: &Target, key: &str) -> bool {
    target.plan_json().is_file() && std::fs::read_to_string(key_file(target)).is_ok_and(|k| k.trim() == key)
}

/// An emulated plan, and whether it was reused or made (and how long that took).
pub struct Got {
    pub env: String,
    pub path: PathBuf,
    pub reused: bool,
    /// How long reusing or making it took (waiting for a turn not counted).
    pub took: Duration,
    /// How long it waited for a turn to be made.
    pub waited: Duration,
}

impl Got {
    /// `dev: reused (0.1s)` / `staging: made (24.2s, after 30.1s waiting for a turn)`
    pub fn line(&self) -> String {
        let how = if self.reused { "reused" } else { "made" };
        let waited = match self.waited.as_millis() {
            0..=99 => String::new(),
            _ => format!(", after {} waiting for a turn", crate::engine::human(self.waited)),
        };
        format!("{}: {how} ({}{waited})", self.env, crate::engine::human(self.took))
    }
}

/// At most this many plans are made at once (terraform and the provider are CPU-bound; the other
/// checks of `validate` run beside them): half the cores, at least one.
fn permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Makes and reuses emulated plans for one command (validate's worker threads share it): the turns
/// that keep at most [`permits`] plans running at once, each environment's plan key (hashed once per
/// command: validate's cache and the plan's reuse ask for it), and whether it started the emulator,
/// which it then stops when dropped.
pub struct Planner<'a> {
    ctx: &'a Context,
    running: Mutex<usize>,
    freed: Condvar,
    keys: Mutex<std::collections::BTreeMap<String, String>>,
    started_emulator: Mutex<bool>,
}

impl<'a> Planner<'a> {
    pub fn new(ctx: &'a Context) -> Planner<'a> {
        Planner {
            ctx,
            running: Mutex::new(0),
            freed: Condvar::new(),
            keys: Mutex::default(),
            started_emulator: Mutex::new(false),
        }
    }

    /// `env`'s emulated-plan key ([`key`]), computed the first time it is asked for.
    pub fn key(&self, env: &str) -> Result<String> {
        match self.known_key(env) {
            Some(known) => Ok(known),
            None => self.key_of(&Target::new(self.ctx, env, true)?),
        }
    }

    fn known_key(&self, env: &str) -> Option<String> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(env).cloned()
    }

    /// [`Planner::key`] for a target already built.
    fn key_of(&self, target: &Target) -> Result<String> {
        let env = &target.env.name;
        if let Some(known) = self.known_key(env) {
            return Ok(known);
        }
        let computed = key(self.ctx, target)?;
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).insert(env.clone(), computed.clone());
        Ok(computed)
    }

    /// `env`'s emulated plan: reused while its key matches, otherwise made the way
    /// `cargo xtask plan <env> --emulated` makes it (its output in `<work>/logs/plans/<env>-emulated.log`).
    pub fn emulated_plan(&self, env: &str) -> Result<Got> {
        let ctx = self.ctx;
        let started = Instant::now();
        let target = Target::new(ctx, env, true)?;
        let key = self.key_of(&target)?;
        if is_current(&target, &key) {
            let took = started.elapsed();
            return Ok(Got { env: env.into(), path: target.plan_json(), reused: true, took, waited: Duration::ZERO });
        }
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= permits() {
            running = self.freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        drop(running);
        let waited = started.elapsed();
        let result = self.make(&target, env, &key);
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.freed.notify_one();
        result?;
        let took = started.elapsed() - waited;
        Ok(Got { env: env.into(), path: target.plan_json(), reused: false, took, waited })
    }

    fn make(&self, target: &Target, env: &str, key: &str) -> Result<()> {
        let ctx = self.ctx;
        let log = ctx.work.join("logs").join("plans").join(format!("{env}-emulated.log"));
        std::fs::create_dir_all(log.parent().unwrap()).context("creating the plan log directory")?;
        let mut text = String::new();
        {
            let mut started = self.started_emulator.lock().unwrap_or_else(|e| e.into_inner());
            if emulator::running(ctx).is_none() {
                let out = shell::run_cmd(&xtask(ctx, &["emulator", "start"])?)?;
                text.push_str(&out.combined());
                if !out.success {
                    std::fs::write(&log, &text).ok();
                    bail!("the emulator did not start for the emulated plan of `{env}` (see {})", log.display());
                }
                *started = true;
            }
        }
        let out = shell::run_cmd(&xtask(ctx, &["plan", env, "--emulated"])?)?;
        text.push_str(&out.combined());
        std::fs::write(&log, crate::redact::apply(&text).as_bytes())
            .with_context(|| format!("writing {}", log.display()))?;
        if !out.success {
            let tail: Vec<&str> = text.lines().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            bail!("`cargo xtask plan {env} --emulated` failed: {} (see {})", tail.join(" | "), log.display());
        }
        if !is_current(target, key) {
            bail!(
                "`cargo xtask plan {env} --emulated` made a plan of other files (terraform/ changed while it ran): run again"
            );
        }
        Ok(())
    }
}

/// The emulator this planner started is stopped with it.
impl Drop for Planner<'_> {
    fn drop(&mut self) {
        if *self.started_emulator.get_mut().unwrap_or_else(|e| e.into_inner()) {
            let _ = emulator::stop(self.ctx);
        }
    }
}

/// The xtask itself, for a command run quietly on the side.
fn xtask(ctx: &Context, args: &[&str]) -> Result<Cmd> {
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    let mut cmd = Cmd::new("xtask").exe(Some(exe)).cwd(&ctx.root);
    if let Some(config) = &ctx.config_path {
        cmd = cmd.arg("--config").arg(config.to_string_lossy());
    }
    Ok(cmd
        .args(args.iter().copied())
        .env("XTASK_ROOT", ctx.root.to_string_lossy())
        .env("XTASK_WORK_DIR", ctx.work.to_string_lossy())
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "false"))
}
