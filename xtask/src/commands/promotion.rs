//! `cargo xtask promotion <env> --commit <sha>`: whether the commit may deploy to `env` — it must have
//! deployed successfully to the environment `env` is promoted from (`promote_from` in xtask.toml),
//! as GitHub's deployments record it. Exit 0 with the line that says where it ran; exit 2 with the
//! refusal in one line.

use std::cell::RefCell;

use anyhow::Result;

use crate::cli::PromotionArgs;
use crate::context::Context;
use crate::engine::{Pipeline, Step};
use crate::error::usage;
use crate::github::{self, Deployment, DeploymentStatus};

pub fn run(ctx: &Context, args: PromotionArgs) -> Result<()> {
    let config = ctx.config()?;
    let env = config.env(&args.env)?;
    let sha = github::commit(&args.commit)?;
    let Some(from) = env.promote_from.clone() else {
        println!(
            "{} is promoted from no environment (no promote_from in xtask.toml): any commit may deploy to it",
            env.name
        );
        return Ok(());
    };
    let repo = github::repository(args.repo.as_deref())?;
    let found: RefCell<Vec<(Deployment, Vec<DeploymentStatus>)>> = RefCell::new(Vec::new());
    {
        let mut pipeline = Pipeline::new(ctx, format!("promotion {}", env.name), env.name.as_str());
        let (repo, sha, from, found) = (&repo, &sha, &from, &found);
        pipeline.step(
            Step::new(
                "deployments",
                format!("GitHub's deployments of {} to {from}, and their statuses", &sha[..12]),
                vec![github::deployments_cmd(repo, from, sha), github::statuses_cmd(repo, "<id>")],
                move |c| {
                    let deployments = github::parse_deployments(&c.output(&github::deployments_cmd(repo, from, sha))?)?;
                    for d in deployments {
                        let statuses =
                            github::parse_statuses(&c.output(&github::statuses_cmd(repo, &d.id.to_string()))?)?;
                        found.borrow_mut().push((d, statuses));
                    }
                    c.note(format!("{} deployment(s) of the commit to {from}", found.borrow().len()));
                    Ok(())
                },
            )
            .note("read-only: one call for the deployments, one per deployment for its statuses"),
        );
        pipeline.run(&args.run)?;
    }
    if args.run.dry_run {
        return Ok(());
    }
    match github::judge(&env.name, &from, &sha, &found.into_inner()) {
        Ok(line) => {
            println!("{line}");
            Ok(())
        }
        Err(refusal) => Err(usage(refusal)),
    }
}
