//! `cargo xtask validate`: every check of the infrastructure code (the list is crate::checks), run in
//! parallel, every failure reported (file:line where there is one), exit 1 when any check found a problem.

use anyhow::{bail, Result};

use crate::checks::{checks, run_all, PlanLines, Warnings};
use crate::cli::ValidateArgs;
use crate::context::Context;
use crate::engine::{human, Ui};

pub fn run(ctx: &Context, args: ValidateArgs) -> Result<()> {
    let plans = PlanLines::default();
    let warnings = Warnings::default();
    let mut checks = checks(ctx, &plans, &warnings)?;
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
    let results = run_all(&checks);

    crate::plans::stop_emulator_if_started(ctx);
    let mut failed = 0;
    let mut all = Vec::new();
    for (name, result, took) in results {
        match result {
            Ok(findings) if findings.is_empty() => println!("  {} {name} ({})", ui.ok("ok    "), human(took)),
            Ok(findings) => {
                failed += 1;
                println!("  {} {name}: {} problem(s) ({})", ui.bad("FAILED"), findings.len(), human(took));
                all.extend(findings.into_iter().map(|f| f.relative_to(&ctx.root)));
            }
            Err(e) => {
                failed += 1;
                println!("  {} {name}: {e:#}", ui.bad("ERROR "));
            }
        }
    }
    drop(checks);
    let plans = plans.into_inner().unwrap_or_else(|e| e.into_inner());
    if !plans.is_empty() {
        println!("emulated plans: {}", plans.join(", "));
    }
    if !all.is_empty() {
        println!();
        for finding in &all {
            println!("{finding}");
        }
    }
    for warning in warnings.into_inner().unwrap_or_else(|e| e.into_inner()) {
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
