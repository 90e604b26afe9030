//! What the domain tells the engine about failures, without the engine knowing the domain: whether a
//! running tool must be ended (the emulator under it died), how a failed tool's error reads (terraform's
//! own `Error:` at the repository's file:line), which steps a `--resume` must run again, and the one line
//! of advice printed after a failure. `main` installs the domain's [`Hooks`] once; until then (and in the
//! engine's own tests) [`Plain`] answers. Lines the domain wants said after a failure (what a run left
//! behind, how to check it) are queued with [`say`] and printed by the engine with its report.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use super::Cmd;

pub trait Hooks: Send + Sync {
    /// Asked while a tool runs: `Some(error)` ends the tool at once and fails the step with it.
    fn abort(&self) -> Option<anyhow::Error>;
    /// The error for a tool that exited non-zero; `lines` is what it printed (redacted), `how` the exit.
    fn explain(&self, cmd: &Cmd, root: &Path, lines: &[String], how: &str) -> anyhow::Error;
    /// `--resume`: may widen the selection of steps to run; says why when it did.
    fn replan(&self, names: &[&str], selected: &mut [bool]) -> Option<String>;
    /// The line that gets the user going again after a failure (`err`) or an interrupt (`None`).
    fn advice(&self, err: Option<&anyhow::Error>, invocation: &str) -> String;
}

/// The engine on its own: no abort, the command that failed, resume where it stopped.
pub struct Plain;

impl Hooks for Plain {
    fn abort(&self) -> Option<anyhow::Error> {
        None
    }
    fn explain(&self, cmd: &Cmd, root: &Path, _lines: &[String], how: &str) -> anyhow::Error {
        anyhow::anyhow!("`{}` failed with {how}", cmd.display(root))
    }
    fn replan(&self, _names: &[&str], _selected: &mut [bool]) -> Option<String> {
        None
    }
    fn advice(&self, _err: Option<&anyhow::Error>, invocation: &str) -> String {
        format!("Resume with: cargo xtask {invocation} --resume")
    }
}

static HOOKS: OnceLock<Box<dyn Hooks>> = OnceLock::new();

/// Installs the domain's hooks (once, from `main`).
pub fn install(hooks: Box<dyn Hooks>) {
    let _ = HOOKS.set(hooks);
}

pub(super) fn get() -> &'static dyn Hooks {
    HOOKS.get().map(|h| h.as_ref()).unwrap_or(&Plain)
}

static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A line for the user, printed after the failure report (what was left behind, how to check it).
pub fn say(line: impl Into<String>) {
    NOTES.lock().unwrap_or_else(|e| e.into_inner()).push(line.into());
}

pub(super) fn take_notes() -> Vec<String> {
    std::mem::take(&mut *NOTES.lock().unwrap_or_else(|e| e.into_inner()))
}
