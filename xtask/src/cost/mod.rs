//! Cost: the monthly estimate of an environment from its terraform plan JSON, priced from
//! cost/prices.toml with the traffic in cost/usage.toml (and the EKS calendar, k8s/eks-versions.toml,
//! for the day a cluster's Kubernetes version leaves standard support), against the budget terraform sets
//! (`monthly_budget_usd` of `module "stack"`), and last month's actual spend from Cost Explorer.
//! `inputs` reads the plan, prices and usage; `estimate` holds what an estimate is made of; `pass` is
//! the pricing pass; `rules` the per-type rules;
//! `report` the budget and the report; `diff` the change between two plans; `actual` the Cost Explorer answer.
//!
//! Pricing is one pass over `resource_changes`: one HashMap lookup for the resource type's rule, one for
//! its usage, one for its price. Resources the table can't price are listed as unpriced, never as $0.

mod actual;
mod data;
mod diff;
mod estimate;
mod governance;
mod inputs;
mod pass;
mod report;
mod rules;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::context::Context;
use crate::env_files::EnvFiles;
use crate::error::usage;
use crate::tfplan::Plan;
pub use actual::{actual_report, cost_explorer_cmds, last_month};
pub use diff::Diff;
use estimate::{Estimate, Regions};
use inputs::{dr_resources, Prices, UsageFile};
use pass::estimate;
use report::{budget, Budget};
pub use report::{money, Report};

pub const PRICES: &str = "cost/prices.toml";
pub const USAGE: &str = "cost/usage.toml";

/// An environment's plan priced, with the budget terraform sets for it.
pub struct Priced {
    estimate: Estimate,
    budget: Budget,
    prices: Prices,
}

impl Priced {
    /// One line: the total against the budget (for a pipeline step's note and the run summary).
    pub fn line(&self) -> String {
        let total = money(self.estimate.total());
        let unpriced = match self.estimate.unpriced.len() {
            0 => String::new(),
            n => format!(", {n} resource(s) unpriced"),
        };
        match &self.budget {
            Budget::Set(b) => format!("estimate {total}/month, budget {}/month{unpriced}", money(*b)),
            Budget::Missing(why) => format!("estimate {total}/month; {why}{unpriced}"),
        }
    }
}

/// `validate`'s check of cost/usage.toml (every section, every key).
pub fn usage_findings(ctx: &Context) -> Result<Vec<crate::finding::Finding>> {
    let path = ctx.root.join(USAGE);
    let checked = UsageFile::load(&path).and_then(|f| f.check_all(&path, &ctx.config()?));
    Ok(match checked {
        Ok(()) => Vec::new(),
        Err(e) => {
            let text = format!("{e:#}");
            let prefix = format!("{}:", path.display());
            let rest = text.strip_prefix(&prefix).unwrap_or(&text);
            let (line, message) = match rest.split_once(": ") {
                Some((l, m)) if l.parse::<usize>().is_ok() => (l.parse().ok(), m.to_string()),
                _ => (None, rest.to_string()),
            };
            vec![crate::finding::Finding::new(&path, line, message)]
        }
    })
}

/// Prices a plan JSON for `env` from the repository's price table and usage file.
pub fn price(ctx: &Context, env: &crate::config::Environment, plan_path: &Path) -> Result<Priced> {
    let prices = Prices::load(&ctx.root.join(PRICES))?;
    let usage_file = UsageFile::load(&ctx.root.join(USAGE))?;
    // The whole file, every time: a typo in another environment's section is found now, not later.
    usage_file.check_all(&ctx.root.join(USAGE), &ctx.config()?)?;
    let traffic = usage_file.for_env(&env.name, &ctx.root.join(USAGE))?;
    let plan = Plan::read(plan_path)?;
    let Some(changes) = &plan.resource_changes else {
        return Err(usage(format!(
            "{}: not a terraform plan JSON: it has no `resource_changes` (is it `terraform show -json` of a saved plan?)",
            plan_path.display()
        )));
    };
    let var = |name: &str| plan.variable(name).map(str::to_string);
    let region = var("region").unwrap_or_else(|| env.region.clone());
    let dr_region = var("dr_region").or_else(|| env.dr_region.clone()).unwrap_or_else(|| region.clone());
    let dr_addresses = plan.configuration.as_ref().map(dr_resources).unwrap_or_default();
    let regions = Regions { primary: &region, dr: &dr_region, dr_addresses: &dr_addresses };
    let calendar = crate::lifecycle::Calendar::load(&ctx.root)?;
    let estimate = estimate(changes, &prices, &traffic, &regions, &calendar, crate::lifecycle::today())?;
    Ok(Priced { estimate, budget: budget(EnvFiles::of(&ctx.root, env)), prices })
}

/// The gate: an error when the estimate is over the budget, or incomplete (something unpriced);
/// `override_flag` is the flag that lets the caller through.
pub fn gate(env: &str, priced: &Priced, override_flag: &str) -> Result<()> {
    let total = priced.estimate.total();
    if let Budget::Set(limit) = priced.budget {
        if total > limit {
            return Err(anyhow!(
                "{env}: the estimate {}/month is over the budget {}/month (monthly_budget_usd in {}); size the environment down, or pass {override_flag}",
                money(total),
                money(limit),
                crate::env_files::shown_main_tf(env)
            ));
        }
    }
    if !priced.estimate.unpriced.is_empty() {
        return Err(anyhow!(
            "{env}: {} resource(s) could not be priced, so the estimate {}/month is incomplete: add their prices to {PRICES}, or pass {override_flag}",
            priced.estimate.unpriced.len(),
            money(total)
        ));
    }
    Ok(())
}

/// The plan to price: `--plan FILE`, else the saved plan, else the emulated one (said so), else how to
/// get one. It does not plan by itself: a report stays quick and read-only, and `plan` is one command.
pub fn choose_plan(ctx: &Context, env: &str, explicit: Option<&Path>) -> Result<(PathBuf, String)> {
    if let Some(path) = explicit {
        return Ok((path.to_path_buf(), format!("plan: {} (--plan)", path.display())));
    }
    let plans = ctx.work.join("plans");
    let saved = plans.join(format!("{env}.plan.json"));
    if saved.is_file() {
        return Ok((saved.clone(), format!("plan: {} (the saved plan of `cargo xtask plan {env}`)", saved.display())));
    }
    let emulated = plans.join(format!("{env}-emulated.plan.json"));
    if emulated.is_file() {
        return Ok((
            emulated.clone(),
            format!(
                "plan: {} — EMULATED: no saved plan of `{env}` (it needs {env}'s AWS credentials), so this prices the emulated plan of `cargo xtask plan {env} --emulated`: every resource the environment would have, from empty state",
                emulated.display()
            ),
        ));
    }
    Err(usage(format!(
        "no plan of `{env}` to price (looked for {} and {}): run `cargo xtask plan {env}` (with {env}'s AWS credentials) or `cargo xtask plan {env} --emulated` (none needed), then this again",
        saved.display(),
        emulated.display()
    )))
}
