//! `cargo xtask cost-report <env>`: the monthly estimate of an environment from its terraform plan JSON,
//! against the budget terraform sets; exit 1 when the estimate is over it. `--compare-to` reports the
//! change from a base plan instead (per resource and in total; the gate is the new plan's); `--actual`
//! last month's spend from Cost Explorer.

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde_json::json;

use crate::cli::{CostFormat, CostReportArgs};
use crate::engine::{Pipeline, RunArgs, Step};
use crate::target::Target;
use crate::{context::Context, cost, steps};

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
            if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening GITHUB_STEP_SUMMARY {}", PathBuf::from(&path).display()))?;
                f.write_all(markdown.as_bytes()).context("writing the GitHub step summary")?;
            }
        }
        CostFormat::Markdown => print!("{markdown}"),
        CostFormat::Json => println!("{}", serde_json::to_string_pretty(&json).expect("JSON")),
    }
    if args.no_gate {
        return Ok(());
    }
    cost::gate(&env.name, &priced, "--no-gate to report without failing")
}

fn actual(ctx: &Context, args: &CostReportArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let (start, end) = cost::last_month();
    let ce = |endpoint: Option<&str>| {
        let base = target.aws(ctx, endpoint).args([
            "ce",
            "get-cost-and-usage",
            "--time-period",
            &format!("Start={start},End={end}"),
            "--granularity",
            "MONTHLY",
            "--metrics",
            "UnblendedCost",
        ]);
        let filter = json!({"And": [
            {"Tags": {"Key": "Project", "Values": [target.config.project]}},
            {"Tags": {"Key": "Environment", "Values": [target.env.name]}},
        ]});
        let by_service = base
            .clone()
            .args(["--group-by", "Type=DIMENSION,Key=SERVICE", "--filter"])
            .arg(filter.to_string())
            .args(["--output", "json"]);
        let by_tag = base.args(["--group-by", "Type=TAG,Key=Project", "Type=TAG,Key=Environment", "--output", "json"]);
        (by_service, by_tag)
    };
    let answers: RefCell<Vec<String>> = RefCell::new(Vec::new());
    {
        let mut pipeline = Pipeline::new(ctx, format!("cost-report {} --actual", target.env.name));
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
