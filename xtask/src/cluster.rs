//! The cluster steps: what `deploy <env>` does after terraform (kubeconfig, platform releases in
//! dependency order, the mesh, the overlay, rollouts, verify) and what `destroy <env>` does before it,
//! in reverse. On the emulator there is no cluster: the same content is rendered and validated instead.

use anyhow::{Context as _, Result};

use crate::engine::{Cmd, Pipeline, Step};
use crate::releases::{self, Namespace, Release};
use crate::target::{output_placeholder, Target};
use crate::tools::{self, Tools};
use crate::{bindings, context::Context, gitops, k8s, mesh, steps};

fn kubeconfig_arg(target: &Target) -> String {
    format!("--kubeconfig={}", target.kubeconfig().display())
}

fn helm_install(ctx: &Context, target: &Target, release: &Release, resolve: &dyn Fn(&str) -> String) -> Cmd {
    let helm = Tools::new(ctx).cmd(tools::HELM);
    // A chart's crds/ are applied server-side by the step (release_commands): helm leaves them alone.
    let values = release.install_values(target.files(), &bound_values_dir(ctx, target, release));
    release.install(helm, &values, &target.kubeconfig(), resolve).arg("--skip-crds")
}

/// Where a release's values files that name terraform outputs are written bound, before helm reads them.
fn bound_values_dir(ctx: &Context, target: &Target, release: &Release) -> std::path::PathBuf {
    release.bound_dir(&ctx.work, &target.env.name)
}

/// `kubectl apply` of the CRDs a release's chart keeps in `crds/` (written first to `crds_file`).
fn crds_apply(ctx: &Context, target: &Target, release: &Release) -> Cmd {
    Tools::new(ctx)
        .cmd(tools::KUBECTL)
        .args(["apply", "--server-side", "--force-conflicts", "--field-manager=cargo-xtask", "-f"])
        .arg(crds_file(ctx, target, release).to_string_lossy())
        .arg(kubeconfig_arg(target))
}

/// The commands that install (or upgrade) one release, in order: what `deploy` runs per release and
/// `upgrade` runs for the releases that follow the Kubernetes version. A chart that keeps CRDs in its
/// `crds/` folder (`crds_folder` in the release list) gets them applied server-side first — Helm
/// installs those once and never upgrades them (helm.sh/docs/chart_best_practices/custom_resource_definitions),
/// so a chart upgrade that changes them would run against the old ones — and the release is installed
/// with `--skip-crds`. `outputs` resolves a terraform output name (a placeholder for `--dry-run`).
pub fn release_commands(
    ctx: &Context,
    target: &Target,
    release: &Release,
    outputs: &dyn Fn(&str) -> String,
) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    if release.crds_folder {
        cmds.push(release.show_crds(Tools::new(ctx).cmd(tools::HELM)));
        cmds.push(crds_apply(ctx, target, release));
    }
    cmds.push(helm_install(ctx, target, release, outputs));
    cmds
}

/// Installs one release with the recorded terraform outputs (each it takes must exist): its chart's
/// `crds/` first where it keeps CRDs there (`helm show crds`, written to a file, applied server-side).
pub fn install_release(
    c: &mut crate::engine::StepCtx,
    ctx: &Context,
    target: &Target,
    release: &Release,
) -> Result<()> {
    for name in release.set_from_terraform.values() {
        target.output(name).with_context(|| format!("release {} takes terraform outputs", release.name))?;
    }
    release.bind_values(ctx, target, false)?;
    if release.crds_folder {
        let crds = c.output(&release.show_crds(Tools::new(ctx).cmd(tools::HELM)))?;
        if k8s::parse(&crds)?.is_empty() {
            anyhow::bail!(
                "{} {} prints no CRDs (`helm show crds`), but helm-values/releases.toml says it keeps them in crds/ (`crds_folder`): correct the list",
                release.chart,
                release.version
            );
        }
        let file = crds_file(ctx, target, release);
        std::fs::create_dir_all(file.parent().unwrap_or(&file))?;
        std::fs::write(&file, &crds).with_context(|| format!("writing {}", file.display()))?;
        c.run(&crds_apply(ctx, target, release))?;
    }
    c.run(&helm_install(ctx, target, release, &|name| target.output(name).unwrap_or_default()))
}

/// Where the Namespace manifest deploy applies is written (the step writes it, then applies it).
fn namespace_file(ctx: &Context, target: &Target, ns: &Namespace) -> std::path::PathBuf {
    ctx.work.join("k8s").join("namespaces").join(format!("{}-{}.yaml", target.env.name, ns.name))
}

/// The namespace with its Pod Security labels, applied server-side before the first release into
/// it (helm's `--create-namespace` would make it unlabelled).
fn namespace_step<'a>(ctx: &'a Context, target: &'a Target, ns: Namespace) -> Step<'a> {
    let file = namespace_file(ctx, target, &ns);
    let apply = Tools::new(ctx)
        .cmd(tools::KUBECTL)
        .args(["apply", "--server-side", "--field-manager=cargo-xtask", "-f"])
        .arg(file.to_string_lossy())
        .arg(kubeconfig_arg(target));
    let labels: Vec<String> = ns.labels().iter().map(|(k, v)| format!("{k}={v}")).collect();
    Step::new(
        format!("namespace-{}", ns.name),
        format!("Namespace {} with its Pod Security labels", ns.name),
        vec![apply.clone()],
        move |c| {
            std::fs::create_dir_all(file.parent().unwrap_or(&file))?;
            std::fs::write(&file, ns.manifest()).with_context(|| format!("writing {}", file.display()))?;
            c.run(&apply)
        },
    )
    .note(labels.join(" "))
}

/// The namespace steps for the namespaces `releases` install into that aren't labelled yet
/// (`done`), in their order; a namespace the list leaves as the cluster has it gets none.
fn namespace_steps<'a>(
    ctx: &'a Context,
    target: &'a Target,
    namespaces: &[Namespace],
    releases: &[&Release],
    done: &mut Vec<String>,
    pipeline: &mut Pipeline<'a>,
) {
    for r in releases {
        if done.contains(&r.namespace) {
            continue;
        }
        done.push(r.namespace.clone());
        if let Some(ns) = namespaces.iter().find(|n| n.name == r.namespace && !n.leave) {
            pipeline.step(namespace_step(ctx, target, ns.clone()));
        }
    }
}

/// Where a release's `crds/` are written before they are applied.
fn crds_file(ctx: &Context, target: &Target, release: &Release) -> std::path::PathBuf {
    ctx.work.join("k8s").join("crds").join(format!("{}-{}.yaml", target.env.name, release.name))
}

/// Where the bound objects of k8s/cluster/ are written before they are applied.
fn before_releases_file(ctx: &Context, target: &Target) -> std::path::PathBuf {
    ctx.work.join("k8s").join(format!("{}-cluster.yaml", target.env.name))
}

/// What the releases need while they install (k8s/cluster/: the default StorageClass), as the
/// overlay renders it, bound, applied server-side before the first release.
fn before_releases_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let file = before_releases_file(ctx, target);
    let apply = Tools::new(ctx)
        .cmd(tools::KUBECTL)
        .args(["apply", "--server-side", "--field-manager=cargo-xtask", "-f"])
        .arg(file.to_string_lossy())
        .arg(kubeconfig_arg(target));
    Step::new(
        "cluster-objects",
        format!(
            "What the releases need first (k8s/{}/), from the `{}` overlay, bound",
            k8s::BEFORE_RELEASES,
            target.env.overlay
        ),
        vec![k8s::render_cmd(ctx, &target.env.overlay), apply.clone()],
        move |c| {
            let (yaml, _) = bound_render(ctx, target, false)?;
            let objects = k8s::parse(&yaml)?;
            let first = k8s::select(&objects, &k8s::before_releases_keys(ctx)?);
            if first.is_empty() {
                c.note(format!("k8s/{}/ defines nothing: nothing to apply", k8s::BEFORE_RELEASES));
                return Ok(());
            }
            let docs: Vec<String> = first.iter().map(serde_norway::to_string).collect::<Result<_, _>>()?;
            std::fs::create_dir_all(file.parent().unwrap_or(&file))?;
            std::fs::write(&file, docs.join("---\n")).with_context(|| format!("writing {}", file.display()))?;
            c.run(&apply)?;
            c.note(first.iter().map(|o| k8s::object_name(o)).collect::<Vec<_>>().join(", "));
            Ok(())
        },
    )
    .note(format!("the objects k8s/{}/ defines, before any release", k8s::BEFORE_RELEASES))
}

/// Everything `deploy` does after terraform's outputs are recorded.
pub fn deploy_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) -> Result<()> {
    let list = releases::ordered_list(target.files())?;
    let (releases, namespaces) = (list.releases, list.namespaces);
    if target.uses_emulator() {
        pipeline.preface(crate::target::NO_CLUSTER.replace("{env}", &target.env.name));
        pipeline.step(releases_check_step(ctx, target, releases.len()));
        pipeline.step(mesh::certs_step(ctx, target));
        mesh::install_steps(ctx, target, pipeline)?;
        pipeline.step(workloads_check_step(ctx, target));
        return Ok(());
    }
    pipeline.step(steps::kubeconfig_step(ctx, target));
    pipeline.step(before_releases_step(ctx, target));
    let mut labelled = Vec::new();
    let mesh: Vec<&Release> = releases.iter().filter(|r| r.is_mesh()).collect();
    for release in releases.iter().filter(|r| !r.is_mesh()).cloned() {
        namespace_steps(ctx, target, &namespaces, &[&release], &mut labelled, pipeline);
        let shown = release_commands(ctx, target, &release, &output_placeholder);
        let about = format!("helm {} {} into {}", release.chart, release.version, release.namespace);
        pipeline.step(Step::new(format!("helm-{}", release.name), about, shown, move |c| {
            install_release(c, ctx, target, &release)
        }));
    }
    namespace_steps(ctx, target, &namespaces, &mesh, &mut labelled, pipeline);
    pipeline.step(mesh::certs_step(ctx, target));
    mesh::install_steps(ctx, target, pipeline)?;

    // Where Argo CD runs, it owns the application: the deploy hands it the outputs and waits for it.
    if gitops::owns(ctx, &target.env.overlay) {
        gitops::deploy_steps(ctx, target, pipeline)?;
        pipeline.step(mesh::check_step(ctx, target));
        return Ok(());
    }
    let kubectl = || Tools::new(ctx).cmd(tools::KUBECTL);
    let bound = bound_file(ctx, target);
    let apply = kubectl()
        .args(["apply", "--server-side", "--field-manager=cargo-xtask", "-f"])
        .arg(bound.to_string_lossy())
        .arg(kubeconfig_arg(target));
    // A Job's pod template is immutable: the one a previous deploy left (kept a while for its logs,
    // ttlSecondsAfterFinished) is deleted first, so every deploy runs it again with this render.
    let delete_job = move |ns: &str, name: &str| {
        kubectl()
            .args(["delete", &format!("job/{name}"), "--namespace", ns, "--ignore-not-found=true", "--wait=true"])
            .arg(kubeconfig_arg(target))
    };
    pipeline.step(
        Step::new(
            "workloads",
            format!("Render the `{}` overlay, bind its terraform outputs, apply it (server-side)", target.env.overlay),
            vec![k8s::render_cmd(ctx, &target.env.overlay), delete_job("<namespace>", "<each Job>"), apply.clone()],
            move |c| {
                let (yaml, _) = bound_render(ctx, target, false)?;
                std::fs::create_dir_all(bound.parent().unwrap_or(&bound))?;
                std::fs::write(&bound, &yaml).with_context(|| format!("writing {}", bound.display()))?;
                for (ns, name) in k8s::of_kind(&k8s::parse(&yaml)?, "Job") {
                    c.run(&delete_job(&ns, &name))?;
                }
                c.run(&apply)
            },
        )
        .note(format!(
            "every ${{terraform:NAME[.KEY]}} in the render is replaced from the recorded outputs, written to {}",
            bound_file(ctx, target).display()
        )),
    );

    let rollout = move |ns: &str, name: &str| {
        kubectl()
            .args(["rollout", "status", &format!("deployment/{name}"), "--namespace", ns, "--timeout=10m"])
            .arg(kubeconfig_arg(target))
    };
    // The Jobs first: the services' pods are not ready until the database setup has made their logins.
    let complete = move |ns: &str, name: &str| {
        kubectl()
            .args(["wait", "--for=condition=complete", &format!("job/{name}"), "--namespace", ns, "--timeout=10m"])
            .arg(kubeconfig_arg(target))
    };
    pipeline.step(
        Step::new(
            "rollout",
            "Wait for every Job of the overlay to complete and every Deployment to roll out",
            vec![complete("<namespace>", "<each Job>"), rollout("<namespace>", "<each Deployment>")],
            move |c| {
                let objects = k8s::parse(&k8s::render(ctx, &target.env.overlay)?)?;
                let jobs = k8s::of_kind(&objects, "Job");
                for (ns, name) in &jobs {
                    c.run(&complete(ns, name))?;
                }
                let deployments = k8s::deployments(&objects);
                for (ns, name) in &deployments {
                    c.run(&rollout(ns, name))?;
                }
                c.note(format!("{} job(s) complete, {} deployments rolled out", jobs.len(), deployments.len()));
                Ok(())
            },
        )
        .note("one `wait --for=condition=complete` per Job, then one `rollout status` per Deployment, in the rendered overlay"),
    );
    pipeline.step(mesh::check_step(ctx, target));
    let verify = move |ns: &str| {
        kubectl()
            .args(["wait", "--for=condition=Available", "deployment", "--all", "--namespace", ns, "--timeout=5m"])
            .arg(kubeconfig_arg(target))
    };
    pipeline.step(Step::new(
        "verify",
        "Every application Deployment is Available",
        vec![verify("<each application namespace>")],
        move |c| {
            let objects = k8s::parse(&k8s::render(ctx, &target.env.overlay)?)?;
            let mut namespaces: Vec<String> = k8s::deployments(&objects).into_iter().map(|(ns, _)| ns).collect();
            namespaces.dedup();
            for ns in &namespaces {
                c.run(&verify(ns))?;
            }
            c.note(format!("available in {}", namespaces.join(", ")));
            Ok(())
        },
    ));
    Ok(())
}

/// What `destroy` removes before terraform: workloads, the mesh, then the releases, in reverse, so
/// the load balancers the ingress controller made are gone before the VPC is.
pub fn destroy_steps<'a>(ctx: &'a Context, target: &'a Target, pipeline: &mut Pipeline<'a>) -> Result<()> {
    if target.uses_emulator() {
        return Ok(());
    }
    pipeline.step(steps::kubeconfig_step(ctx, target));
    let kubectl = Tools::new(ctx).cmd(tools::KUBECTL);
    let delete = kubectl
        .args(["delete", "--ignore-not-found=true", "--wait=true", "-k"])
        .arg(k8s::overlay_dir(&ctx.root, &target.env.overlay).to_string_lossy())
        .arg(kubeconfig_arg(target));
    if gitops::owns(ctx, &target.env.overlay) {
        // Argo CD would put the workloads back: its root goes first, and with it (the applications'
        // resources finalizer) everything it synced.
        let delete_root = Tools::new(ctx)
            .cmd(tools::KUBECTL)
            .args(["delete", "--ignore-not-found=true", "--wait=true", "-k"])
            .arg(k8s::overlay_dir(&ctx.root, &gitops::root_overlay(&target.env.overlay)).to_string_lossy())
            .arg(kubeconfig_arg(target));
        pipeline.step(Step::new(
            "delete-gitops",
            format!("Delete `{}`'s Argo CD root and the applications it syncs", target.env.overlay),
            vec![delete_root.clone()],
            move |c| c.run(&delete_root),
        ));
    }
    pipeline.step(Step::new(
        "delete-workloads",
        format!("Delete the `{}` overlay's objects", target.env.overlay),
        vec![delete.clone()],
        move |c| c.run(&delete),
    ));
    let mut releases = releases::ordered(target.files())?;
    releases.reverse();
    // The mesh was installed after the other releases: it goes first.
    releases.sort_by_key(|r| !r.is_mesh());
    for release in releases {
        let uninstall = Tools::new(ctx)
            .cmd(tools::HELM)
            .args(["uninstall", &release.name, "--namespace", &release.namespace, "--wait", "--ignore-not-found"])
            .arg(kubeconfig_arg(target));
        pipeline.step(Step::new(
            format!("uninstall-{}", release.name),
            format!("helm uninstall {}", release.name),
            vec![uninstall.clone()],
            move |c| c.run(&uninstall),
        ));
    }
    Ok(())
}

/// Where the bound render of an environment's overlay is written before it is applied.
fn bound_file(ctx: &Context, target: &Target) -> std::path::PathBuf {
    ctx.work.join("k8s").join(format!("{}-overlay.yaml", target.env.name))
}

/// The overlay rendered, each `${terraform:…}` replaced from the recorded outputs
/// ([`bindings::bind_outputs`]).
fn bound_render(ctx: &Context, target: &Target, stand_ins: bool) -> Result<(String, Vec<String>)> {
    let yaml = k8s::render(ctx, &target.env.overlay)?;
    bindings::bind_outputs(&yaml, &target.outputs_file(), &target.env.name, stand_ins)
}

/// `local`: every release the overlay's environment gets has values that exist and parse.
fn releases_check_step<'a>(ctx: &'a Context, target: &'a Target, count: usize) -> Step<'a> {
    Step::new(
        "releases",
        format!("Check the values of `{}`'s {count} Helm releases (no cluster to install into)", target.env.overlay),
        vec![],
        move |c| {
            let findings = releases::check_all(&ctx.root, &releases::load_list(&ctx.root)?);
            for f in &findings {
                c.log(f.to_string());
            }
            if let Some(first) = findings.first() {
                anyhow::bail!("{} problem(s) in the release list, first: {first}", findings.len());
            }
            // Their values bound as deploy binds them (the registry host…), null outputs stood in for.
            let mut stood_in: Vec<String> = Vec::new();
            for release in releases::ordered(target.files())? {
                let stood = release.bind_values(ctx, target, true)?;
                for s in stood {
                    if !stood_in.contains(&s) {
                        stood_in.push(s);
                    }
                }
            }
            let stand_ins = match stood_in.is_empty() {
                true => String::new(),
                false => format!("; null on the emulator, so bound to a marked stand-in: {}", stood_in.join(", ")),
            };
            c.note(format!("{count} releases checked and their values bound, not installed{stand_ins}"));
            Ok(())
        },
    )
}

/// `local`: the overlay rendered and checked against the API schemas and the policies.
fn workloads_check_step<'a>(ctx: &'a Context, target: &'a Target) -> Step<'a> {
    let overlay = target.env.overlay.clone();
    Step::new(
        "workloads",
        format!("Render the `{overlay}` overlay and check it (no cluster to apply to)"),
        vec![k8s::render_cmd(ctx, &overlay)],
        move |c| {
            let (yaml, stood_in) = bound_render(ctx, target, true)?;
            // Written like deploy's bound render, so what the services were bound to can be read back.
            let bound = bound_file(ctx, target);
            std::fs::create_dir_all(bound.parent().unwrap_or(&bound))?;
            std::fs::write(&bound, &yaml).with_context(|| format!("writing {}", bound.display()))?;
            let objects = k8s::parse(&yaml)?;
            let where_ = k8s::overlay_dir(&ctx.root, &overlay);
            let mut findings = k8s::policies(&objects, &overlay, &where_);
            let (apis, next_minor) = crate::lifecycle::apis::overlay_findings(ctx, &overlay, &yaml)?;
            findings.extend(apis);
            for w in &next_minor {
                c.log(format!("warning: {w}"));
            }
            for f in &findings {
                c.log(f.to_string());
            }
            if let Some(first) = findings.first() {
                anyhow::bail!("{} problem(s) in the rendered overlay, first: {first}", findings.len());
            }
            let mut note = format!("{} objects rendered, bound and checked, not applied", objects.len());
            if !stood_in.is_empty() {
                note.push_str(&format!(
                    "; null on the emulator, so bound to a marked stand-in: {}",
                    stood_in.join(", ")
                ));
            }
            let has = |kind: &str, name: &str| {
                objects.iter().any(|o| k8s::text(o, &["kind"]) == kind && k8s::text(o, &["metadata", "name"]) == name)
            };
            let not_run: Vec<&str> = [("Job", "database-setup", "the database setup Job"), ("Deployment", "pgbouncer", "PgBouncer")]
                .into_iter()
                .filter(|(k, n, _)| has(k, n))
                .map(|(_, _, what)| what)
                .collect();
            if !not_run.is_empty() {
                note.push_str(&format!(
                    "; {} rendered and validated, not run (the emulator has no PostgreSQL and no cluster)",
                    not_run.join(" and ")
                ));
            }
            for line in note.split("; ") {
                c.log(line);
            }
            c.note(note);
            Ok(())
        },
    )
    .note("every ${terraform:NAME[.KEY]} bound from local's recorded outputs; an output null on the emulator gets a marked stand-in")
}
