//! What the user sees: the output mode (terminal, plain, GitHub Actions), colour, a step's start and
//! end lines, the failure report, the closing table and the GitHub step summary.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::hooks;
use super::journal::{Journal, Status};
use crate::error::Forced;
use crate::redact;

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
    pub(super) verbose: bool,
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
fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(super) fn start_step(ui: &Ui, label: &str, about: &str) -> Option<ProgressBar> {
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

pub(super) fn finish_step(
    ui: &Ui,
    bar: Option<ProgressBar>,
    label: &str,
    status: Status,
    elapsed: Duration,
    note: Option<&str>,
) {
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

pub(super) fn report_failure(
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
        match err.downcast_ref::<Forced>() {
            Some(f) => eprintln!(
                "Step `{step}` was interrupted twice: {f}; it may have left its state lock and half-made resources behind."
            ),
            None => eprintln!("Step `{step}` was interrupted; the tool finished its own shutdown first."),
        }
        for note in hooks::take_notes() {
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
    for note in hooks::take_notes() {
        eprintln!("{}", redact::apply(&note));
    }
    eprintln!("Full log: {}", log.display());
    eprintln!("Fix the cause. {}", hooks::get().advice(Some(err), invocation));
    // Last, so the final `error:` line names the cause.
    eprintln!("{} step `{step}` failed: {message}", ui.bad("error:"));
}

pub(super) fn print_table(ui: &Ui, journal: &Journal, facts: &[String]) {
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

pub(super) fn write_github_summary(ui: &Ui, journal: &Journal, facts: &[String]) {
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
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_secs_f64(12.34)), "12.3s");
        assert_eq!(human(Duration::from_secs(245)), "4m05s");
    }
}
