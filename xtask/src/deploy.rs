//! `cargo xtask deploy <env>`: preflight → state backend → init → validate → plan → the destroy gate →
//! the cost gate → confirmation (protected environments) → apply exactly the saved plan → record the outputs.

use std::io::IsTerminal;

use anyhow::{bail, Context as _, Result};

use crate::cli::DeployArgs;
use crate::engine::{usage, Pipeline, Step};
use crate::terraform::{PlanSummary, Target, DATA_RESOURCES};
use crate::{bootstrap, cluster, cost, plan, Context};

pub fn run(ctx: &Context, args: DeployArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    crate::preflight::check(ctx, &target, crate::preflight::deploy(&target, args.yes), &args.run)?; // faults
    let mut pipeline = Pipeline::new(ctx, format!("deploy {}", target.env.name));
    plan::announce_omissions(ctx, &target, &mut pipeline);
    bootstrap::ready_steps(ctx, &target, &mut pipeline);
    pipeline.step(bootstrap::state_backend_step(ctx, &target));
    plan::plan_steps(ctx, &target, &mut pipeline);
    pipeline.step(gate_step(&target, args.allow_destroy));
    pipeline.step(cost_step(ctx, &target, args.no_cost_gate));
    if target.env.protected && !args.yes {
        pipeline.step(confirm_step(&target));
    }
    apply_steps(ctx, &target, &mut pipeline);
    pipeline.step(outputs_step(ctx, &target));
    cluster::deploy_steps(ctx, &target, &mut pipeline)?;
    pipeline.run(&args.run)
}

/// Protected environments: no deleting or replacing data resources unless `--allow-destroy`.
fn gate_step(target: &Target, allow_destroy: bool) -> Step<'_> {
    let about = if target.env.protected {
        "Refuse a plan that deletes or replaces data resources (protected environment)"
    } else {
        "Report what the plan deletes (not protected: allowed)"
    };
    Step::new("gate", about, vec![], move |c| {
        let json = std::fs::read_to_string(target.plan_json()).with_context(|| format!("reading {}", target.plan_json().display()))?;
        let summary = PlanSummary::from_json(&json)?;
        let data: Vec<String> = summary
            .deletions
            .iter()
            .filter(|(_, kind, _)| DATA_RESOURCES.contains(&kind.as_str()))
            .map(|(address, _, actions)| format!("{address} ({actions})"))
            .collect();
        for d in &data {
            c.log(format!("data resource deleted or replaced: {d}"));
        }
        if target.env.protected && !data.is_empty() && !allow_destroy {
            bail!(
                "refusing to apply: the plan deletes or replaces {} data resource(s) in protected `{}`: {}. Nothing was applied; if this is intended, run again with --allow-destroy",
                data.len(),
                target.env.name,
                data.join(", ")
            );
        }
        c.note(match (data.len(), allow_destroy) {
            (0, _) => "no data resource deleted".to_string(),
            (n, true) => format!("{n} data resource(s) deleted: allowed by --allow-destroy"),
            (n, false) => format!("{n} data resource(s) deleted: allowed, `{}` is not protected", target.env.name),
        });
        Ok(())
    })
    .note(format!("data resource types: {}", DATA_RESOURCES.join(", ")))
}

/// The plan priced against the environment's budget (`cargo xtask cost-report` on the saved plan).
fn cost_step<'a>(ctx: &'a Context, target: &'a Target, no_cost_gate: bool) -> Step<'a> {
    let about = if no_cost_gate {
        "Price the plan against the budget (reported only: --no-cost-gate)"
    } else {
        "Price the plan against the budget: refuse an estimate over it, or one with unpriced resources"
    };
    Step::new("cost", about, vec![], move |c| {
        let priced = cost::price(ctx, &target.env, &target.plan_json())?;
        c.fact(format!("cost: {}", priced.line()));
        c.note(priced.line());
        if !no_cost_gate {
            cost::gate(&target.env.name, &priced, "--no-cost-gate to apply anyway").map_err(|e| {
                anyhow::anyhow!(
                    "{e:#}. Nothing was applied; `cargo xtask cost-report {}` itemises the estimate",
                    target.env.name
                )
            })?;
        }
        Ok(())
    })
    .note(format!("prices: {}, usage: {}, budget: monthly_budget_usd", cost::PRICES, cost::USAGE))
}

/// A person types the environment's name back before a protected environment changes.
fn confirm_step(target: &Target) -> Step<'_> {
    Step::new("confirm", format!("Confirm the plan for protected `{}`", target.env.name), vec![], move |c| {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "`{}` is protected: confirm at a terminal, or pass --yes (CI)",
                target.env.name
            )));
        }
        let json = std::fs::read_to_string(target.plan_json())?;
        let summary = PlanSummary::from_json(&json)?;
        let answer =
            c.ask(&format!("Plan for {}: {}. Type `{}` to apply:", target.env.name, summary.line(), target.env.name))?;
        if answer != target.env.name {
            return Err(usage(format!("not confirmed (typed `{answer}`): nothing applied")));
        }
        c.note("confirmed");
        Ok(())
    })
    .note("skipped with --yes")
}

/// Apply exactly the saved plan, then record the outputs for the steps that follow.
pub fn apply_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    let shown = target.shown_endpoint(ctx);
    let apply = move |endpoint: Option<&str>| -> Result<crate::engine::Cmd> {
        Ok(target
            .terraform(ctx, endpoint)?
            .cmd(["apply", "-input=false", "-no-color"])
            .arg(target.plan_file().to_string_lossy()))
    };
    pipeline.step(
        Step::new("apply", "Apply exactly the saved plan", apply(shown.as_deref()).into_iter().collect(), move |c| {
            let json = std::fs::read_to_string(target.plan_json())
                .with_context(|| format!("reading {}", target.plan_json().display()))?;
            if !PlanSummary::from_json(&json)?.applyable {
                c.note("no changes: nothing to apply");
                return Ok(());
            }
            let endpoint = plan::endpoint_for(ctx, target)?;
            let result = c.run(&apply(endpoint.as_deref())?);
            // faults: after a forced interrupt, the lock left; after any stop short, tainted resources.
            crate::statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, true)
        })
        .note("skipped when the plan changes nothing; terraform refuses a plan made stale by a later state change"),
    );
}

/// `terraform output -json`, recorded for the steps after it (kubeconfig, releases).
pub fn outputs_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let output = move |endpoint: Option<&str>| -> Result<crate::engine::Cmd> {
        Ok(target.terraform(ctx, endpoint)?.cmd(["output", "-json", "-no-color"]))
    };
    Step::new(
        "outputs",
        "Record the terraform outputs for the steps after it",
        output(shown.as_deref()).into_iter().collect(),
        move |c| {
            let endpoint = plan::endpoint_for(ctx, target)?;
            let json = c.output(&output(endpoint.as_deref())?)?;
            let path = target.outputs_file();
            target.ensure_dirs()?;
            std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
            let count = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.len()))
                .unwrap_or(0);
            c.note(format!("{count} outputs in {}", path.display()));
            Ok(())
        },
    )
    .note(format!("writes {}", target.outputs_file().display()))
}
