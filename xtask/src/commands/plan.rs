//! `cargo xtask plan <env>`: init with the environment's backend, validate, plan to a saved file, keep
//! its bundle next to it (the JSON, masked; the markdown summary; the meta deploy --plan checks), and
//! summarise adds/changes/destroys (under GitHub Actions also in the job summary).
//! `--emulated` plans the same configuration against the emulator from empty state: no cloud
//! credentials, the real backend untouched — the full set of resources the environment would have.
//! Either way it first warns when the environment's Kubernetes version is within 90 days of the end of
//! EKS standard support, or past it (lifecycle.rs).

use anyhow::Result;

use crate::bundle::Bundle;
use crate::cli::PlanArgs;
use crate::engine::Pipeline;
use crate::target::{Against, Target};
use crate::{context::Context, preflight, steps};

pub fn run(ctx: &Context, args: PlanArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, args.emulated)?;
    preflight::check(ctx, &target, Default::default(), &args.run)?;
    let invocation = if args.emulated {
        format!("plan {} --emulated", target.env.name)
    } else {
        format!("plan {}", target.env.name)
    };
    let mut pipeline = Pipeline::new(ctx, invocation, target.env.name.as_str());
    steps::announce_omissions(&target, &mut pipeline);
    if let Some(emails) = target.emulated_alert_emails() {
        pipeline.preface(format!(
            "emulated plan: TF_VAR_alert_emails is not set, so alert_emails = {emails} stands in (the real plan needs it)"
        ));
    }
    if let Some(arn) = target.emulated_restore_source() {
        pipeline.preface(format!(
            "emulated plan: TF_VAR_{} is not set, so {arn} stands in (the real plan needs production's replicated backups)",
            crate::target::RESTORE_SOURCE_VARIABLE
        ));
    }
    if !target.env.emulator {
        let minor = crate::lifecycle::environment_minor(target.files());
        if let (Ok((minor, ..)), Ok(calendar)) = (minor, crate::lifecycle::Calendar::load(&ctx.root)) {
            let status =
                crate::lifecycle::support_status(&calendar, &target.env.name, minor, crate::lifecycle::today());
            if let Err(warning) = status {
                pipeline.preface(format!("warning: {warning}"));
            }
        }
    }
    steps::ready_steps(ctx, &target, &mut pipeline);
    if target.against != Against::EmulatedPlan {
        pipeline.step(steps::state_backend_step(ctx, &target));
    }
    steps::plan_steps(ctx, &target, &mut pipeline);
    let started = std::time::SystemTime::now();
    pipeline.run(&args.run)?;
    if !args.run.dry_run {
        // Under GitHub Actions the job summary shows the plan's summary too.
        Bundle::of(&target).publish(Some(started))?;
    }
    Ok(())
}
