//! `cargo xtask mesh certs|install|check|rotate-issuer <env>`: the Linkerd service mesh by hand.

use anyhow::Result;

use crate::cli::{MeshAction, MeshArgs};
use crate::engine::Pipeline;
use crate::target::{Target, NO_CLUSTER};
use crate::{context::Context, mesh, preflight, steps};

pub fn run(ctx: &Context, args: MeshArgs) -> Result<()> {
    let (action, env, run) = match &args.action {
        MeshAction::Certs(a) => ("certs", &a.env, &a.run),
        MeshAction::Install(a) => ("install", &a.env, &a.run),
        MeshAction::Check(a) => ("check", &a.env, &a.run),
        MeshAction::RotateIssuer(a) => ("rotate-issuer", &a.env, &a.run),
    };
    let target = Target::new(ctx, env, false)?;
    preflight::check(ctx, &target, preflight::cluster(&target), run)?;
    let mut pipeline = Pipeline::new(ctx, format!("mesh {action} {}", target.env.name), target.env.name.as_str());
    if target.uses_emulator() {
        pipeline.preface(NO_CLUSTER.replace("{env}", &target.env.name));
    }
    steps::ready_steps(ctx, &target, &mut pipeline);
    let cluster = !target.uses_emulator();
    match action {
        "certs" => {
            pipeline.step(mesh::certs_step(ctx, &target));
        }
        "install" => {
            if cluster {
                pipeline.step(steps::kubeconfig_step(ctx, &target));
            }
            pipeline.step(mesh::certs_step(ctx, &target));
            mesh::install_steps(ctx, &target, &mut pipeline)?;
        }
        "check" => {
            if cluster {
                pipeline.step(steps::kubeconfig_step(ctx, &target));
            }
            pipeline.step(mesh::check_step(ctx, &target));
        }
        _ => {
            if !cluster {
                return Err(crate::error::usage(format!(
                    "`{}` has no cluster: its issuer is cert-manager's, in a cluster; `cargo xtask mesh check {}` checks the trust anchor",
                    target.env.name, target.env.name
                )));
            }
            pipeline.step(steps::kubeconfig_step(ctx, &target));
            pipeline.step(mesh::rotate_step(ctx, &target));
            pipeline.step(mesh::check_step(ctx, &target));
        }
    }
    pipeline.run(run)
}
