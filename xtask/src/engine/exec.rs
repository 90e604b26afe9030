//! Running one tool for a step: its own process group, output teed to the step log (and the terminal
//! when streaming), signals forwarded once, a heartbeat on plain output, the exit status checked.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use indicatif::ProgressBar;

use super::hooks;
use super::signals::{interrupts_received, signal_group, signals_received};
use super::ui::human;
use super::{Cmd, Mode, StepCtx};

/// Starts a process, and again while its executable is busy. A file just written is "text busy"
/// (ETXTBSY) while a child that another thread forked before the writer closed it has not yet exec'd
/// (the fd is close-on-exec): `tools install` writing a binary beside other installs, a test suite
/// writing a stand-in while it starts other processes. The window is that fork-to-exec gap, so a few
/// short waits see it closed.
pub fn start_when_not_busy<T>(mut start: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut waited = 0;
    loop {
        match start() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && waited < 40 => {
                waited += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// What a quick query printed and how it ended.
pub struct Probe {
    pub success: bool,
    pub stdout: String,
}
use crate::error::{not_found, usage, Forced, Interrupted};
use crate::redact;

/// Where a running tool's lines go: the step log always, the terminal when streaming.
pub(super) struct Sink {
    pub(super) log: File,
    pub(super) echo: bool,
    pub(super) bar: Option<ProgressBar>,
    pub(super) tail: Vec<String>,
}

const TAIL_LINES: usize = 40;

impl Sink {
    pub(super) fn line(&mut self, line: &str) {
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

impl StepCtx {
    pub(super) fn exec(&mut self, cmd: &Cmd, capture: bool) -> Result<Finished> {
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
        let handle = start_when_not_busy(|| expr.start()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                usage(not_found(&cmd.program))
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
        let (seen, seen_interrupts) = (signals_received(), interrupts_received());
        // Asked to stop (the first SIGINT or SIGTERM: one SIGINT forwarded), and forced (a second SIGINT).
        let (mut asked, mut forced, mut told) = (false, false, 0);
        let started = Instant::now();
        let mut next_heartbeat = Duration::from_secs(30);
        let output = loop {
            if let Some(output) = handle.try_wait().with_context(|| format!("waiting for `{}`", cmd.program))? {
                break output.clone();
            }
            // The domain says the tool can't go on (the emulator under it died): end it, say so.
            if let Some(abort) = hooks::get().abort() {
                if let Some(pid) = pid {
                    signal_group(pid, libc::SIGKILL);
                }
                let _ = handle.wait();
                self.log(format!("xtask: {abort}"));
                return Err(abort);
            }
            let pending = signals_received() - seen;
            if let (Some(pid), true) = (pid, pending > told) {
                let first = !asked;
                if first {
                    signal_group(pid, libc::SIGINT);
                    asked = true;
                    self.log(format!(
                        "xtask: interrupt sent to `{}`; waiting for it to shut down cleanly (interrupt again to force)",
                        cmd.program
                    ));
                }
                if interrupts_received() - seen_interrupts >= 2 && !forced {
                    signal_group(pid, libc::SIGKILL);
                    forced = true;
                    self.log(format!("xtask: `{}` killed", cmd.program));
                } else if !first && !forced {
                    self.log(format!(
                        "xtask: asked to stop again (SIGTERM): the same shutdown, still waiting for `{}` (a second Ctrl-C forces)",
                        cmd.program
                    ));
                }
                told = pending;
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
        if asked && !output.status.success() {
            if forced {
                // Said truthfully: the second interrupt killed the tool before its own shutdown.
                return Err(anyhow::Error::new(Interrupted).context(Forced(cmd.program.clone())));
            }
            return Err(anyhow::Error::new(Interrupted).context(format!("`{}` was interrupted", cmd.program)));
        }
        Ok(Finished { status: output.status, stdout: String::from_utf8_lossy(&output.stdout).into_owned(), lines })
    }
}

/// A tool that ran to its end.
pub(super) struct Finished {
    pub(super) status: std::process::ExitStatus,
    pub(super) stdout: String,
    /// What it wrote to stderr (or stdout+stderr when not captured), redacted.
    pub(super) lines: Vec<String>,
}

impl Finished {
    pub(super) fn check(self, cmd: &Cmd, root: &Path) -> Result<String> {
        if self.status.success() {
            return Ok(self.stdout);
        }
        let how = match self.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".to_string(),
        };
        Err(hooks::get().explain(cmd, root, &self.lines, &how))
    }
}

impl Cmd {
    /// Runs a quick query (a version, an identity) outside any pipeline, with a time limit; `None` when
    /// it could not start or did not answer in time (it is killed then). With `merge`, its stderr is
    /// part of `stdout`; otherwise stderr is discarded.
    pub fn probe(&self, limit: Duration, merge: bool) -> Option<Probe> {
        let expr = duct::cmd(self.resolved(), &self.args).stdin_null().unchecked();
        // duct applies the outermost redirection first: to merge, stderr joins stdout *after* stdout is
        // captured (`stdout_capture().stderr_to_stdout()` would send stderr to the terminal).
        let mut expr =
            if merge { expr.stderr_to_stdout().stdout_capture() } else { expr.stdout_capture().stderr_capture() };
        if let Some(dir) = &self.cwd {
            expr = expr.dir(dir);
        }
        for (key, value, _) in &self.env {
            expr = expr.env(key, value);
        }
        let handle = start_when_not_busy(|| expr.start()).ok()?;
        match handle.wait_timeout(limit) {
            Ok(Some(out)) => {
                Some(Probe { success: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into_owned() })
            }
            Ok(None) => {
                let _ = handle.kill();
                None
            }
            Err(_) => None,
        }
    }

    /// Starts a background service (the emulator) in its own process group, its output appended to
    /// `log`; the xtask does not wait for it.
    pub fn spawn_background(&self, log: File) -> std::io::Result<std::process::Child> {
        let mut command = std::process::Command::new(self.resolved());
        command.args(&self.args);
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        for (key, value, _) in &self.env {
            command.env(key, value);
        }
        command.stdin(std::process::Stdio::null()).stdout(log.try_clone()?).stderr(log).process_group(0);
        start_when_not_busy(|| command.spawn())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_busy_executable_is_started_again_and_other_errors_are_not() {
        let mut calls = 0;
        let started = super::start_when_not_busy(|| {
            calls += 1;
            if calls < 3 {
                Err(std::io::Error::from_raw_os_error(libc::ETXTBSY))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(started.unwrap(), 3);
        let mut calls = 0;
        let refused = super::start_when_not_busy(|| -> std::io::Result<()> {
            calls += 1;
            Err(std::io::Error::from_raw_os_error(libc::EACCES))
        });
        assert!(refused.is_err());
        assert_eq!(calls, 1, "only a busy executable is tried again");
    }
}
