//! `cargo xtask destroy <env>`: guards first (a protected environment's name typed back, or given with
//! `--confirm`), then final RDS snapshots where the environment is protected (the `rds` domain
//! module), then terraform destroy.

use std::io::IsTerminal;

use anyhow::Result;

use crate::cli::DestroyArgs;
use crate::engine::{Cmd, Pipeline, Step};
use crate::error::usage;
use crate::target::Target;
use crate::{cluster, context::Context, preflight, statelock, steps};

pub fn run(ctx: &Context, args: DestroyArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    preflight::check(ctx, &target, preflight::cluster(&target), &args.run)?;
    let name = &target.env.name;
    if let Some(given) = &args.confirm {
        if given != name {
            return Err(usage(format!("--confirm {given} does not match the environment `{name}`: nothing destroyed")));
        }
    } else if target.env.protected && !args.run.dry_run {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "`{name}` is protected: type its name at a terminal, or pass --confirm {name}; nothing destroyed"
            )));
        }
        eprint!("`{name}` is protected. Destroying it deletes its cluster, databases (after final snapshots) and network.\nType `{name}` to destroy it: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != name {
            return Err(usage(format!("not confirmed (typed `{}`): nothing destroyed", answer.trim())));
        }
    }

    let mut pipeline = Pipeline::new(ctx, format!("destroy {name}"), name.as_str());
    steps::ready_steps(ctx, &target, &mut pipeline);
    pipeline.step(steps::init_step(ctx, &target));
    if !target.uses_emulator() {
        pipeline.step(steps::outputs_step(ctx, &target));
        cluster::destroy_steps(ctx, &target, &mut pipeline)?;
    }
    if target.env.protected {
        pipeline.step(crate::rds::final_snapshots_step(ctx, &target));
    }
    let shown = target.shown_endpoint(ctx);
    let destroy = |endpoint: Option<&str>| -> Result<Cmd> {
        Ok(target
            .terraform(ctx, endpoint)?
            .cmd(["destroy", "-input=false", "-no-color", "-auto-approve"])
            .args(target.vars()))
    };
    let shown_destroy = destroy(shown.as_deref()).into_iter().collect();
    pipeline.step(Step::new("destroy", format!("terraform destroy of `{name}`"), shown_destroy, |c| {
        let endpoint = target.endpoint(ctx)?;
        let result = c.run(&destroy(endpoint.as_deref())?);
        statelock::after_terraform(c, ctx, &target, endpoint.as_deref(), result, true)
    }));
    pipeline.step(mesh_identity_step(ctx, &target));
    pipeline.run(&args.run)
}

/// The mesh identity the xtask keeps in Secrets Manager goes with the environment: at once where it
/// is unprotected, after a 30-day recovery window where it is protected.
fn mesh_identity_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let delete = move |endpoint: Option<&str>| {
        let cmd = target.aws(ctx, endpoint).args([
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            &crate::mesh::secret_id(target),
        ]);
        if target.env.protected {
            cmd.args(["--recovery-window-in-days", "30"])
        } else {
            cmd.arg("--force-delete-without-recovery")
        }
    };
    let shown = target.shown_endpoint(ctx);
    Step::new(
        "mesh-identity",
        "Delete the mesh identity from Secrets Manager",
        vec![delete(shown.as_deref())],
        move |c| {
            let endpoint = target.endpoint(ctx)?;
            match c.attempt(&delete(endpoint.as_deref()))? {
                Ok(_) => c.note(if target.env.protected { "scheduled for deletion in 30 days" } else { "deleted" }),
                Err(why) if why.contains("ResourceNotFound") => c.note("there was none"),
                Err(why) => anyhow::bail!("cannot delete {}: {why}", crate::mesh::secret_id(target)),
            }
            Ok(())
        },
    )
}
