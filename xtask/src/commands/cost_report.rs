//! `cargo xtask cost-report <env>`: the monthly estimate of an environment from its terraform plan JSON,
//! against the budget terraform sets; exit 1 when the estimate is over it. `--compare-to` reports the
//! change from a base plan instead (per resource and in total; the gate is the new plan's); `--actual`
//! last month's spend from Cost Explorer.

use std::cell::RefCell;

use anyhow::Result;

use crate::cli::{CostFormat, CostReportArgs};
use crate::engine::{Pipeline, RunArgs, Step};
use crate::target::Target;
use crate::{context::Context, cost, github, steps};

pub fn run(ctx: &Context, args: CostReportArgs) -> Result<()> {
    if args.actual {
        return actual(ctx, &args);
    }
    let config = ctx.config()?;
    let env = config.env(&args.env)?.clone();
    let (plan_path, note) = cost::choose_plan(ctx, &env.name, args.plan.as_deref())?;
    let priced = cost::price(ctx, &env, &plan_path)?;
    let report = cost::Report { env: &env.name, plan: &plan_path, note: &note, priced: &priced };
    let (table, markdown, json) = match &args.compare_to {
        Some(base_path) => {
            let base = cost::price(ctx, &env, base_path)?;
            let diff = cost::Diff { base: &base, base_path, report };
            (diff.table(), diff.markdown(), diff.json())
        }
        None => (report.table(), report.markdown(), report.json()),
    };
    match args.format {
        CostFormat::Table => {
            print!("{table}");
            github::append_step_summary(&markdown)?;
        }
        CostFormat::Markdown => print!("{markdown}"),
        CostFormat::Json => println!("{json:#}"),
    }
    if args.no_gate {
        return Ok(());
    }
    cost::gate(&env.name, &priced, "--no-gate to report without failing")
}

fn actual(ctx: &Context, args: &CostReportArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let (start, end) = cost::last_month();
    let ce = |endpoint: Option<&str>| cost::cost_explorer_cmds(&target.aws(ctx, endpoint), &target, &start, &end);
    let answers: RefCell<Vec<String>> = RefCell::new(Vec::new());
    {
        let mut pipeline =
            Pipeline::new(ctx, format!("cost-report {} --actual", target.env.name), target.env.name.as_str());
        steps::ready_steps(ctx, &target, &mut pipeline);
        let (a, b) = ce(target.shown_endpoint(ctx).as_deref());
        let (target, answers, ce) = (&target, &answers, &ce);
        pipeline.step(
            Step::new(
                "cost-explorer",
                "Last month's spend from Cost Explorer, by service and by tag",
                vec![a, b],
                move |c| {
                    let endpoint = target.endpoint(ctx)?;
                    let (a, b) = ce(endpoint.as_deref());
                    let by_service = c.output(&a)?;
                    let by_tag = c.output(&b)?;
                    answers.borrow_mut().extend([by_service, by_tag]);
                    Ok(())
                },
            )
            .note("read-only: ce get-cost-and-usage, grouped by SERVICE and by the Project/Environment tags"),
        );
        pipeline.run(&RunArgs { dry_run: args.dry_run, ..RunArgs::default() })?;
    }
    let answers = answers.into_inner();
    if let [by_service, by_tag] = answers.as_slice() {
        print!("{}", cost::actual_report(&target.env.name, &start, &end, by_service, by_tag, target.uses_emulator())?);
    }
    Ok(())
}
