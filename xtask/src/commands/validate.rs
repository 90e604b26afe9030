//! `cargo xtask validate`: every check of the infrastructure code (the list is crate::checks), run in
//! parallel, every failure reported (file:line where there is one), exit 1 when any check found a problem.
//! A check whose inputs are unchanged since it last passed is answered from the cache (`--no-cache`: none is).

use anyhow::{bail, Result};

use crate::checks::{checks, run_all, Cache};
use crate::cli::ValidateArgs;
use crate::context::Context;
use crate::engine::{human, Ui};
use crate::plans::Planner;

pub fn run(ctx: &Context, args: ValidateArgs) -> Result<()> {
    // Stops the emulator when done, if making a plan started it.
    let planner = Planner::new(ctx);
    let mut checks = checks(ctx, &planner)?;
    if args.list {
        checks.iter().for_each(|c| println!("{}", c.name));
        return Ok(());
    }
    if !args.only.is_empty() {
        checks.retain(|c| args.only.iter().any(|o| c.name.contains(o.as_str())));
        if checks.is_empty() {
            return Err(crate::error::usage("no check matches --only; `cargo xtask validate --list` shows them"));
        }
    }
    let ui = Ui::detect(false);
    println!("validate: {} checks, in parallel", checks.len());
    let results = run_all(&checks, &Cache::new(ctx, !args.no_cache));

    let (mut failed, mut reused) = (0, 0);
    let (mut all, mut plans, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    for ran in results {
        let (name, took) = (ran.name, human(ran.took));
        let how = if ran.reused { format!("reused, {took}") } else { took };
        reused += usize::from(ran.reused);
        match ran.result {
            Ok(outcome) => {
                plans.extend(outcome.plan.map(|(_, line)| line));
                warnings.extend(outcome.warnings);
                if outcome.findings.is_empty() {
                    println!("  {} {name} ({how})", ui.ok("ok    "));
                } else {
                    failed += 1;
                    println!("  {} {name}: {} problem(s) ({how})", ui.bad("FAILED"), outcome.findings.len());
                    all.extend(outcome.findings.into_iter().map(|f| f.relative_to(&ctx.root)));
                }
            }
            Err(e) => {
                failed += 1;
                println!("  {} {name}: {e:#}", ui.bad("ERROR "));
            }
        }
    }
    drop(checks);
    if !plans.is_empty() {
        println!("emulated plans: {}", plans.join(", "));
    }
    if reused > 0 {
        println!("reused {reused} check(s) whose inputs are unchanged since they passed (`--no-cache` runs them)");
    }
    if !all.is_empty() {
        println!();
        for finding in &all {
            println!("{finding}");
        }
    }
    for warning in warnings {
        println!("{} {}", ui.warn("warning:"), warning.relative_to(&ctx.root));
    }
    for warning in crate::mesh::cached_expiry_warnings(ctx) {
        println!("{} {warning}", ui.warn("warning:"));
    }
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    println!("all checks passed");
    Ok(())
}
