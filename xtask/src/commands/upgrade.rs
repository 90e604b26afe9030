//! `cargo xtask upgrade <env> --to <minor>`: the cluster moved one Kubernetes minor — preflight (refusing
//! with the list of what is in the way, exit 2), control plane (terraform, the version only), managed
//! add-ons, node groups, the releases that follow the version, verify (upgrade/).

use anyhow::Result;

use crate::cli::UpgradeArgs;
use crate::engine::Pipeline;
use crate::target::Target;
use crate::{context::Context, preflight, upgrade};

pub fn run(ctx: &Context, args: UpgradeArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let up = upgrade::prepare(ctx, &target, &args.to, args.yes, args.run.dry_run)?;
    let needs = preflight::Needs { cluster: !target.uses_emulator(), overlay: true, confirm: None };
    preflight::check(ctx, &target, needs, &args.run)?;
    let mut pipeline =
        Pipeline::new(ctx, format!("upgrade {} --to {}", target.env.name, up.to), target.env.name.as_str());
    upgrade::steps(ctx, &target, &up, args.yes, &mut pipeline)?;
    pipeline.run(&args.run)
}
