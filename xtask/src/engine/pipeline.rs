//! [`Pipeline`]: the ordered steps of one command, run (or with `--dry-run` printed) according to the
//! [`RunArgs`] every pipeline command shares.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;

use super::cmd::rel;
use super::exec::Sink;
use super::journal::{save_journal, Journal, JournalStep, Status};
use super::signals::{catch_signals, signals_received};
use super::ui::{finish_step, print_table, report_failure, start_step, write_github_summary};
use super::{hooks, runlock};
use super::{Mode, Step, StepCtx, Ui};
use crate::error::{is_usage, usage, Interrupted, Reported, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE};
use crate::redact;

/// Flags every pipeline command shares: how much of it to run.
#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Print every command of every step, in order, and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the last run of this command from the step that failed or was interrupted
    #[arg(long, conflicts_with_all = ["from", "only"])]
    pub resume: bool,
    /// Start at this step, skipping the ones before it
    #[arg(long, value_name = "STEP", conflicts_with = "only")]
    pub from: Option<String>,
    /// Run only this step (repeat for several)
    #[arg(long, value_name = "STEP")]
    pub only: Vec<String>,
    /// Stream every tool's output to the terminal as well as to the step logs
    #[arg(long, short)]
    pub verbose: bool,
}

/// Where a pipeline shows paths relative to (the repository) and keeps its journal and logs.
pub trait Workspace {
    fn root(&self) -> &Path;
    fn work(&self) -> &Path;
}

pub struct Pipeline<'a> {
    /// What the user typed after `cargo xtask`, e.g. `deploy local`.
    invocation: String,
    /// What the run holds while it runs (engine::runlock): the caller names it — the environment, or a
    /// resource of the checkout such as `tools-install`.
    lock: String,
    steps: Vec<Step<'a>>,
    root: PathBuf,
    work: PathBuf,
    /// Said before the steps run (e.g. what `local` leaves out).
    preface: Vec<String>,
}

impl<'a> Pipeline<'a> {
    pub fn new(ctx: &impl Workspace, invocation: impl Into<String>, lock: impl Into<String>) -> Pipeline<'a> {
        Pipeline {
            invocation: invocation.into(),
            lock: lock.into(),
            steps: Vec::new(),
            root: ctx.root().to_path_buf(),
            work: ctx.work().to_path_buf(),
            preface: Vec::new(),
        }
    }

    pub fn step(&mut self, step: Step<'a>) -> &mut Self {
        debug_assert!(self.steps.iter().all(|s| s.name != step.name), "duplicate step {}", step.name);
        self.steps.push(step);
        self
    }

    pub fn preface(&mut self, line: impl Into<String>) -> &mut Self {
        self.preface.push(line.into());
        self
    }

    fn id(&self) -> String {
        self.invocation.replace(' ', "-")
    }

    fn journal_path(&self) -> PathBuf {
        self.work.join("journal").join(format!("{}.json", self.id()))
    }

    /// Which steps this run executes, from `--resume`, `--from` and `--only`.
    fn selection(&self, args: &RunArgs) -> Result<Vec<bool>> {
        let names: Vec<&str> = self.steps.iter().map(|s| s.name.as_str()).collect();
        let check = |name: &str| -> Result<usize> {
            names.iter().position(|n| *n == name).ok_or_else(|| {
                usage(format!("`{}` has no step `{name}`; its steps are: {}", self.invocation, names.join(", ")))
            })
        };
        if args.resume {
            let path = self.journal_path();
            let text = fs::read_to_string(&path).map_err(|_| {
                usage(format!(
                    "nothing to resume: `{}` has no earlier run ({} is missing)",
                    self.invocation,
                    path.display()
                ))
            })?;
            let journal: Journal = serde_json::from_str(&text)
                .map_err(|e| usage(format!("{}: unreadable journal ({e}); run without --resume", path.display())))?;
            let earlier: Vec<&str> = journal.steps.iter().map(|s| s.name.as_str()).collect();
            if earlier != names {
                return Err(usage(format!(
                    "cannot resume: the last run of `{}` had other steps ({}); run without --resume",
                    self.invocation,
                    earlier.join(", ")
                )));
            }
            let mut resume: Vec<bool> = journal.steps.iter().map(|s| s.status != Status::Done).collect();
            // The domain may widen it (a resume inside the plan phase plans again).
            if let Some(why) = hooks::get().replan(&names, &mut resume) {
                println!("{why}");
            }
            return Ok(resume);
        }
        if let Some(from) = &args.from {
            let start = check(from)?;
            return Ok((0..names.len()).map(|i| i >= start).collect());
        }
        if !args.only.is_empty() {
            let chosen: Vec<usize> = args.only.iter().map(|n| check(n)).collect::<Result<_>>()?;
            return Ok((0..names.len()).map(|i| chosen.contains(&i)).collect());
        }
        Ok(vec![true; names.len()])
    }

    /// Runs the pipeline (or, with `--dry-run`, prints it).
    pub fn run(self, args: &RunArgs) -> Result<()> {
        let selected = self.selection(args)?;
        if args.dry_run {
            self.print_dry_run(&selected);
            return Ok(());
        }
        if args.resume && selected.iter().all(|s| !s) {
            println!("The last run of `{}` completed every step; nothing to resume.", self.invocation);
            return Ok(());
        }
        let ui = Ui::detect(args.verbose);
        catch_signals();
        for line in &self.preface {
            println!("{line}");
        }

        // One pipeline per environment and checkout (runlock.rs); every run's logs its own.
        let _run_lock = runlock::acquire(&self.work, &self.lock, &self.invocation)?;
        let logs = self.work.join("logs").join(self.id());
        runlock::fresh_log_dir(&logs)?;
        fs::create_dir_all(self.journal_path().parent().unwrap()).context("creating the journal directory")?;

        let earlier: Option<Journal> = if args.resume {
            fs::read_to_string(self.journal_path()).ok().and_then(|t| serde_json::from_str(&t).ok())
        } else {
            None
        };
        let mut journal = Journal {
            pipeline: self.invocation.clone(),
            steps: self
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| match (&earlier, selected[i]) {
                    (Some(j), false) => j.steps[i].clone(),
                    _ => JournalStep { name: s.name.to_string(), status: Status::Pending, seconds: 0.0, note: None },
                })
                .collect(),
        };
        let total = self.steps.len();
        let mut facts = Vec::new();
        let mut outcome: Result<()> = Ok(());
        let (root, work, invocation) = (self.root.clone(), self.work.clone(), self.invocation.clone());

        for (i, step) in self.steps.into_iter().enumerate() {
            if !selected[i] {
                if journal.steps[i].status == Status::Pending {
                    journal.steps[i].status = Status::Skipped;
                }
                continue;
            }
            if signals_received() > 0 {
                outcome = Err(anyhow::Error::new(Interrupted));
                break;
            }
            let label = format!("[{}/{}] {}", i + 1, total, step.name);
            let log_path = logs.join(format!("{:02}-{}.log", i + 1, step.name));
            let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
            let bar = start_step(&ui, &label, &step.about);
            let sink = Arc::new(Mutex::new(Sink {
                log,
                echo: ui.verbose || ui.mode == Mode::GitHub,
                bar: bar.clone(),
                tail: Vec::new(),
            }));
            let mut ctx =
                StepCtx { root: root.clone(), sink: Arc::clone(&sink), ui: ui.clone(), note: None, facts: Vec::new() };
            let started = Instant::now();
            let result = (step.run)(&mut ctx);
            let elapsed = started.elapsed();
            facts.append(&mut ctx.facts);
            let status = match &result {
                Ok(()) => Status::Done,
                Err(e) if e.chain().any(|c| c.is::<Interrupted>()) => Status::Interrupted,
                Err(_) => Status::Failed,
            };
            journal.steps[i].status = status;
            journal.steps[i].seconds = elapsed.as_secs_f64();
            journal.steps[i].note = ctx.note.clone();
            save_journal(&journal, &work, &invocation)?;
            finish_step(&ui, bar, &label, status, elapsed, ctx.note.as_deref());
            if let Err(err) = result {
                let tail = sink.lock().unwrap_or_else(|e| e.into_inner()).tail.clone();
                report_failure(&ui, &step.name, &err, status, &tail, &log_path, &invocation);
                outcome = Err(err);
                break;
            }
        }
        // Steps after a failure were never reached.
        print_table(&ui, &journal, &facts);
        write_github_summary(&ui, &journal, &facts);
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if e.chain().any(|c| c.is::<Interrupted>()) => {
                if !journal.steps.iter().any(|s| s.status == Status::Interrupted) {
                    eprintln!("interrupted between steps");
                }
                eprintln!("{}", hooks::get().advice(None, &invocation));
                Err(anyhow::Error::new(Reported(EXIT_INTERRUPTED)))
            }
            Err(e) if is_usage(&e) => Err(anyhow::Error::new(Reported(EXIT_USAGE))),
            Err(_) => Err(anyhow::Error::new(Reported(EXIT_FAILED))),
        }
    }

    fn print_dry_run(&self, selected: &[bool]) {
        let count = selected.iter().filter(|s| **s).count();
        println!("cargo xtask {} — dry run: {count} of {} steps, nothing is run", self.invocation, self.steps.len());
        for line in &self.preface {
            println!("{line}");
        }
        for (i, step) in self.steps.iter().enumerate() {
            let skipped = if selected[i] { "" } else { "  (skipped)" };
            println!("\n[{}/{}] {} — {}{skipped}", i + 1, self.steps.len(), step.name, step.about);
            if !selected[i] {
                continue;
            }
            if let Some(note) = &step.note {
                println!("    # {}", rel(&self.root, &redact::apply(note)));
            }
            let (mut last_cwd, mut last_env) = (None, String::new());
            for cmd in &step.commands {
                let cwd = cmd.cwd_display(&self.root);
                if cwd.is_some() && cwd != last_cwd {
                    println!("    (in {})", cwd.clone().unwrap_or_default());
                    last_cwd = cwd;
                }
                let env = cmd.env_display(&self.root);
                if !env.is_empty() && env != last_env {
                    println!("    (env {env})");
                    last_env = env;
                }
                println!("    $ {}", cmd.display_without_env(&self.root));
            }
        }
    }
}
