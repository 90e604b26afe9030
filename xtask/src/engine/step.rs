//! [`Step`]: a named unit of a pipeline with the commands `--dry-run` shows, and [`StepCtx`], what a
//! running step can do (run tools, log, note, ask).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

use super::exec::Sink;
use super::{Cmd, Ui};

type StepFn<'a> = Box<dyn FnOnce(&mut StepCtx) -> Result<()> + 'a>;

pub struct Step<'a> {
    pub name: String,
    pub about: String,
    /// The commands `--dry-run` shows, in order.
    pub commands: Vec<Cmd>,
    /// What `--dry-run` says besides the commands (a condition, a check done in Rust).
    pub note: Option<String>,
    pub(super) run: StepFn<'a>,
}

impl<'a> Step<'a> {
    /// A step with its own logic; `commands` are what it will run, for `--dry-run`.
    pub fn new(
        name: impl Into<String>,
        about: impl Into<String>,
        commands: Vec<Cmd>,
        run: impl FnOnce(&mut StepCtx) -> Result<()> + 'a,
    ) -> Step<'a> {
        Step { name: name.into(), about: about.into(), commands, note: None, run: Box::new(run) }
    }

    pub fn note(mut self, note: impl Into<String>) -> Step<'a> {
        self.note = Some(note.into());
        self
    }
}

/// What a running step can do: run tools, write to its log, leave a note for the closing table.
pub struct StepCtx {
    pub root: PathBuf,
    pub(super) sink: Arc<Mutex<Sink>>,
    pub(super) ui: Ui,
    pub(super) note: Option<String>,
    pub(super) facts: Vec<String>,
}

impl StepCtx {
    /// Runs a tool to completion, its output streamed to the step log.
    pub fn run(&mut self, cmd: &Cmd) -> Result<()> {
        self.exec(cmd, false)?.check(cmd, &self.root).map(drop)
    }

    /// Runs a tool and returns its standard output (its standard error goes to the step log).
    pub fn output(&mut self, cmd: &Cmd) -> Result<String> {
        self.exec(cmd, true)?.check(cmd, &self.root)
    }

    /// Runs a tool whose failure is an answer, not an error: `Ok(stdout)` when it succeeded,
    /// `Err(stderr)` when it exited non-zero.
    pub fn attempt(&mut self, cmd: &Cmd) -> Result<std::result::Result<String, String>> {
        let done = self.exec(cmd, true)?;
        Ok(if done.status.success() { Ok(done.stdout) } else { Err(done.lines.join("\n")) })
    }

    /// A line in the step log (and on the terminal when streaming).
    pub fn log(&mut self, line: impl AsRef<str>) {
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).line(line.as_ref());
    }

    /// A short remark shown next to the step in the closing table (`bucket exists`, `3 to add`).
    pub fn note(&mut self, note: impl Into<String>) {
        self.note = Some(note.into());
    }

    /// A line for the run's summary (terminal and GitHub step summary).
    pub fn fact(&mut self, fact: impl Into<String>) {
        self.facts.push(fact.into());
    }

    /// Asks the person at the terminal a question (the spinner paused); their answer, trimmed.
    pub fn ask(&mut self, question: &str) -> Result<String> {
        let bar = self.sink.lock().unwrap_or_else(|e| e.into_inner()).bar.clone();
        let read = || -> Result<String> {
            eprint!("{question} ");
            std::io::stderr().flush().ok();
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer).context("reading the answer")?;
            Ok(answer.trim().to_string())
        };
        match bar {
            Some(bar) => bar.suspend(read),
            None => read(),
        }
    }
}
