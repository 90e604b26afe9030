//! `cargo xtask plan <env>`: init with the environment's backend, validate, plan to a saved file, keep
//! `terraform show -json` of it next to it, and summarise adds/changes/destroys.
//! `--emulated` plans the same configuration against the emulator from empty state: no cloud
//! credentials, the real backend untouched — the full set of resources the environment would have.

use anyhow::{Context as _, Result};

use crate::cli::PlanArgs;
use crate::engine::{Cmd, Pipeline, Step};
use crate::terraform::{Against, PlanSummary, Target};
use crate::{bootstrap, Context};

pub fn run(ctx: &Context, args: PlanArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, args.emulated)?;
    crate::preflight::check(ctx, &target, Default::default(), &args.run)?; // faults
    let invocation = if args.emulated {
        format!("plan {} --emulated", target.env.name)
    } else {
        format!("plan {}", target.env.name)
    };
    let mut pipeline = Pipeline::new(ctx, invocation);
    announce_omissions(ctx, &target, &mut pipeline);
    bootstrap::ready_steps(ctx, &target, &mut pipeline);
    if target.against != Against::EmulatedPlan {
        pipeline.step(bootstrap::state_backend_step(ctx, &target));
    }
    plan_steps(ctx, &target, &mut pipeline);
    pipeline.run(&args.run)
}

/// For `local`: what the emulator can't do and the stack leaves out, said before anything runs.
pub fn announce_omissions(ctx: &Context, target: &Target, pipeline: &mut Pipeline<'_>) {
    if target.against != Against::Emulator {
        return;
    }
    match crate::terraform::emulator_omissions(&ctx.root, &target.env.name) {
        Ok(list) if !list.is_empty() => {
            pipeline.preface(format!(
                "`{}` runs on the AWS emulator, which can't do everything; it leaves out:",
                target.env.name
            ));
            for (what, why) in list {
                pipeline.preface(format!("  - {what}: {why}"));
            }
        }
        Ok(_) => {}
        Err(e) => {
            pipeline.preface(format!("warning: cannot read what `{}` leaves out: {e:#}", target.env.name));
        }
    }
}

/// init, validate, plan (+ JSON and summary).
pub fn plan_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    pipeline.step(init_step(ctx, target));
    let shown = target.shown_endpoint(ctx);
    let validate = move |endpoint: Option<&str>| -> Result<Cmd> {
        Ok(target.terraform(ctx, endpoint)?.cmd(["validate", "-no-color"]))
    };
    let shown_validate = validate(shown.as_deref()).into_iter().collect();
    pipeline.step(Step::new("validate", "terraform validate", shown_validate, move |c| {
        let endpoint = endpoint_for(ctx, target)?;
        c.run(&validate(endpoint.as_deref())?)
    }));

    let plan_cmds = move |endpoint: Option<&str>| -> Result<(Cmd, Cmd)> {
        let tf = target.terraform(ctx, endpoint)?;
        let plan = tf
            .cmd(["plan", "-input=false", "-no-color"])
            .arg(format!("-out={}", target.plan_file().display()))
            .args(target.vars());
        let show = tf.cmd(["show", "-json", "-no-color"]).arg(target.plan_file().to_string_lossy());
        Ok((plan, show))
    };
    let shown_plan = plan_cmds(shown.as_deref()).map(|(a, b)| vec![a, b]).unwrap_or_default();
    let name = target.env.name.clone();
    pipeline.step(
        Step::new("plan", "Plan to a saved file and summarise it", shown_plan, move |c| {
            let endpoint = endpoint_for(ctx, target)?;
            if target.against == Against::EmulatedPlan {
                target.reset_emulated_state();
            }
            target.ensure_dirs()?;
            let (plan, show) = plan_cmds(endpoint.as_deref())?;
            let result = c.run(&plan);
            crate::statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, false)?; // faults
            let json = c.output(&show)?;
            std::fs::write(target.plan_json(), &json)
                .with_context(|| format!("writing {}", target.plan_json().display()))?;
            let summary = PlanSummary::from_json(&json)?;
            c.note(summary.line());
            c.fact(format!("plan {name}: {} (saved: {})", summary.line(), target.plan_file().display()));
            Ok(())
        })
        .note(format!("writes {} next to the plan", target.plan_json().display())),
    );
}

/// `terraform init` with the environment's backend settings (or, emulated, the local override).
pub fn init_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let init = move |endpoint: Option<&str>| -> Result<Cmd> {
        let cmd = target.terraform(ctx, endpoint)?.cmd(["init", "-input=false", "-no-color", "-reconfigure"]);
        Ok(match target.against {
            Against::EmulatedPlan => cmd,
            _ => cmd.arg(format!("-backend-config={}", target.backend_file().display())),
        })
    };
    let about = match target.against {
        Against::Aws => format!("terraform init with the S3 backend (bucket {})", target.state_bucket()),
        Against::Emulator => {
            format!("terraform init with the S3 backend in the emulator (bucket {})", target.state_bucket())
        }
        Against::EmulatedPlan => {
            "terraform init in a scratch copy pointed at the emulator, with empty local state".to_string()
        }
    };
    let note = match target.against {
        Against::Aws => format!("backend settings written to {}", target.backend_file().display()),
        _ => "runs in a scratch copy of terraform/ with an `*_override.tf` that points the provider at the emulator"
            .to_string(),
    };
    Step::new("init", about, init(shown.as_deref()).into_iter().collect(), move |c| {
        let endpoint = endpoint_for(ctx, target)?;
        target.prepare(ctx, endpoint.as_deref(), true)?;
        c.run(&init(endpoint.as_deref())?)
    })
    .note(note)
}

/// The emulator's endpoint for emulator targets, `None` for real AWS.
pub fn endpoint_for(ctx: &Context, target: &Target) -> Result<Option<String>> {
    if target.uses_emulator() {
        target.live_endpoint(ctx).map(Some)
    } else {
        Ok(None)
    }
}
