//! `cargo xtask schedule <env> down|up`: off-hours for unprotected environments (dev) — the node groups
//! to zero and the database stopped, the sizes kept in SSM; and back exactly (the calls are
//! `offhours.rs`'s, which deploy uses too).

use anyhow::Result;

use crate::cli::{ScheduleAction, ScheduleArgs};
use crate::engine::Pipeline;
use crate::error::usage;
use crate::target::Target;
use crate::{context::Context, offhours, steps};

pub fn run(ctx: &Context, args: ScheduleArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    if target.env.protected {
        return Err(usage(format!(
            "`{}` is protected: off-hours scheduling is for unprotected environments like dev; nothing changed",
            target.env.name
        )));
    }
    let down = matches!(args.action, ScheduleAction::Down(_));
    let mut pipeline = Pipeline::new(
        ctx,
        format!("schedule {} {}", target.env.name, if down { "down" } else { "up" }),
        target.env.name.as_str(),
    );
    steps::with_outputs(ctx, &target, &mut pipeline);
    pipeline.step(if down { offhours::down_step(ctx, &target) } else { offhours::up_step(ctx, &target) });
    let run = match args.action {
        ScheduleAction::Down(a) | ScheduleAction::Up(a) => a.run,
    };
    pipeline.run(&run)
}
