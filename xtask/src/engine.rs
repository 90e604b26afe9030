//! Steps and pipelines: order, dry-run, progress, logs, journal, resume, CI output, signals.
//!
//! A command builds a [`Pipeline`] of named [`Step`]s. Each step carries the exact external commands it
//! runs ([`Cmd`]), so `--dry-run` can print them all without running anything. Running a pipeline writes
//! one log file per step and a journal (`<work>/journal/<pipeline>.json`) after every step, which is what
//! `--resume`, `--from` and `--only` read. Tools run in their own process group: a Ctrl-C or SIGTERM to
//! the xtask reaches a running tool exactly once, as one SIGINT, and the xtask waits for the tool's own
//! shutdown (terraform releases its state lock that way) before it exits 130.

use std::fmt;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::cli::RunArgs;
use crate::redact;

// ---------------------------------------------------------------------------------------------------
// Errors and exit codes

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Bad usage or configuration: exit 2, nothing changed.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// A tool stopped because the xtask was interrupted.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}
impl std::error::Error for Interrupted {}

/// The engine has already told the user what happened; `main` only sets the exit code.
#[derive(Debug)]
struct Reported(u8);

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reported (exit {})", self.0)
    }
}
impl std::error::Error for Reported {}

/// The exit code for an error, and whether it has been reported already.
pub fn classify(err: &anyhow::Error) -> (u8, bool) {
    if let Some(Reported(code)) = err.downcast_ref::<Reported>() {
        return (*code, true);
    }
    if err.chain().any(|e| e.is::<Usage>()) {
        (EXIT_USAGE, false)
    } else if err.chain().any(|e| e.is::<Interrupted>()) {
        (EXIT_INTERRUPTED, false)
    } else {
        (EXIT_FAILED, false)
    }
}

// ---------------------------------------------------------------------------------------------------
// Commands

/// One external command: program, arguments, working directory and the environment that matters.
#[derive(Clone, Debug)]
pub struct Cmd {
    /// What the user reads: the tool's name.
    pub program: String,
    /// What is executed: the resolved path, when the tool was found.
    exe: Option<PathBuf>,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    env: Vec<(String, String, bool)>,
    /// Secret input fed to the tool's stdin (never shown, never logged).
    stdin: Option<Arc<Vec<u8>>>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd { program: program.into(), exe: None, args: Vec::new(), cwd: None, env: Vec::new(), stdin: None }
    }

    /// Runs `exe` while showing `program`.
    pub fn exe(mut self, exe: Option<PathBuf>) -> Cmd {
        self.exe = exe;
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((key.into(), value.into(), false));
        self
    }

    /// Feeds `input` to the tool's standard input; its content is registered as a secret.
    pub fn stdin_secret(mut self, input: String) -> Cmd {
        redact::add(&input);
        self.stdin = Some(Arc::new(input.into_bytes()));
        self
    }

    /// Shows that secret input goes to stdin, for `--dry-run` where the input is not known yet.
    pub fn stdin_placeholder(mut self) -> Cmd {
        self.stdin = Some(Arc::new(Vec::new()));
        self
    }

    /// The command as a shell line (secrets masked), with paths shown relative to `root`.
    pub fn display(&self, root: &Path) -> String {
        let env = self.env_display(root);
        let line = self.display_without_env(root);
        if env.is_empty() {
            line
        } else {
            format!("{env} {line}")
        }
    }

    /// Program and arguments only.
    pub fn display_without_env(&self, root: &Path) -> String {
        let mut words = vec![quote(&self.program)];
        words.extend(self.args.iter().map(|a| quote(&rel(root, a))));
        if self.stdin.is_some() {
            words.push("< (secret values on stdin)".into());
        }
        redact::apply(&words.join(" ")).into_owned()
    }

    /// The environment variables the command sets, as `K=V` words (secrets masked).
    pub fn env_display(&self, root: &Path) -> String {
        let words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v, secret)| if *secret { format!("{k}=***") } else { format!("{k}={}", quote(&rel(root, v))) })
            .collect();
        redact::apply(&words.join(" ")).into_owned()
    }

    /// The program's path: as resolved when the command was built, else looked up on PATH now.
    fn resolved(&self) -> PathBuf {
        self.exe.clone().or_else(|| which::which(&self.program).ok()).unwrap_or_else(|| PathBuf::from(&self.program))
    }

    /// What to execute: the program's path, arguments, working directory and environment.
    pub fn parts(&self) -> (PathBuf, &[String], Option<&PathBuf>, impl Iterator<Item = (&str, &str)>) {
        (self.resolved(), &self.args, self.cwd.as_ref(), self.env.iter().map(|(k, v, _)| (k.as_str(), v.as_str())))
    }

    pub fn cwd_display(&self, root: &Path) -> Option<String> {
        self.cwd.as_ref().map(|d| rel(root, &d.to_string_lossy()))
    }
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        return word.to_string();
    }
    shlex::try_quote(word).map(|q| q.into_owned()).unwrap_or_else(|_| word.to_string())
}

/// Paths under the repository are shown relative to it: shorter, and the same on every machine.
fn rel(root: &Path, text: &str) -> String {
    let prefix = format!("{}/", root.display());
    text.replace(&prefix, "")
}

// ---------------------------------------------------------------------------------------------------
// Signals

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static HANDLERS: Once = Once::new();

/// From now on SIGINT and SIGTERM are counted instead of killing the xtask; running tools get them
/// forwarded by [`StepCtx::run`].
pub fn catch_signals() {
    HANDLERS.call_once(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // SAFETY: the action is one atomic add, which is async-signal-safe.
            let registered = unsafe {
                signal_hook::low_level::register(signal, || {
                    SIGNALS.fetch_add(1, Ordering::SeqCst);
                })
            };
            if let Err(e) = registered {
                eprintln!("warning: cannot catch signal {signal}: {e}");
            }
        }
    });
}

pub fn signals_received() -> usize {
    SIGNALS.load(Ordering::SeqCst)
}

fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the process group the tool leads; no memory involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

// ---------------------------------------------------------------------------------------------------
// Output

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// A terminal: spinners with elapsed time.
    Terminal,
    /// Not a terminal: plain lines.
    Plain,
    /// GitHub Actions: a `::group::` per step, `::error::` annotations, a step summary.
    GitHub,
}

#[derive(Clone)]
pub struct Ui {
    pub mode: Mode,
    color: bool,
    verbose: bool,
}

impl Ui {
    pub fn detect(verbose: bool) -> Ui {
        let mode = if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Mode::GitHub
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Ui { mode, color: mode == Mode::Terminal && color_allowed(), verbose }
    }

    pub fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint(text, "32")
    }

    pub fn bad(&self, text: &str) -> String {
        self.paint(text, "31")
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint(text, "33")
    }
}

/// NO_COLOR (any non-empty value) turns colour off, as <https://no-color.org> asks.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Where a running tool's lines go: the step log always, the terminal when streaming.
struct Sink {
    log: File,
    echo: bool,
    bar: Option<ProgressBar>,
    tail: Vec<String>,
}

const TAIL_LINES: usize = 40;

impl Sink {
    fn line(&mut self, line: &str) {
        let line = redact::apply(line);
        let _ = writeln!(self.log, "{line}");
        if self.echo {
            match &self.bar {
                Some(bar) => bar.println(format!("  {line}")),
                None => println!("  {line}"),
            }
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.remove(0);
        }
        self.tail.push(line.into_owned());
    }
}

// ---------------------------------------------------------------------------------------------------
// Steps

type StepFn<'a> = Box<dyn FnOnce(&mut StepCtx) -> Result<()> + 'a>;

pub struct Step<'a> {
    pub name: String,
    pub about: String,
    /// The commands `--dry-run` shows, in order.
    pub commands: Vec<Cmd>,
    /// What `--dry-run` says besides the commands (a condition, a check done in Rust).
    pub note: Option<String>,
    run: StepFn<'a>,
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
    sink: Arc<Mutex<Sink>>,
    ui: Ui,
    note: Option<String>,
    facts: Vec<String>,
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

    fn exec(&mut self, cmd: &Cmd, capture: bool) -> Result<Finished> {
        self.log(format!("$ {}", cmd.display(&self.root)));
        if let Some(dir) = cmd.cwd_display(&self.root) {
            self.log(format!("  (in {dir})"));
        }
        let exe = cmd.resolved();
        let (reader, writer) = os_pipe::pipe().context("creating a pipe for the tool's output")?;
        let mut expr = duct::cmd(&exe, &cmd.args).unchecked().before_spawn(|c| {
            // Its own process group: a terminal's Ctrl-C reaches only the xtask, which forwards it once.
            c.process_group(0);
            Ok(())
        });
        if let Some(dir) = &cmd.cwd {
            expr = expr.dir(dir);
        }
        for (key, value, _) in &cmd.env {
            expr = expr.env(key, value);
        }
        expr = match &cmd.stdin {
            Some(input) => expr.stdin_bytes(input.as_slice()),
            None => expr.stdin_null(),
        };
        expr = if capture {
            expr.stdout_capture().stderr_file(writer)
        } else {
            expr.stderr_to_stdout().stdout_file(writer)
        };
        let handle = expr.start().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                usage(format!("`{}` not found: run `cargo xtask doctor` to see how to install it", cmd.program))
            } else {
                anyhow!(e).context(format!("starting `{}`", cmd.program))
            }
        })?;
        drop(expr); // closes the xtask's copy of the pipe's write end, so the reader sees EOF

        let sink = Arc::clone(&self.sink);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<String>>();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(reader).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                sink.lock().unwrap_or_else(|e| e.into_inner()).line(&line);
                if lines.len() < 200 {
                    lines.push(redact::apply(&line).into_owned());
                }
            }
            let _ = done_tx.send(lines);
        });

        let pid = handle.pids().first().copied();
        let seen = signals_received();
        let mut forwarded = 0;
        let started = Instant::now();
        let mut next_heartbeat = Duration::from_secs(30);
        let output = loop {
            if let Some(output) = handle.try_wait().with_context(|| format!("waiting for `{}`", cmd.program))? {
                break output.clone();
            }
            // faults: the emulator died under the running tool (watchdog.rs): end the tool, say so.
            if let Some(died) = crate::watchdog::tripped() {
                if let Some(pid) = pid {
                    signal_group(pid, libc::SIGKILL);
                }
                let _ = handle.wait();
                self.log(format!("xtask: {died}"));
                return Err(died.into());
            }
            let pending = signals_received() - seen;
            if pending > forwarded {
                if let Some(pid) = pid {
                    if forwarded == 0 {
                        signal_group(pid, libc::SIGINT);
                        self.log(format!(
                            "xtask: interrupt sent to `{}`; waiting for it to shut down cleanly (interrupt again to force)",
                            cmd.program
                        ));
                    } else {
                        signal_group(pid, libc::SIGKILL);
                        self.log(format!("xtask: `{}` killed", cmd.program));
                    }
                }
                forwarded = pending;
            }
            if self.ui.mode != Mode::Terminal && !self.ui.verbose && started.elapsed() >= next_heartbeat {
                println!("    … still running `{}` ({})", cmd.program, human(started.elapsed()));
                next_heartbeat += Duration::from_secs(30);
            }
            std::thread::sleep(Duration::from_millis(40));
        };
        // The rest of the output, unless something the tool left behind keeps the pipe open.
        let lines = done_rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();

        // A tool that finished its work despite the interrupt has done its step; the pipeline stops
        // before the next one. One that stopped short was interrupted.
        if forwarded > 0 && !output.status.success() {
            if forwarded > 1 {
                // faults: say truthfully that the tool was killed (recovery.rs).
                return Err(anyhow::Error::new(Interrupted).context(crate::recovery::Forced(cmd.program.clone())));
            }
            return Err(anyhow::Error::new(Interrupted).context(format!("`{}` was interrupted", cmd.program)));
        }
        Ok(Finished { status: output.status, stdout: String::from_utf8_lossy(&output.stdout).into_owned(), lines })
    }
}

/// A tool that ran to its end.
struct Finished {
    status: std::process::ExitStatus,
    stdout: String,
    /// What it wrote to stderr (or stdout+stderr when not captured), redacted.
    lines: Vec<String>,
}

impl Finished {
    fn check(self, cmd: &Cmd, root: &Path) -> Result<String> {
        if self.status.success() {
            return Ok(self.stdout);
        }
        let how = match self.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_string(),
        };
        // faults: the tool's own error (terraform's `Error:` at the repository's file:line), not the command line.
        Err(crate::tferror::explain(cmd, root, &self.lines, &how))
    }
}

// ---------------------------------------------------------------------------------------------------
// Journal

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Done,
    Skipped,
    Failed,
    Interrupted,
}

#[derive(Serialize, Deserialize, Debug)]
struct Journal {
    pipeline: String,
    steps: Vec<JournalStep>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct JournalStep {
    name: String,
    status: Status,
    seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

// ---------------------------------------------------------------------------------------------------
// Pipelines

pub struct Pipeline<'a> {
    /// What the user typed after `cargo xtask`, e.g. `deploy local`.
    invocation: String,
    steps: Vec<Step<'a>>,
    root: PathBuf,
    work: PathBuf,
    /// Said before the steps run (e.g. what `local` leaves out).
    preface: Vec<String>,
}

impl<'a> Pipeline<'a> {
    pub fn new(ctx: &crate::Context, invocation: impl Into<String>) -> Pipeline<'a> {
        Pipeline {
            invocation: invocation.into(),
            steps: Vec::new(),
            root: ctx.root.clone(),
            work: ctx.work.clone(),
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
            // faults: a resume inside the plan phase plans again from `init` (recovery.rs).
            if let Some(why) = crate::recovery::replan(&names, &mut resume) {
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

        // faults: one pipeline per environment (runlock.rs); every run's logs its own.
        let _run_lock = crate::runlock::acquire(&self.work, &self.invocation)?;
        let logs = self.work.join("logs").join(self.id());
        crate::runlock::fresh_log_dir(&logs)?;
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
                eprintln!("{}", crate::recovery::advice(None, &invocation));
                Err(anyhow::Error::new(Reported(EXIT_INTERRUPTED)))
            }
            Err(e) if e.chain().any(|c| c.is::<Usage>()) => Err(anyhow::Error::new(Reported(EXIT_USAGE))),
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

fn save_journal(journal: &Journal, work: &Path, invocation: &str) -> Result<()> {
    let path = work.join("journal").join(format!("{}.json", invocation.replace(' ', "-")));
    let text = serde_json::to_string_pretty(journal).context("serialising the journal")?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

fn start_step(ui: &Ui, label: &str, about: &str) -> Option<ProgressBar> {
    match ui.mode {
        Mode::Terminal => {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(format!("{label}: {about}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        }
        Mode::Plain => {
            println!("==> {label}: {about}");
            None
        }
        Mode::GitHub => {
            println!("::group::{label}: {about}");
            None
        }
    }
}

fn finish_step(ui: &Ui, bar: Option<ProgressBar>, label: &str, status: Status, elapsed: Duration, note: Option<&str>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if ui.mode == Mode::GitHub {
        println!("::endgroup::");
    }
    let note = note.map(|n| format!(" — {}", redact::apply(n))).unwrap_or_default();
    let took = human(elapsed);
    match (ui.mode, status) {
        (Mode::Terminal, Status::Done) => println!("{} {label} ({took}){note}", ui.ok("✓")),
        (Mode::Terminal, _) => println!("{} {label} ({took}){note}", ui.bad("✗")),
        (_, Status::Done) => println!("    ok {label} ({took}){note}"),
        (_, Status::Interrupted) => println!("    INTERRUPTED {label} ({took})"),
        (_, _) => println!("    FAILED {label} ({took}){note}"),
    }
}

fn report_failure(
    ui: &Ui,
    step: &str,
    err: &anyhow::Error,
    status: Status,
    tail: &[String],
    log: &Path,
    invocation: &str,
) {
    let message = redact::apply(&format!("{err:#}")).into_owned();
    if status == Status::Interrupted {
        eprintln!("{}", crate::recovery::interrupted_line(step, err));
        for note in crate::recovery::take_notes() {
            eprintln!("{}", redact::apply(&note));
        }
        return;
    }
    if ui.mode == Mode::GitHub {
        let first = message.lines().next().unwrap_or_default();
        println!("::error title=step {step} failed::{first}");
    }
    if !tail.is_empty() && ui.mode != Mode::GitHub && !ui.verbose {
        eprintln!("--- last {} lines of {} ---", tail.len(), log.display());
        for line in tail {
            eprintln!("{line}");
        }
        eprintln!("---");
    }
    for note in crate::recovery::take_notes() {
        eprintln!("{}", redact::apply(&note));
    }
    eprintln!("Full log: {}", log.display());
    eprintln!("Fix the cause. {}", crate::recovery::advice(Some(err), invocation));
    eprintln!("{} step `{step}` failed: {message}", ui.bad("error:"));
}

fn print_table(ui: &Ui, journal: &Journal, facts: &[String]) {
    let width = journal.steps.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    println!("\n{:width$}  {:11}  {:>8}", "step", "status", "time");
    for s in &journal.steps {
        let status = format!("{:?}", s.status).to_lowercase();
        let status = match s.status {
            Status::Done => ui.ok(&format!("{status:11}")),
            Status::Failed | Status::Interrupted => ui.bad(&format!("{status:11}")),
            _ => format!("{status:11}"),
        };
        let time = if s.seconds > 0.0 { human(Duration::from_secs_f64(s.seconds)) } else { "-".into() };
        println!("{:width$}  {status}  {time:>8}", s.name);
    }
    let total: f64 = journal.steps.iter().map(|s| s.seconds).sum();
    println!("{:width$}  {:11}  {:>8}", "total", "", human(Duration::from_secs_f64(total)));
    for fact in facts {
        println!("{}", redact::apply(fact));
    }
}

fn write_github_summary(ui: &Ui, journal: &Journal, facts: &[String]) {
    if ui.mode != Mode::GitHub {
        return;
    }
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else { return };
    let mut md =
        format!("### cargo xtask {}\n\n| step | status | time | note |\n|---|---|---:|---|\n", journal.pipeline);
    for s in &journal.steps {
        let time = if s.seconds > 0.0 { human(Duration::from_secs_f64(s.seconds)) } else { "-".into() };
        let status = format!("{:?}", s.status).to_lowercase();
        md.push_str(&format!("| {} | {status} | {time} | {} |\n", s.name, s.note.as_deref().unwrap_or("")));
    }
    for fact in facts {
        md.push_str(&format!("\n{fact}\n"));
    }
    let md = redact::apply(&md).into_owned();
    let written =
        fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| f.write_all(md.as_bytes()));
    if let Err(e) = written {
        eprintln!("warning: cannot append to GITHUB_STEP_SUMMARY ({}): {e}", PathBuf::from(path).display());
    }
}

/// `850ms`, `12.3s`, `4m05s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_masks() {
        let root = Path::new("/repo");
        let cmd = Cmd::new("terraform")
            .args(["plan", "-out=/repo/target/x.tfplan", "-var", "name=a b"])
            .env("TF_IN_AUTOMATION", "1");
        assert_eq!(cmd.display(root), "TF_IN_AUTOMATION=1 terraform plan -out=target/x.tfplan -var 'name=a b'");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_secs_f64(12.34)), "12.3s");
        assert_eq!(human(Duration::from_secs(245)), "4m05s");
    }

    #[test]
    fn classify_maps_exit_codes() {
        assert_eq!(classify(&usage("bad")), (EXIT_USAGE, false));
        assert_eq!(classify(&anyhow::Error::new(Interrupted).context("x")), (EXIT_INTERRUPTED, false));
        assert_eq!(classify(&anyhow!("boom")), (EXIT_FAILED, false));
        assert_eq!(classify(&anyhow::Error::new(Reported(EXIT_FAILED))), (EXIT_FAILED, true));
    }
}
