//! The steps several commands share: the emulator and the preflight every environment command starts
//! with, the state backend, init, validate and plan, apply, the outputs and the kubeconfig. Each step's
//! commands are built by one closure: called with the endpoint `--dry-run` shows, and again with the
//! live one when the step runs.

use anyhow::{Context as _, Result};

use crate::bundle::Bundle;
use crate::engine::{Cmd, Pipeline, Step, StepCtx};
use crate::error::{not_found, usage};
use crate::target::{output_placeholder, Against, Target};
use crate::tfplan::{Plan, PlanSummary};
use crate::tools::{self, Tool, Tools};
use crate::{context::Context, emulator, plans, statelock};

/// What commands that read the deployed environment start with: ready, init, and the outputs recorded.
pub fn with_outputs<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    ready_steps(ctx, target, pipeline);
    pipeline.step(init_step(ctx, target));
    pipeline.step(outputs_step(ctx, target));
}

/// The emulator (for emulator targets) and the preflight: the first steps of every environment command.
pub fn ready_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    if target.uses_emulator() {
        pipeline.step(emulator::start_step(ctx, target.config.emulator_port, |_| {}));
    }
    pipeline.step(preflight_step(ctx, target));
}

/// Tools present, and the caller's AWS account is the one xtask.toml names for the environment. (The
/// project's own tools a `local` run needs were installed by `preflight::check`, before this pipeline.)
fn preflight_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    account_step(ctx, target, &[tools::TERRAFORM, tools::AWS])
}

/// The preflight step for a command that runs `needs` (not terraform): those present, and the caller's
/// AWS account the environment's.
pub fn account_step<'a>(ctx: &'a Context, target: &'a Target, needs: &'static [&'static Tool]) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let about = match target.against {
        Against::EmulatedPlan => "Check the tools (emulated: no cloud account is used)".to_string(),
        _ => format!("Check the tools and that the AWS credentials are for account {}", target.env.account_id),
    };
    Step::new("preflight", about, vec![account_cmd(ctx, target, shown.as_deref())], move |c| {
        check_tools_and_account(c, ctx, target, needs)
    })
}

/// `aws sts get-caller-identity`: which account the credentials belong to.
pub fn account_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Cmd {
    target.aws(ctx, endpoint).args(["sts", "get-caller-identity", "--query", "Account", "--output", "text"])
}

/// The tools `needs` are present, and (but for an emulated plan) the caller's AWS account is the
/// environment's; a refusal is bad usage (exit 2), made before anything changes.
pub fn check_tools_and_account(c: &mut StepCtx, ctx: &Context, target: &Target, needs: &[&Tool]) -> Result<()> {
    let tools = Tools::new(ctx);
    for tool in needs {
        if tools.find(tool).is_none() {
            return Err(usage(not_found(tool.bin)));
        }
    }
    if target.against == Against::EmulatedPlan {
        c.note("emulated plan: no cloud credentials needed");
        return Ok(());
    }
    let endpoint = target.endpoint(ctx)?;
    let account = c.output(&account_cmd(ctx, target, endpoint.as_deref())).map_err(|e| {
        usage(format!(
            "cannot identify the AWS account ({e:#}): set credentials for {} (AWS_PROFILE or keys) and retry",
            target.env.name
        ))
    })?;
    let account = account.trim();
    if account != target.env.account_id {
        return Err(usage(format!(
            "refusing to touch `{}`: the AWS credentials belong to account {account}, but {} says `{}` runs in account {}",
            target.env.name,
            target.config.path.display(),
            target.env.name,
            target.env.account_id
        )));
    }
    c.note(format!("account {account}"));
    Ok(())
}

/// The state bucket: looked up, and created with the bootstrap root when it is missing.
pub fn state_backend_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let bucket = target.state_bucket();
    let shown = target.shown_endpoint(ctx);
    let list = move |endpoint: Option<&str>, bucket: &str| {
        target
            .aws(ctx, endpoint)
            .args(["s3api", "list-buckets", "--query"])
            .arg(format!("Buckets[?Name=='{bucket}'].Name"))
            .args(["--output", "text"])
    };
    let create = move |endpoint: Option<&str>| -> Result<Vec<Cmd>> {
        let tf = target.bootstrap_terraform(ctx, endpoint)?;
        let state = format!("-state={}", target.bootstrap_state().display());
        let mut apply = tf.cmd(["apply", "-input=false", "-no-color", "-auto-approve"]).arg(state);
        for var in [
            format!("project={}", target.config.project),
            format!("environment={}", target.env.name),
            format!("region={}", target.env.region),
            format!("state_bucket_name={}", target.state_bucket()),
            format!("enforce_tls={}", !target.omits("tls_only_bucket_policies")),
        ] {
            apply = apply.args(["-var".to_string(), var]);
        }
        Ok(vec![tf.cmd(["init", "-input=false", "-no-color"]), apply])
    };
    let mut shown_cmds = vec![list(shown.as_deref(), &bucket)];
    shown_cmds.extend(create(shown.as_deref()).unwrap_or_default());
    Step::new("state-backend", format!("Make sure the state bucket {bucket} exists"), shown_cmds, move |c| {
        let endpoint = target.endpoint(ctx)?;
        let found = c.output(&list(endpoint.as_deref(), &bucket))?;
        if found.split_whitespace().any(|b| b == bucket) {
            c.note(format!("{bucket} exists"));
            return Ok(());
        }
        target.prepare(ctx, endpoint.as_deref(), false)?;
        std::fs::create_dir_all(target.bootstrap_state().parent().unwrap())?;
        for cmd in create(endpoint.as_deref())? {
            c.run(&cmd)?;
        }
        c.note(format!("created {bucket}"));
        Ok(())
    })
    .note("the terraform commands run only when the bucket is missing")
}
/// For `local`: what the emulator can't do and the stack leaves out, said before anything runs.
pub fn announce_omissions(target: &Target, pipeline: &mut Pipeline<'_>) {
    if target.against != Against::Emulator {
        return;
    }
    match target.files().emulator_omissions() {
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
    validate_and_plan_steps(ctx, target, pipeline);
}

/// validate and plan, after `init`: the plan saved with its bundle (JSON, summary, meta).
pub fn validate_and_plan_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    let shown = target.shown_endpoint(ctx);
    let validate = move |endpoint: Option<&str>| -> Result<Cmd> {
        Ok(target.terraform(ctx, endpoint)?.cmd(["validate", "-no-color"]))
    };
    let shown_validate = validate(shown.as_deref()).into_iter().collect();
    pipeline.step(Step::new("validate", "terraform validate", shown_validate, move |c| {
        let endpoint = target.endpoint(ctx)?;
        c.run(&validate(endpoint.as_deref())?)
    }));

    let plan_cmds = move |endpoint: Option<&str>| -> Result<Vec<Cmd>> {
        let tf = target.terraform(ctx, endpoint)?;
        let plan = tf
            .cmd(["plan", "-input=false", "-no-color"])
            .arg(format!("-out={}", target.plan_file().display()))
            .args(target.vars());
        let show = tf.cmd(["show", "-json", "-no-color"]).arg(target.plan_file().to_string_lossy());
        let mut cmds = vec![plan, show];
        // The state the plan was made against (its lineage and serial go into the meta); an emulated
        // plan starts from empty state.
        if target.against != Against::EmulatedPlan {
            cmds.push(tf.cmd(["state", "pull"]));
        }
        Ok(cmds)
    };
    let shown_plan = plan_cmds(shown.as_deref()).unwrap_or_default();
    let name = target.env.name.clone();
    let bundle = Bundle::of(target);
    let note = format!(
        "writes {} (sensitive values masked), {} and {} next to the plan",
        bundle.json.display(),
        bundle.summary.display(),
        bundle.meta.display()
    );
    pipeline.step(
        Step::new("plan", "Plan to a saved file and summarise it", shown_plan, move |c| {
            let endpoint = target.endpoint(ctx)?;
            // An emulated plan is cached under a key of what it was made from (plans.rs).
            let key = match target.against {
                Against::EmulatedPlan => {
                    target.reset_emulated_state();
                    let _ = std::fs::remove_file(plans::key_file(target));
                    Some(plans::key(ctx, target)?)
                }
                _ => None,
            };
            target.ensure_dirs()?;
            let cmds = plan_cmds(endpoint.as_deref())?;
            let result = c.run(&cmds[0]);
            statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, false)?;
            let json = c.output(&cmds[1])?;
            let state = match cmds.get(2) {
                Some(pull) => Some(c.output(pull)?),
                None => None,
            };
            let summary = bundle.write(ctx, target, &json, state.as_deref())?;
            if let Some(key) = key {
                let file = plans::key_file(target);
                std::fs::write(&file, key).with_context(|| format!("writing {}", file.display()))?;
            }
            c.note(summary.line());
            c.fact(format!("plan {name}: {} (saved: {})", summary.line(), target.plan_file().display()));
            c.fact(format!("plan summary: {}", bundle.summary.display()));
            Ok(())
        })
        .note(note),
    );
}

/// `terraform init` of the environment's root, with its backend settings (emulated: the local override).
pub fn init_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Result<Cmd> {
    let cmd = target.terraform(ctx, endpoint)?.cmd(["init", "-input=false", "-no-color", "-reconfigure"]);
    Ok(match target.against {
        Against::EmulatedPlan => cmd,
        _ => cmd.arg(format!("-backend-config={}", target.backend_file().display())),
    })
}

/// `terraform init` with the environment's backend settings (or, emulated, the local override).
pub fn init_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let init = move |endpoint: Option<&str>| init_cmd(ctx, target, endpoint);
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
        let endpoint = target.endpoint(ctx)?;
        target.prepare(ctx, endpoint.as_deref(), true)?;
        c.run(&init(endpoint.as_deref())?)
    })
    .note(note)
}

/// How many resources `apply` works on at once (terraform's `-parallelism`, 10 by default). A resource
/// holds its slot for as long as the AWS provider waits on it, and a first apply's slots go mostly to
/// fixed waits that make a request every few seconds at most: seven KMS keys (12 s: key rotation,
/// policy and tags each read back five times, 1 s apart), seven S3 lifecycle rules (55 s each:
/// `waitLifecycleConfigEquals`, 10 s, then ten equal reads 5 s apart), the Route 53 changes, and on
/// AWS the EKS cluster, its node groups and the database (minutes). With 10 slots, the emulator's
/// database (80 s: `waitDBInstanceAvailable`, 60 s, then three `available` reads 10 s apart) started
/// 17 s after its last dependency had finished; with 30 it starts at once. Requests AWS throttles are
/// retried by the provider (`max_retries`, 25 by default).
const APPLY_PARALLELISM: u32 = 30;

/// Apply exactly the saved plan of `bundle` (the one `plan` wrote, or the one `deploy --plan` was given).
pub fn apply_steps<'a>(ctx: &'a Context, target: &'a Target, bundle: &'a Bundle, pipeline: &mut Pipeline<'a>) {
    let shown = target.shown_endpoint(ctx);
    let apply = move |endpoint: Option<&str>| -> Result<Cmd> {
        Ok(target
            .terraform(ctx, endpoint)?
            .cmd(["apply", "-input=false", "-no-color"])
            .arg(format!("-parallelism={APPLY_PARALLELISM}"))
            .arg(bundle.tfplan.to_string_lossy()))
    };
    pipeline.step(
        Step::new("apply", "Apply exactly the saved plan", apply(shown.as_deref()).into_iter().collect(), move |c| {
            if !PlanSummary::of(&Plan::read(&bundle.json)?).applyable {
                c.note("no changes: nothing to apply");
                return Ok(());
            }
            let endpoint = target.endpoint(ctx)?;
            let result = c.run(&apply(endpoint.as_deref())?);
            // After a forced interrupt, the lock left; after any stop short, tainted resources.
            statelock::after_terraform(c, ctx, target, endpoint.as_deref(), result, true)
        })
        .note("skipped when the plan changes nothing; terraform refuses a plan made stale by a later state change"),
    );
}

/// `terraform output -json`, recorded for the steps after it (kubeconfig, releases).
pub fn outputs_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    outputs_step_named(ctx, target, "outputs")
}

/// The outputs step under another name (a pipeline that records them twice: `restore`).
pub fn outputs_step_named<'a>(ctx: &'a Context, target: &'a Target, name: &str) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    Step::new(
        name,
        "Record the terraform outputs for the steps after it",
        target.output_cmd(ctx, shown.as_deref()).into_iter().collect(),
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            let count = target.record_outputs(c, ctx, endpoint.as_deref())?;
            c.note(format!("{count} outputs in {}", target.outputs_file().display()));
            Ok(())
        },
    )
    .note(format!("writes {}", target.outputs_file().display()))
}

/// `aws eks update-kubeconfig` into a project-local file: the user's ~/.kube/config is never touched.
pub fn kubeconfig_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let cmd = move |cluster: &str| {
        target
            .aws(ctx, None)
            .args(["eks", "update-kubeconfig", "--name", cluster, "--region", &target.env.region])
            .args(["--alias", &target.env.name, "--kubeconfig"])
            .arg(target.kubeconfig().to_string_lossy())
    };
    Step::new(
        "kubeconfig",
        format!("kubeconfig for the cluster, in {}", target.kubeconfig().display()),
        vec![cmd(&output_placeholder("cluster_name"))],
        move |c| {
            let cluster = target.output("cluster_name")?;
            c.run(&cmd(&cluster))?;
            c.note(format!("{} (your ~/.kube/config is untouched)", target.kubeconfig().display()));
            Ok(())
        },
    )
}
