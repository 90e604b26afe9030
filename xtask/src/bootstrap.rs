//! `cargo xtask bootstrap <env>`: the remote-state bucket (versioned, encrypted, public access blocked,
//! TLS only; locking by terraform's S3 lockfile), created when missing and left alone when present.
//! Also the steps every environment command starts with: the emulator for `local`, and the preflight
//! that refuses to touch an account other than the configured one.

use anyhow::Result;

use crate::cli::EnvRunArgs;
use crate::engine::{usage, Pipeline, Step};
use crate::terraform::{Against, Target};
use crate::tools::{self, Tools};
use crate::{emulator, Context};

pub fn run(ctx: &Context, args: EnvRunArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    crate::preflight::check(ctx, &target, Default::default(), &args.run)?; // faults
    let mut pipeline = Pipeline::new(ctx, format!("bootstrap {}", target.env.name));
    ready_steps(ctx, &target, &mut pipeline);
    pipeline.step(state_backend_step(ctx, &target));
    pipeline.run(&args.run)
}

/// The emulator (for emulator targets) and the preflight: the first steps of every environment command.
pub fn ready_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) {
    if target.uses_emulator() {
        pipeline.step(emulator::start_step(ctx, target.config.emulator_port, |_| {}));
    }
    pipeline.step(preflight_step(ctx, target));
}

/// Tools present, and the caller's AWS account is the one xtask.toml names for the environment.
fn preflight_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let shown = target.shown_endpoint(ctx);
    let sts = |endpoint: Option<&str>| {
        target.aws(ctx, endpoint).args(["sts", "get-caller-identity", "--query", "Account", "--output", "text"])
    };
    let about = match target.against {
        Against::EmulatedPlan => "Check the tools (emulated: no cloud account is used)".to_string(),
        _ => format!("Check the tools and that the AWS credentials are for account {}", target.env.account_id),
    };
    Step::new("preflight", about, vec![sts(shown.as_deref())], move |c| {
        let tools = Tools::new(ctx);
        for tool in [tools::TERRAFORM, tools::AWS] {
            if tools.find(tool).is_none() {
                return Err(usage(format!(
                    "{} not found: {} (cargo xtask doctor lists every tool)",
                    tool.name, tool.hint
                )));
            }
        }
        if target.against == Against::EmulatedPlan {
            c.note("emulated plan: no cloud credentials needed");
            return Ok(());
        }
        let endpoint = if target.uses_emulator() { Some(target.live_endpoint(ctx)?) } else { None };
        let account = c.output(&sts(endpoint.as_deref())).map_err(|e| {
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
    })
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
    let create = move |endpoint: Option<&str>| -> Result<Vec<crate::engine::Cmd>> {
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
        let endpoint = if target.uses_emulator() { Some(target.live_endpoint(ctx)?) } else { None };
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
