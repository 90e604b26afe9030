//! `cargo xtask` — the one entry point for everything an operator does with authorworks-infra.
//!
//! `main` parses the command line, dispatches with one `match`, and maps errors to the stable exit codes:
//! 0 success, 1 a step failed, 2 bad usage or configuration, 3 drift found (`drift`), 130 interrupted.

mod cli;
mod commands;
mod engine;
mod error;
mod redact;
mod shell;

mod bindings;
mod bundle;
mod capacity;
mod clock;
mod cluster;
mod config;
mod contracts;
mod cost;
mod crds;
mod drift;
mod edge;
mod emulator;
mod finding;
mod github;
mod k8s;
mod lifecycle;
mod mesh;
mod offhours;
mod plans;
mod preflight;
mod rds;
mod recovery;
mod releases;
mod statelock;
mod steps;
mod target;
mod terraform;
mod tferror;
mod tfplan;
mod tools;
mod tunnel;
mod upgrade;
mod watchdog;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    redact::register_from_env();
    engine::install(Box::new(recovery::Recovery));
    let cli = cli::Cli::parse();
    let result = run(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, already_reported) = error::classify(&err);
            if !already_reported {
                eprintln!("error: {}", redact::apply(&format!("{err:#}")));
            }
            ExitCode::from(code)
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let root = project_root();
    let ctx = Context { root: root.clone(), work: work_dir(&root), config_path: cli.config.clone() };
    use cli::Command::*;
    use commands::*;
    match cli.command {
        Doctor(args) => doctor::run(&ctx, args),
        Tools(args) => tools::run(&ctx, args),
        Emulator(args) => emulator::run(&ctx, args),
        Validate(args) => validate::run(&ctx, args),
        Docs => docs::run(&ctx),
        Bootstrap(args) => bootstrap::run(&ctx, args),
        Plan(args) => plan::run(&ctx, args),
        Deploy(args) => deploy::run(&ctx, args),
        Destroy(args) => destroy::run(&ctx, args),
        Mesh(args) => mesh::run(&ctx, args),
        Backup(args) => backup::run(&ctx, args),
        Restore(args) => restore::run(&ctx, args),
        RestoreDrill(args) => backup::run_drill(&ctx, args),
        Schedule(args) => schedule::run(&ctx, args),
        CostReport(args) => cost_report::run(&ctx, args),
        Unlock(args) => unlock::run(&ctx, args),
        Drift(args) => drift::run(&ctx, args),
        Tunnel(args) => tunnel::run(&ctx, args),
        Promotion(args) => promotion::run(&ctx, args),
        PrComment(args) => pr_comment::run(&ctx, args),
        Upgrade(args) => upgrade::run(&ctx, args),
    }
}

/// What every command gets: where the repository is, where the xtask keeps its own files, and which
/// configuration file to read.
pub struct Context {
    pub root: PathBuf,
    pub work: PathBuf,
    config_path: Option<PathBuf>,
}

impl Context {
    /// The configuration, loaded and validated; any problem is a usage error (exit 2).
    pub fn config(&self) -> anyhow::Result<config::Config> {
        let path = self.config_path.clone().unwrap_or_else(|| self.root.join(config::FILE_NAME));
        config::Config::load(&path)
    }

    /// Where the project installs the tools it can install itself.
    pub fn tools_dir(&self) -> PathBuf {
        std::env::var_os("XTASK_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join(".tools"))
    }
}

/// The repository root: the xtask crate's parent, or `XTASK_ROOT` (tests point it at a scratch copy).
fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository root").to_path_buf()
}

/// The xtask's own files (journal, logs, plans, emulator state): `target/xtask`, or `XTASK_WORK_DIR`.
fn work_dir(root: &Path) -> PathBuf {
    std::env::var_os("XTASK_WORK_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target").join("xtask"))
}

impl engine::Workspace for Context {
    fn root(&self) -> &Path {
        &self.root
    }
    fn work(&self) -> &Path {
        &self.work
    }
}
