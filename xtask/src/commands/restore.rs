//! `cargo xtask restore <env>`: the database restored from a snapshot or a point in time into a new
//! instance terraform then owns, the services switched to it (the `rds::restore` domain module).

use std::io::IsTerminal;

use anyhow::Result;

use crate::cli::RestoreArgs;
use crate::engine::Pipeline;
use crate::error::usage;
use crate::rds::restore::{self, Request};
use crate::target::Target;
use crate::{context::Context, preflight};

pub fn run(ctx: &Context, args: RestoreArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let name = &target.env.name;
    let request = match (&args.snapshot, &args.to_time) {
        (Some(id), _) => Request::Snapshot(id.clone()),
        (None, Some(t)) => {
            let Some((utc, _)) = restore::utc_time(t) else {
                return Err(usage(format!(
                    "--to-time {t}: not an RFC 3339 time; give one like 2026-12-04T09:30:00Z (UTC) or 2026-12-04T10:30:00+01:00"
                )));
            };
            if target.uses_emulator() {
                return Err(usage(format!(
                    "--to-time on `{name}`: the emulator can't restore a point in time (its RDS ignores the time and the \
                     source's resource id); restore a snapshot there (--snapshot, or the newest by default). Nothing was changed"
                )));
            }
            Request::Time(utc)
        }
        (None, None) => Request::Newest,
    };
    let confirm = target.env.protected && !args.yes;
    if confirm && !args.run.dry_run && !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "`{name}` is protected and there is no terminal to confirm the restore at: run `cargo xtask restore {name} --yes`, \
             or run it at a terminal. Nothing was changed"
        )));
    }
    preflight::check(ctx, &target, preflight::deploy(&target, true), &args.run)?;
    let mut pipeline = Pipeline::new(ctx, format!("restore {name}"), name.as_str());
    restore::steps(ctx, &target, &mut pipeline, request, confirm)?;
    pipeline.run(&args.run)
}
