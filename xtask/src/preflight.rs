//! Refuse before changing anything: what a command can check before its first step is checked here,
//! before the emulator starts or the state is touched — the work directory is writable, every tool a
//! later step runs is present and at least doctor's minimum, the emulator's port is free and its account
//! is the configured one, the overlay exists and renders, and a protected environment can be confirmed.
//! Each refusal is one line (what, where, what to do) and exit 2.
//!
//! Also here: a secret a killed run may have left under the work dir is removed at the next start.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, TcpListener};

use anyhow::Result;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::error::{not_found, usage};
use crate::target::{Against, Target};
use crate::tools::{self, Found, Tool, Tools};

/// What a command's later steps need, beyond terraform and the AWS CLI.
#[derive(Default, Clone, Copy)]
pub struct Needs {
    /// Cluster steps run helm and kubectl (real environments).
    pub cluster: bool,
    /// The overlay is rendered (kubectl kustomize) and, on the emulator, schema-checked.
    pub overlay: bool,
    /// A protected environment asks for confirmation unless `yes`.
    pub confirm: Option<bool>,
}

pub fn deploy(target: &Target, yes: bool) -> Needs {
    Needs { cluster: !target.uses_emulator(), overlay: true, confirm: Some(yes) }
}

pub fn cluster(target: &Target) -> Needs {
    Needs { cluster: !target.uses_emulator(), ..Needs::default() }
}

/// Every check that can be made before the first change; `--dry-run` changes nothing and is let through.
pub fn check(ctx: &Context, target: &Target, needs: Needs, run: &RunArgs) -> Result<()> {
    let wanted = wanted(target, needs);
    if run.dry_run {
        let missing = Tools::new(ctx).missing(&wanted);
        if target.uses_emulator() && !missing.is_empty() {
            println!("dry run: a real run first installs {} into .tools (pinned, one time)", missing.join(", "));
        }
        return Ok(());
    }
    work_dir_writable(ctx)?;
    if let Some(yes) = needs.confirm {
        if target.env.protected && !yes && !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "`{env}` is protected and there is no terminal to confirm its plan at: run `cargo xtask deploy {env} --yes` \
                 (CI), or run it at a terminal. Nothing was changed",
                env = target.env.name
            )));
        }
    }
    remove_leftover_secrets(ctx);
    let tools = Tools::new(ctx);
    if target.uses_emulator() {
        // `local` installs the project's own tools on first use, before anything changes.
        Tools::install_missing(ctx, &wanted)?;
    }
    for tool in wanted {
        ready(&tools, tool)?;
    }
    if target.uses_emulator() {
        emulator_ready(ctx, target)?;
    }
    if needs.overlay {
        overlay_renders(ctx, target)?;
    }
    Ok(())
}

/// Every tool the command's steps run: terraform and the AWS CLI always, helm and kubectl for a real
/// cluster, kubectl to render the overlay and, on the emulator, kubernetes-validate to check it.
fn wanted(target: &Target, needs: Needs) -> Vec<&'static Tool> {
    let mut wanted: Vec<&'static Tool> = vec![tools::TERRAFORM, tools::AWS];
    if needs.cluster {
        wanted.extend([tools::KUBECTL, tools::HELM]);
    }
    if needs.overlay {
        wanted.push(tools::KUBECTL);
        if target.uses_emulator() {
            wanted.push(tools::KUBE_VALIDATE);
        }
    }
    wanted.dedup_by_key(|t| t.name);
    wanted
}

/// `cargo xtask tunnel`: the AWS CLI and its Session Manager plugin present, the local port free.
pub fn tunnel(ctx: &Context, port: u16, run: &RunArgs) -> Result<()> {
    if run.dry_run {
        return Ok(());
    }
    work_dir_writable(ctx)?;
    let tools = Tools::new(ctx);
    for tool in [tools::AWS, tools::SESSION_MANAGER_PLUGIN] {
        ready(&tools, tool)?;
    }
    if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
        return Err(usage(format!(
            "port {port} on 127.0.0.1 is taken by another process (another tunnel?): pass --port with a free one"
        )));
    }
    Ok(())
}

/// The tool is found and at least doctor's minimum (a version that can't be read is let through, as
/// doctor shows it). The one place a later change can install project tools on demand.
pub fn ready(tools: &Tools, tool: &Tool) -> Result<Found> {
    let found = tools.probe(tool);
    let Some(path) = &found.path else {
        return Err(usage(not_found(tool.bin)));
    };
    if let Some(version) = &found.version {
        if !tools::at_least(version, tool.min) {
            return Err(usage(format!(
                "{} {version} ({}) is older than the minimum {}: {}",
                tool.name,
                path.display(),
                tool.min,
                tool.hint
            )));
        }
    }
    Ok(found)
}

fn work_dir_writable(ctx: &Context) -> Result<()> {
    let probe = ctx.work.join(format!(".preflight-{}", std::process::id()));
    let written = std::fs::create_dir_all(&ctx.work).and_then(|()| std::fs::write(&probe, b""));
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| {
        usage(format!(
            "cannot write to the work directory {} ({e}): make it writable, or point XTASK_WORK_DIR at one that is",
            ctx.work.display()
        ))
    })
}

/// Secrets pass to the AWS CLI on stdin; an older xtask killed mid-way could leave the identity JSON
/// (with the private keys) in the plans directory. Removed at the next start.
fn remove_leftover_secrets(ctx: &Context) {
    let dir = ctx.work.join("plans");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".linkerd-identity.json") && std::fs::remove_file(entry.path()).is_ok() {
            eprintln!(
                "removed {}: a leftover copy of the mesh identity from a run that was killed",
                entry.path().display()
            );
        }
    }
}

fn emulator_ready(ctx: &Context, target: &Target) -> Result<()> {
    // The emulator answers for one account: a different one in xtask.toml is refused before it starts.
    if target.against == Against::Emulator && target.env.account_id != crate::emulator::ACCOUNT_ID {
        return Err(usage(format!(
            "refusing to touch `{}`: the AWS credentials belong to account {}, but {} says `{}` runs in account {}",
            target.env.name,
            crate::emulator::ACCOUNT_ID,
            target.config.path.display(),
            target.env.name,
            target.env.account_id
        )));
    }
    if let Some(port) = target.config.emulator_port {
        if crate::emulator::running(ctx).is_none() && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            return Err(usage(format!(
                "port {port} on 127.0.0.1 is taken by another process: set emulator.port in {} to a free one (or remove it)",
                target.config.path.display()
            )));
        }
    }
    Ok(())
}

fn overlay_renders(ctx: &Context, target: &Target) -> Result<()> {
    let overlay = &target.env.overlay;
    let dir = crate::k8s::overlay_dir(&ctx.root, overlay);
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: `{}` deploys the overlay `{overlay}`, but {} does not exist (the overlays: {})",
            target.config.path.display(),
            target.env.name,
            dir.display(),
            crate::k8s::overlays(&ctx.root).join(", ")
        )));
    }
    let yaml = crate::k8s::render(ctx, overlay)
        .map_err(|e| usage(format!("the `{overlay}` overlay does not render ({}): {e:#}", dir.display())))?;
    crate::k8s::parse(&yaml)
        .map_err(|e| usage(format!("the `{overlay}` overlay renders to YAML that does not parse: {e:#}")))?;
    Ok(())
}
