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
mod checks;
mod clock;
mod cluster;
mod config;
mod context;
mod contracts;
mod cost;
mod crds;
mod digest;
mod drift;
mod edge;
mod emulator;
mod env_files;
mod finding;
mod github;
mod gitops;
mod k8s;
mod lifecycle;
mod mesh;
mod offhours;
mod plans;
mod preflight;
mod rds;
mod recovery;
mod releases;
mod sizing;
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
    let ctx = context::Context::new(cli.config.clone(), cli::Overrides::from_env());
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
