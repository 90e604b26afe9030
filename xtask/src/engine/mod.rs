//! The engine: steps and pipelines — order, dry-run, exec (process group, log tee, signals), UI
//! (progress, table, GitHub output) and the run journal (resume/from/only).
//!
//! A command builds a [`Pipeline`] of named [`Step`]s. Each step carries the exact external commands it
//! runs ([`Cmd`]), so `--dry-run` can print them all without running anything. Running a pipeline writes
//! one log file per step and a journal (`<work>/journal/<pipeline>.json`) after every step, which is what
//! `--resume`, `--from` and `--only` read. Tools run in their own process group: a Ctrl-C or SIGTERM to
//! the xtask reaches a running tool exactly once, as one SIGINT, and the xtask waits for the tool's own
//! shutdown (terraform releases its state lock that way) before it exits 130.
//!
//! The engine knows no AWS, no command and no CLI type but the [`RunArgs`] it owns: it uses only
//! `crate::error` and `crate::redact` besides its own submodules.

mod cmd;
mod exec;
mod hooks;
mod journal;
mod pipeline;
pub mod runlock;
mod signals;
mod step;
mod ui;

pub use cmd::{quote, Cmd};
pub use exec::start_when_not_busy;
pub use hooks::{install, say, Hooks};
pub use pipeline::{Pipeline, RunArgs, Workspace};
pub use signals::{alive, signal_group};
pub use step::{Step, StepCtx};
pub use ui::{human, Mode, Ui};
