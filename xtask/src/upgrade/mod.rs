//! `upgrade <env> --to <minor>`: a cluster moved one Kubernetes minor, in the order EKS documents and
//! eksctl follows — the preflight (`readiness`), the control plane (`control_plane`: terraform, the
//! version only), the managed add-ons, the node groups (`nodes`), the releases whose image follows the
//! Kubernetes minor, and a verify. `eks` is the EKS API through the AWS CLI. On the emulator (moto, which
//! has none of UpdateClusterVersion, UpdateAddon, DescribeAddonVersions, UpdateNodegroupVersion or
//! ListInsights) the preflight runs what it can and the version change is planned and checked, not applied.

mod control_plane;
mod eks;
mod nodes;
mod readiness;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;

use crate::engine::{Pipeline, Step};
use crate::error::usage;
use crate::lifecycle::{self, Calendar, Minor};
use crate::releases::Release;
use crate::target::{output_placeholder, Target};
use crate::{cluster, context::Context, emulator, steps};

pub use control_plane::version_change;

/// What an upgrade moves: to which minor, from the version terraform says now (and where it says it).
pub struct Upgrade {
    pub to: Minor,
    pub tree: Minor,
    pub tree_file: PathBuf,
    pub tree_line: usize,
}

/// Said before a run on the emulator.
pub const ON_THE_EMULATOR: &str = "`{env}` runs on the AWS emulator (moto), which implements none of \
UpdateClusterVersion, UpdateAddon, DescribeAddonVersions, UpdateNodegroupVersion or ListInsights: this \
runs the preflight it can and plans and checks the control plane's version change without applying it; \
the add-ons, node groups, releases and verify are for real environments.";

/// What can be refused before anything runs, `--dry-run` included (exit 2): `--to` is a minor version EKS
/// has (k8s/eks-versions.toml), the one terraform sets for the environment or the next; a protected
/// environment can be confirmed.
pub fn prepare(ctx: &Context, target: &Target, to: &str, yes: bool, dry_run: bool) -> Result<Upgrade> {
    let env = &target.env.name;
    let to = Minor::parse_exact(to)
        .ok_or_else(|| usage(format!("--to `{to}` is not a Kubernetes minor version like 1.36")))?;
    let (tree, tree_file, tree_line) = lifecycle::environment_minor(target.files())?;
    let shown = tree_file.strip_prefix(&ctx.root).unwrap_or(&tree_file).display().to_string();
    match to.above(tree) {
        0 | 1 => {}
        n if n > 1 => {
            return Err(usage(format!(
                "refusing to upgrade `{env}` to {to}: it is at Kubernetes {tree} ({shown}:{tree_line}), and an upgrade moves \
                 one minor at a time ({to} is {n} up): run `cargo xtask upgrade {env} --to {}` first. Nothing was changed",
                tree.next()
            )))
        }
        _ => {
            return Err(usage(format!(
                "refusing to upgrade `{env}` to {to}: it is at Kubernetes {tree} ({shown}:{tree_line}), and a control plane \
                 never goes back a minor. Nothing was changed"
            )))
        }
    }
    let calendar = Calendar::load(&ctx.root)?;
    if calendar.get(to).is_none() {
        return Err(usage(format!(
            "refusing to upgrade `{env}` to {to}: {} has no Kubernetes {to} (it lists {}); add its EKS dates when EKS \
             releases it. Nothing was changed",
            lifecycle::CALENDAR,
            calendar.minors()
        )));
    }
    if target.env.protected && !yes && !dry_run && !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "`{env}` is protected and there is no terminal to confirm its upgrade at: run `cargo xtask upgrade {env} --to {to} \
             --yes` (CI), or run it at a terminal. Nothing was changed"
        )));
    }
    Ok(Upgrade { to, tree, tree_file, tree_line })
}

/// The upgrade's steps, in order.
pub fn steps<'a>(
    ctx: &'a Context,
    target: &'a Target,
    up: &'a Upgrade,
    yes: bool,
    pipeline: &mut Pipeline<'a>,
) -> Result<()> {
    if target.uses_emulator() {
        pipeline.preface(ON_THE_EMULATOR.replace("{env}", &target.env.name));
        pipeline.step(emulator::start_step(ctx, target.config.emulator_port, |_| {}));
    }
    pipeline.step(readiness::step(ctx, target, up)?);
    if target.env.protected && !yes {
        pipeline.step(confirm_step(target, up));
    }
    pipeline.step(control_plane::step(ctx, target, up));
    if target.uses_emulator() {
        return Ok(());
    }
    pipeline.step(nodes::addons_step(ctx, target, up));
    pipeline.step(nodes::nodegroups_step(ctx, target, up));
    pipeline.step(steps::kubeconfig_step(ctx, target));
    pipeline.step(releases_step(ctx, target, up)?);
    pipeline.step(nodes::verify_step(ctx, target, up));
    Ok(())
}

/// A person types the environment's name back before a protected control plane moves.
fn confirm_step<'a>(target: &'a Target, up: &'a Upgrade) -> Step<'a> {
    let env = &target.env.name;
    Step::new("confirm", format!("Confirm the upgrade of protected `{env}` to {}", up.to), vec![], move |c| {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!("`{env}` is protected: confirm at a terminal, or pass --yes (CI)")));
        }
        let answer = c.ask(&format!(
            "The control plane of {env} moves to Kubernetes {} and can't come back. Type `{env}` to go on:",
            up.to
        ))?;
        if &answer != env {
            return Err(usage(format!("not confirmed (typed `{answer}`): nothing changed")));
        }
        c.note("confirmed");
        Ok(())
    })
    .note("skipped with --yes")
}

/// The releases whose image carries the Kubernetes minor (`follows_kubernetes`), installed again with
/// the values the preflight found at the new minor.
fn releases_step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Result<Step<'a>> {
    let moving: Vec<Release> =
        readiness::releases_of(ctx, target)?.into_iter().filter(|r| r.follows_kubernetes.is_some()).collect();
    let shown = moving.iter().flat_map(|r| cluster::release_commands(ctx, target, r, &output_placeholder)).collect();
    let names: Vec<&str> = moving.iter().map(|r| r.name.as_str()).collect();
    let about = match names.as_slice() {
        [] => "No release follows the Kubernetes minor (`follows_kubernetes` in helm-values/releases.toml)".to_string(),
        _ => format!("The releases that follow the Kubernetes minor, at {}: {}", up.to, names.join(", ")),
    };
    Ok(Step::new("releases", about, shown, move |c| {
        for r in &moving {
            cluster::install_release(c, ctx, target, r)?;
        }
        c.note(format!("{} release(s) at {}", moving.len(), up.to));
        Ok(())
    })
    .note("the other releases already run on it: the preflight found each recorded as supporting it"))
}
