//! `cargo xtask deploy <env>`: preflight → state backend → init → validate → plan → the destroy gate (and
//! a plan that moves the cluster's Kubernetes version: `upgrade`'s) →
//! the cost gate → confirmation (protected environments) → apply exactly the saved plan → record the outputs.

use std::io::IsTerminal;

use anyhow::{bail, Context as _, Result};

use crate::cli::DeployArgs;
use crate::engine::{Pipeline, Step};
use crate::error::usage;
use crate::target::{PlanSummary, Target, DATA_RESOURCES};
use crate::{cluster, cost, preflight, steps, Context};

pub fn run(ctx: &Context, args: DeployArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    preflight::check(ctx, &target, preflight::deploy(&target, args.yes), &args.run)?;
    let mut pipeline = Pipeline::new(ctx, format!("deploy {}", target.env.name));
    steps::announce_omissions(ctx, &target, &mut pipeline);
    steps::ready_steps(ctx, &target, &mut pipeline);
    pipeline.step(steps::state_backend_step(ctx, &target));
    steps::plan_steps(ctx, &target, &mut pipeline);
    pipeline.step(gate_step(&target, args.allow_destroy));
    pipeline.step(cost_step(ctx, &target, args.no_cost_gate));
    if target.env.protected && !args.yes {
        pipeline.step(confirm_step(&target));
    }
    steps::apply_steps(ctx, &target, &mut pipeline);
    pipeline.step(steps::outputs_step(ctx, &target));
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
        if let Some((from, to)) = crate::upgrade::version_change(&json) {
            let env = &target.env.name;
            let how = if target.uses_emulator() {
                format!("the emulator can't update a cluster's version: `cargo xtask destroy {env}`, then deploy again")
            } else {
                format!("run `cargo xtask upgrade {env} --to {to}`, which moves the control plane, then the add-ons and node groups")
            };
            return Err(usage(format!(
                "refusing to apply: the plan moves `{env}`'s cluster from Kubernetes {from} to {to}, which is an upgrade, not a deploy: {how}. Nothing was applied"
            )));
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
    .note(format!(
        "data resource types: {}; a plan that changes the cluster's Kubernetes version is refused too (that is `cargo xtask upgrade`)",
        DATA_RESOURCES.join(", ")
    ))
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
