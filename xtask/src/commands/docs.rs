//! `cargo xtask docs`: regenerates the Inputs and Outputs tables of every terraform module's README
//! from its variables and outputs, helm-values' Pod Security table, docs/DEPLOYMENT.md's EKS calendar
//! (k8s/eks-versions.toml), and docs/SECURITY.md's identity map
//! from the `dev` environment's contract inputs (its emulated plan, reused while terraform/ is
//! unchanged), so the tables can't drift (`validate` fails when they have).

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::contracts::identity_map;
use crate::env_files::EnvFiles;
use crate::terraform::checks::{docs_tables, documented_modules, with_tables};

pub fn run(ctx: &Context) -> Result<()> {
    let mut changed = 0;
    for dir in documented_modules(&ctx.root) {
        let readme = dir.join("README.md");
        let text = std::fs::read_to_string(&readme).with_context(|| format!("reading {}", readme.display()))?;
        let tables = docs_tables(&dir).map_err(|f| anyhow::anyhow!("{f}"))?;
        let Some(updated) = with_tables(&text, &tables) else {
            anyhow::bail!("{}: no <!-- BEGIN_TF_DOCS --> / <!-- END_TF_DOCS --> markers to fill", readme.display());
        };
        if updated != text {
            std::fs::write(&readme, updated).with_context(|| format!("writing {}", readme.display()))?;
            println!("updated {}", readme.strip_prefix(&ctx.root).unwrap_or(&readme).display());
            changed += 1;
        }
    }
    if ctx.root.join(crate::releases::LIST).is_file() && crate::releases::write_namespace_table(&ctx.root)? {
        println!("updated {}", crate::releases::README);
        changed += 1;
    }
    if ctx.root.join(crate::lifecycle::CALENDAR_DOC).is_file() && crate::lifecycle::write_calendar_table(&ctx.root)? {
        println!("updated {}", crate::lifecycle::CALENDAR_DOC);
        changed += 1;
    }
    // The map is made from its environment's plan, where that environment is configured and has a root.
    let config = ctx.config().ok();
    let from = config.as_ref().and_then(|c| Some((&c.project, c.env(identity_map::FROM).ok()?)));
    let from = from.filter(|(_, e)| EnvFiles::of(&ctx.root, e).has_terraform());
    if let (true, Some((project, env))) = (ctx.root.join(identity_map::FILE).is_file(), from) {
        // The planner stops the emulator it started at the end of this statement.
        let got = crate::plans::Planner::new(ctx).emulated_plan(identity_map::FROM);
        let inputs = crate::contracts::Inputs::load(ctx, project, env, &got?.path)?;
        if identity_map::write(&ctx.root, &inputs)? {
            println!("updated {}", identity_map::FILE);
            changed += 1;
        }
    }
    println!("{changed} file(s) updated");
    Ok(())
}
