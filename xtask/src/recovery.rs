//! What a run says and does when it did not finish, in the domain's words — the engine's [`Hooks`]:
//! which steps a `--resume` must run again (the plan phase plans again), the one line of advice that
//! gets the user going again — always a command that exists (parsed with the real command line before
//! it is printed) — a failed tool's error in one line (terraform's own, [`crate::tferror`]), and the
//! emulator's watchdog ([`crate::watchdog`]) that ends a tool whose emulator died. Lines about what a
//! run left behind (state locks, tainted resources) are queued with [`crate::engine::say`].

use std::path::Path;

use clap::Parser as _;

use crate::engine::{quote, Cmd, Hooks};
use crate::error::RunAgain;

/// The hooks `main` installs into the engine.
pub struct Recovery;

impl Hooks for Recovery {
    fn abort(&self) -> Option<anyhow::Error> {
        crate::watchdog::tripped().map(anyhow::Error::new)
    }
    fn explain(&self, cmd: &Cmd, root: &Path, lines: &[String], how: &str) -> anyhow::Error {
        crate::tferror::explain(cmd, root, lines, how)
    }
    fn replan(&self, names: &[&str], selected: &mut [bool]) -> Option<String> {
        replan(names, selected)
    }
    fn advice(&self, err: Option<&anyhow::Error>, invocation: &str) -> String {
        advice(err, invocation)
    }
}

/// The tool was killed by a second interrupt (see [`crate::error::Forced`]).
pub fn forced(err: &anyhow::Error) -> bool {
    err.downcast_ref::<crate::error::Forced>().is_some()
}

pub fn run_again(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<RunAgain>())
}

/// The steps of a terraform plan phase: resuming at any of them must plan again from `init`.
const PLAN_PHASE: &[&str] = &["validate", "plan", "plan-check", "gate", "cost", "confirm", "apply"];

/// `--resume` after a failure inside the plan phase starts again at `init`: `init` refreshes the
/// scratch copy of terraform/ (so a fix to the code is what runs), and an interrupted or failed apply
/// has changed the state, so the saved plan is stale — the new plan goes through the gates and the
/// confirmation again. Returns what to tell the user when the selection was widened.
pub fn replan(names: &[&str], selected: &mut [bool]) -> Option<String> {
    let init = names.iter().position(|n| *n == "init")?;
    let first = selected.iter().position(|s| *s)?;
    if first <= init || !PLAN_PHASE.contains(&names[first]) {
        return None;
    }
    for s in selected.iter_mut().skip(init) {
        *s = true;
    }
    // `deploy --plan` makes no plan: its saved plan is checked again, and refused once the state moved.
    if !names.contains(&"plan") {
        return Some(format!(
            "Resuming from `init` (the last run stopped at `{}`): the saved plan is checked against the state again; \
             once an apply changed the state it is stale, and is refused.",
            names[first]
        ));
    }
    Some(if names[first] == "apply" {
        "Resuming from `init`, not `apply`: the interrupted or failed apply changed the state, so its saved plan \
         is stale; planning again (the gates and the confirmation included)."
            .to_string()
    } else {
        format!(
            "Resuming from `init` (the last run stopped at `{}`): the scratch copy of terraform/ is refreshed and planned again.",
            names[first]
        )
    })
}

/// The command line the user ran, without the flags that choose steps: what "run again" means.
fn typed_words() -> Vec<String> {
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--resume" | "--dry-run" => {}
            "--from" | "--only" => {
                args.next();
            }
            _ if a.starts_with("--from=") || a.starts_with("--only=") => {}
            _ => words.push(a),
        }
    }
    words
}

/// Whether `cargo xtask <words>` parses with the real command line.
pub fn parses(words: &[String]) -> bool {
    crate::cli::Cli::try_parse_from(std::iter::once("cargo xtask".to_string()).chain(words.iter().cloned())).is_ok()
}

fn quoted(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// `Resume with: cargo xtask … --resume` where the command takes `--resume` and the step can be
/// resumed, else `Run again: cargo xtask …`.
pub fn advice(err: Option<&anyhow::Error>, invocation: &str) -> String {
    if let Some(r) = err.and_then(|e| e.chain().find_map(|c| c.downcast_ref::<crate::error::Refused>())) {
        return r.advice.clone();
    }
    let mut words = typed_words();
    if words.is_empty() || !parses(&words) {
        words = invocation.split_whitespace().map(str::to_string).collect();
    }
    let mut resumed = words.clone();
    resumed.push("--resume".into());
    if err.is_some_and(run_again) || !parses(&resumed) {
        return format!("Run again: cargo xtask {}", quoted(&words));
    }
    format!("Resume with: cargo xtask {}", quoted(&resumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_inside_the_plan_phase_plans_again_from_init() {
        let names = ["preflight", "state-backend", "init", "validate", "plan", "gate", "cost", "apply", "outputs"];
        let mut sel = [false, false, false, false, false, false, false, true, true];
        assert!(replan(&names, &mut sel).unwrap().contains("stale"));
        assert_eq!(sel, [false, false, true, true, true, true, true, true, true]);

        let mut sel = [false, false, false, false, false, false, false, false, true];
        assert_eq!(replan(&names, &mut sel), None, "after apply, resume where it stopped");

        let mut sel = [false, false, true, true, true, true, true, true, true];
        assert_eq!(replan(&names, &mut sel), None);
    }

    #[test]
    fn advice_is_a_command_that_exists() {
        assert!(parses(&["deploy".into(), "local".into(), "--resume".into()]));
        assert!(!parses(&["emulator".into(), "start".into(), "--resume".into()]));
        assert_eq!(advice(None, "emulator start"), "Run again: cargo xtask emulator start");
    }
}
