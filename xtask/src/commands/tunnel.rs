//! `cargo xtask tunnel <env>`: a person's way to the private Kubernetes API — the account checked, the
//! way in found, a kubeconfig written, and the port-forwarding session held until Ctrl-C (tunnel.rs).

use anyhow::Result;

use crate::cli::TunnelArgs;
use crate::engine::Pipeline;
use crate::error::usage;
use crate::target::Target;
use crate::{context::Context, preflight, steps, tools, tunnel};

pub fn run(ctx: &Context, args: TunnelArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    if target.uses_emulator() {
        return Err(usage(format!(
            "`{}` runs on the AWS emulator: it has no Kubernetes cluster to reach and no Session Manager sessions; tunnel to dev, staging or production",
            target.env.name
        )));
    }
    preflight::tunnel(ctx, args.port, &args.run)?;
    // A tunnel holds for hours: its own lock, so it keeps none of the environment's runs out.
    let mut pipeline = Pipeline::new(ctx, format!("tunnel {}", target.env.name), format!("{}-tunnel", target.env.name));
    pipeline.step(steps::account_step(ctx, &target, &[tools::AWS, tools::SESSION_MANAGER_PLUGIN]));
    tunnel::steps(ctx, &target, args.port, &mut pipeline);
    pipeline.run(&args.run)
}
