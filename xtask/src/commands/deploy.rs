//! `cargo xtask deploy <env>`: preflight → state backend → init → (off-hours: up) → validate → plan →
//! the destroy gate (and a plan that moves the cluster's Kubernetes version: `upgrade`'s) → the cost
//! gate → confirmation (protected environments) → apply exactly the saved plan → record the outputs →
//! the cluster → (off-hours: back down).
//! `--plan <file>` applies a plan `cargo xtask plan` saved instead, and never plans: the plan is
//! checked against this checkout (environment, commit, its files) before anything runs and against the
//! state once terraform is initialised; the gates and the confirmation run on it.

use std::io::IsTerminal;

use anyhow::{bail, Result};

use crate::bundle::Bundle;
use crate::cli::DeployArgs;
use crate::engine::{Pipeline, Step};
use crate::error::usage;
use crate::target::Target;
use crate::tfplan::{Plan, PlanSummary, DATA_RESOURCES};
use crate::{cluster, context::Context, cost, offhours, preflight, steps};

pub fn run(ctx: &Context, args: DeployArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let given = args.plan.as_deref().map(Bundle::at).transpose()?;
    // A plan given is checked first: another environment's or commit's is refused before anything runs.
    let meta = given.as_ref().map(|b| b.check(ctx, &target)).transpose()?;
    preflight::check(ctx, &target, preflight::deploy(&target, args.yes), &args.run)?;
    let bundle = given.unwrap_or_else(|| Bundle::of(&target));
    let env = &target.env.name;
    let invocation = if meta.is_some() { format!("deploy {env} --plan") } else { format!("deploy {env}") };
    let mut pipeline = Pipeline::new(ctx, invocation, env.as_str());
    steps::announce_omissions(&target, &mut pipeline);
    // Off-hours (unprotected environments only): brought up before the plan is made or checked, and
    // back down at the end.
    let offhours = !target.env.protected;
    if offhours {
        pipeline.preface(format!(
            "If `{env}` is in off-hours, `offhours-up` brings it up for this deploy and `offhours-down` returns it."
        ));
    }
    steps::ready_steps(ctx, &target, &mut pipeline);
    match &meta {
        None => {
            pipeline.step(steps::state_backend_step(ctx, &target));
            pipeline.step(steps::init_step(ctx, &target));
            if offhours {
                pipeline.step(offhours::wake_step(ctx, &target));
            }
            steps::validate_and_plan_steps(ctx, &target, &mut pipeline);
        }
        Some(meta) => {
            pipeline.step(steps::init_step(ctx, &target));
            pipeline.step(bundle.current_step(ctx, &target, meta));
            if offhours {
                pipeline.step(offhours::wake_step(ctx, &target));
            }
        }
    }
    pipeline.step(gate_step(&target, &bundle, args.allow_destroy));
    pipeline.step(cost_step(ctx, &target, &bundle, args.no_cost_gate));
    if target.env.protected && !args.yes {
        pipeline.step(confirm_step(&target, &bundle));
    }
    steps::apply_steps(ctx, &target, &bundle, &mut pipeline);
    pipeline.step(steps::outputs_step(ctx, &target));
    cluster::deploy_steps(ctx, &target, &mut pipeline)?;
    if offhours {
        pipeline.step(offhours::return_step(ctx, &target));
    }
    let started = std::time::SystemTime::now();
    pipeline.run(&args.run)?;
    if !args.run.dry_run {
        // Under GitHub Actions the job summary shows the plan applied.
        bundle.publish(if meta.is_some() { None } else { Some(started) })?;
    }
    Ok(())
}

/// Protected environments: no deleting or replacing data resources unless `--allow-destroy`.
fn gate_step<'a>(target: &'a Target, bundle: &'a Bundle, allow_destroy: bool) -> Step<'a> {
    let about = if target.env.protected {
        "Refuse a plan that deletes or replaces data resources (protected environment)"
    } else {
        "Report what the plan deletes (not protected: allowed)"
    };
    Step::new("gate", about, vec![], move |c| {
        let summary = PlanSummary::of(&Plan::read(&bundle.json)?);
        let data: Vec<String> =
            summary.data_losses().iter().map(|e| format!("{} ({})", e.address, e.actions)).collect();
        for d in &data {
            c.log(format!("data resource deleted or replaced: {d}"));
        }
        let json = anyhow::Context::with_context(std::fs::read_to_string(&bundle.json), || format!("reading {}", bundle.json.display()))?;
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
fn cost_step<'a>(ctx: &'a Context, target: &'a Target, bundle: &'a Bundle, no_cost_gate: bool) -> Step<'a> {
    let about = if no_cost_gate {
        "Price the plan against the budget (reported only: --no-cost-gate)"
    } else {
        "Price the plan against the budget: refuse an estimate over it, or one with unpriced resources"
    };
    Step::new("cost", about, vec![], move |c| {
        let priced = cost::price(ctx, &target.env, &bundle.json)?;
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
fn confirm_step<'a>(target: &'a Target, bundle: &'a Bundle) -> Step<'a> {
    Step::new("confirm", format!("Confirm the plan for protected `{}`", target.env.name), vec![], move |c| {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "`{}` is protected: confirm at a terminal, or pass --yes (CI)",
                target.env.name
            )));
        }
        let summary = PlanSummary::of(&Plan::read(&bundle.json)?);
        let answer =
            c.ask(&format!("Plan for {}: {}. Type `{}` to apply:", target.env.name, summary.line(), target.env.name))?;
        if answer != target.env.name {
            return Err(usage(format!("not confirmed (typed `{answer}`): nothing applied")));
        }
        c.note("confirmed");
        Ok(())
    })
    .note(format!("skipped with --yes; the summary: {}", bundle.summary.display()))
}
