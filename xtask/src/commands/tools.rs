//! `cargo xtask tools install`: the pinned tools the project installs itself, into `.tools/`.

use anyhow::Result;

use crate::cli::{ToolsAction, ToolsArgs};
use crate::context::Context;
use crate::tools;

pub fn run(ctx: &Context, args: ToolsArgs) -> Result<()> {
    match args.action {
        ToolsAction::Install(a) => tools::install(ctx, &a.run),
    }
}
