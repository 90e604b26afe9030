//! `cargo xtask bootstrap <env>`: the remote-state bucket (versioned, encrypted, public access blocked,
//! TLS only; locking by terraform's S3 lockfile), created when missing and left alone when present.
//! Also the steps every environment command starts with: the emulator for `local`, and the preflight
//! that refuses to touch an account other than the configured one.

use anyhow::Result;

use crate::cli::EnvRunArgs;
use crate::engine::Pipeline;
use crate::target::Target;
use crate::{context::Context, preflight, steps};

pub fn run(ctx: &Context, args: EnvRunArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    preflight::check(ctx, &target, Default::default(), &args.run)?;
    let mut pipeline = Pipeline::new(ctx, format!("bootstrap {}", target.env.name), target.env.name.as_str());
    steps::ready_steps(ctx, &target, &mut pipeline);
    pipeline.step(steps::state_backend_step(ctx, &target));
    pipeline.run(&args.run)
}
