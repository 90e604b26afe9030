//! `cargo xtask drift <env>`: a refresh-only plan of the environment, read for what changed outside
//! terraform (`drift.rs`). Exit 0 in sync, 3 drift found, 1 a step failed, 2 bad usage. Under GitHub
//! Actions the report goes into the job summary with an annotation.

use std::cell::RefCell;

use anyhow::Result;

use crate::cli::EnvRunArgs;
use crate::drift::Report;
use crate::engine::{Mode, Pipeline, Ui};
use crate::error::{Reported, EXIT_DRIFT};
use crate::target::Target;
use crate::{context::Context, drift, github, preflight, steps};

pub fn run(ctx: &Context, args: EnvRunArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    preflight::check(ctx, &target, Default::default(), &args.run)?;
    let found: RefCell<Option<Report>> = RefCell::new(None);
    {
        let mut pipeline = Pipeline::new(ctx, format!("drift {}", target.env.name), target.env.name.as_str());
        steps::announce_omissions(&target, &mut pipeline);
        steps::ready_steps(ctx, &target, &mut pipeline);
        pipeline.step(steps::init_step(ctx, &target));
        pipeline.step(drift::step(ctx, &target, &found));
        pipeline.run(&args.run)?;
    }
    let Some(report) = found.into_inner() else { return Ok(()) };
    println!("\n{}", report.text());
    if Ui::detect(false).mode == Mode::GitHub {
        publish(&report)?;
    }
    if report.in_sync() {
        return Ok(());
    }
    eprintln!(
        "drift found in `{}`: {} resource(s) differ from the state (exit {EXIT_DRIFT}); report: {}",
        target.env.name,
        report.drifted.len(),
        target.file("drift.md").display()
    );
    Err(anyhow::Error::new(Reported(EXIT_DRIFT)))
}

/// GitHub Actions: the report appended to the job summary, and an annotation when something drifted.
fn publish(report: &Report) -> Result<()> {
    github::append_step_summary(&report.markdown())?;
    if !report.in_sync() {
        let names: Vec<&str> = report.drifted.iter().map(|d| d.address.as_str()).collect();
        println!("::error title=Drift in {}::{}: {}", report.env, report.line(), names.join(", "));
    }
    Ok(())
}
