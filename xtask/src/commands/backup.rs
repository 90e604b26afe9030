//! `cargo xtask backup <env>` and `cargo xtask restore-drill <env>`: thin wrappers over the `rds` domain
//! module (snapshots, copies, pruning in both regions, state copy, report; the rehearsed restore).

use anyhow::Result;

use crate::cli::{BackupArgs, DrillArgs};
use crate::engine::Pipeline;
use crate::error::usage;
use crate::rds::{self, Region};
use crate::target::Target;
use crate::{context::Context, steps};

pub fn run(ctx: &Context, args: BackupArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let made = std::cell::RefCell::new(String::new());
    let mut pipeline = Pipeline::new(ctx, format!("backup {}", target.env.name), target.env.name.as_str());
    rds::backup::steps(ctx, &target, &mut pipeline, &made, args.retention_days);
    pipeline.run(&args.run)
}

pub fn run_drill(ctx: &Context, args: DrillArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let region = match args.region.as_deref() {
        None => Region::Home,
        Some(r) if r == target.env.region => Region::Home,
        Some(r) => match (&target.env.dr_region, r) {
            (Some(dr), "dr") => Region::Dr(dr.clone()),
            (Some(dr), r) if r == dr => Region::Dr(dr.clone()),
            (None, _) => {
                return Err(usage(format!(
                    "--region {r}: `{}` has no dr_region in {} (only its own region, {}, has its snapshots)",
                    target.env.name,
                    target.config.path.display(),
                    target.env.region
                )))
            }
            (Some(dr), r) => {
                return Err(usage(format!(
                    "--region {r}: `{}`'s snapshots are in {} and its copies in {dr} (`--region dr`); nowhere else",
                    target.env.name, target.env.region
                )))
            }
        },
    };
    let mut pipeline = Pipeline::new(ctx, format!("restore-drill {}", target.env.name), target.env.name.as_str());
    steps::with_outputs(ctx, &target, &mut pipeline);
    pipeline.step(rds::drill::drill_step(ctx, &target, region, args.db_subnet_group.clone()));
    pipeline.run(&args.run)
}
