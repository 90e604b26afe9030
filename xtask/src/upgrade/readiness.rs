//! The upgrade's preflight: everything that must hold before the control plane moves, checked without
//! changing anything, every problem collected into one refusal (exit 2):
//! - the versions: the cluster runs the target or the minor below it, terraform says one of the two;
//! - EKS upgrade insights (UPGRADE_READINESS) for the target: none is ERROR;
//! - no rendered object (the overlay; every release, `helm template --kube-version <target>`) uses an API
//!   removed at or before the target (k8s/removed-apis.toml);
//! - every release records that it runs on the target (`kubernetes` in helm-values/releases.toml), and a
//!   release that follows the Kubernetes version carries the target's line in its values;
//! - EKS lists a version of every installed add-on for the target; the project's kubectl is within one
//!   minor of it (kubectl's skew policy);
//! - the node groups run the cluster's version (EKS updates a control plane only then), and after the
//!   control plane moves they are within the kubelet's skew policy.

use anyhow::Result;

use super::eks::{self, read, Calls};
use super::Upgrade;
use crate::engine::{Cmd, Step, StepCtx};
use crate::error::usage;
use crate::lifecycle::{apis, Minor};
use crate::releases::{self, Release};
use crate::target::{output_placeholder, Target};
use crate::tools::{self, Tools};
use crate::{context::Context, k8s, steps};

/// The Kubernetes version skew policy: "kubelet may be up to three minor versions older than
/// kube-apiserver" (since 1.28), and kubectl "is supported within one minor version (older or newer) of
/// kube-apiserver" (https://kubernetes.io/releases/version-skew-policy/).
pub const KUBELET_SKEW: i64 = 3;
pub const KUBECTL_SKEW: i64 = 1;

/// `helm template` of a release for a Kubernetes version: what the removed-API check reads.
pub fn template(ctx: &Context, target: &Target, release: &Release, to: Minor, outputs: &dyn Fn(&str) -> String) -> Cmd {
    let mut cmd = Tools::new(ctx)
        .cmd(tools::HELM)
        .args(["template", &release.name, &release.chart, "--repo", &release.repository])
        .args(["--version", &release.version, "--namespace", &release.namespace, "--include-crds"])
        .arg(format!("--kube-version={to}.0"));
    for file in release.values_files(target.files()) {
        cmd = cmd.arg("-f").arg(file.to_string_lossy());
    }
    for (path, output) in &release.set_from_terraform {
        cmd = cmd.arg("--set").arg(format!("{path}={}", outputs(output)));
    }
    cmd
}

/// The releases the environment gets, in list order (none where there is no cluster). Not
/// `releases::ordered`: that refuses a list whose `follows_kubernetes` values are at another minor than
/// terraform's, which is what a tree whose pins moved ahead of its `kubernetes_version` looks like; the
/// preflight judges those values against the target instead.
pub fn releases_of(ctx: &Context, target: &Target) -> Result<Vec<Release>> {
    if target.uses_emulator() {
        return Ok(Vec::new());
    }
    let env = &target.env.overlay;
    Ok(releases::load(&ctx.root)?.into_iter().filter(|r| r.environments.iter().any(|e| e == env)).collect())
}

pub fn step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Result<Step<'a>> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let ep = shown.endpoint.as_deref();
    let cluster = output_placeholder("cluster_name");
    let releases = releases_of(ctx, target)?;
    let mut cmds = vec![steps::account_cmd(ctx, target, ep)];
    cmds.extend(steps::init_cmd(ctx, target, ep));
    cmds.extend(target.output_cmd(ctx, ep));
    cmds.push(shown.describe_cluster(&cluster));
    if !target.uses_emulator() {
        cmds.extend([shown.list_insights(&cluster), shown.describe_insight(&cluster, "<each insight not PASSING>")]);
    }
    cmds.push(k8s::render_cmd(ctx, &target.env.overlay));
    cmds.extend(releases.iter().map(|r| template(ctx, target, r, up.to, &output_placeholder)));
    if !target.omits("eks_addons") {
        cmds.extend([
            shown.list_addons(&cluster),
            shown.describe_addon(&cluster, "<each add-on>"),
            shown.addon_versions(&up.to.to_string(), "<each add-on>"),
        ]);
    }
    cmds.extend([shown.list_nodegroups(&cluster), shown.describe_nodegroup(&cluster, "<each node group>")]);
    let about = format!(
        "Check that `{}` can move to Kubernetes {}: versions, upgrade insights, removed APIs, what supports {}, node skew",
        target.env.name, up.to, up.to
    );
    let mut note = "nothing changes here; every problem found is listed in one refusal (exit 2)".to_string();
    if target.uses_emulator() {
        note.push_str(
            "; on the emulator: no upgrade insights (no ListInsights), no add-ons and no releases (local has neither)",
        );
    }
    Ok(Step::new("preflight", about, cmds, move |c| {
        steps::check_tools_and_account(c, ctx, target, &[crate::tools::TERRAFORM, crate::tools::AWS])?;
        let endpoint = target.endpoint(ctx)?;
        target.prepare(ctx, endpoint.as_deref(), true)?;
        c.run(&steps::init_cmd(ctx, target, endpoint.as_deref())?)?;
        target.record_outputs(c, ctx, endpoint.as_deref())?;
        let cluster = target.output("cluster_name")?;
        let calls = Calls { ctx, target, endpoint };
        let mut found = Found::default();
        let running = versions(c, &calls, &cluster, up, &mut found)?;
        if !target.uses_emulator() {
            insights(c, &calls, &cluster, up.to, &mut found)?;
        }
        removed_apis(c, ctx, target, &releases, up.to, &mut found)?;
        support(&releases, target, up.to, &mut found);
        if !target.omits("eks_addons") {
            addons(c, &calls, &cluster, up.to, &mut found)?;
        }
        kubectl(running, up.to, &mut found);
        nodes(c, &calls, &cluster, running, up.to, &mut found)?;
        for line in &found.notes {
            c.log(line);
        }
        for line in &found.warnings {
            c.log(format!("warning: {line}"));
            c.fact(format!("upgrade {}: {line}", target.env.name));
        }
        if !found.problems.is_empty() {
            return Err(usage(format!(
                "refusing to upgrade `{}` to Kubernetes {}; nothing was changed. Fix these first:\n  - {}",
                target.env.name,
                up.to,
                found.problems.join("\n  - ")
            )));
        }
        c.note(format!("ready: {running} → {} ({} warning(s))", up.to, found.warnings.len()));
        Ok(())
    })
    .note(note))
}

#[derive(Default)]
struct Found {
    problems: Vec<String>,
    warnings: Vec<String>,
    notes: Vec<String>,
}

/// The cluster's version against the target and terraform's; the cluster must be ACTIVE.
fn versions(c: &mut StepCtx, calls: &Calls, cluster: &str, up: &Upgrade, found: &mut Found) -> Result<Minor> {
    let answer: eks::DescribeCluster = read("describe-cluster", &c.output(&calls.describe_cluster(cluster))?)?;
    let running = Minor::parse(&answer.cluster.version)
        .ok_or_else(|| anyhow::anyhow!("EKS reports version `{}` for {cluster}", answer.cluster.version))?;
    if !answer.cluster.status.is_empty() && answer.cluster.status != "ACTIVE" {
        found.problems.push(format!(
            "cluster {cluster} is {}, not ACTIVE: wait for what it is doing to finish (`aws eks describe-cluster --name {cluster}`)",
            answer.cluster.status
        ));
    }
    let tree = format!("{}:{}", up.tree_file.display(), up.tree_line);
    match up.to.above(running) {
        1 => found.notes.push(format!("control plane: {running} → {}", up.to)),
        0 => found.notes.push(format!(
            "control plane: already runs {} (upgraded earlier, by this command or by AWS); the add-ons and node groups follow",
            up.to
        )),
        n if n > 1 => found.problems.push(format!(
            "cluster {cluster} runs Kubernetes {running}: an upgrade moves one minor at a time, so --to {} first ({} is {n} minors up)",
            running.next(),
            up.to
        )),
        _ => found.problems.push(format!(
            "cluster {cluster} already runs Kubernetes {running}, newer than {}: set kubernetes_version = \"{running}\" ({tree})",
            up.to
        )),
    }
    if up.tree != up.to {
        found.notes.push(format!("terraform says {} ({tree}): the control-plane step writes {} there", up.tree, up.to));
    }
    Ok(running)
}

/// EKS upgrade insights for the target: ERROR refuses, WARNING and UNKNOWN are said.
fn insights(c: &mut StepCtx, calls: &Calls, cluster: &str, to: Minor, found: &mut Found) -> Result<()> {
    let list: eks::ListInsights = read("list-insights", &c.output(&calls.list_insights(cluster))?)?;
    let (mut passing, mut seen) = (0, 0);
    for summary in list.insights {
        let relevant = summary.kubernetes_version.as_deref().and_then(Minor::parse).is_none_or(|v| v <= to);
        if !relevant {
            continue;
        }
        seen += 1;
        if summary.insight_status.status == "PASSING" {
            passing += 1;
            continue;
        }
        let detail: eks::DescribeInsight =
            read("describe-insight", &c.output(&calls.describe_insight(cluster, &summary.id))?)?;
        let i = detail.insight;
        let name = if i.name.is_empty() { summary.name.clone() } else { i.name.clone() };
        let mut line =
            format!("EKS upgrade insight \"{name}\" is {}: {}", i.insight_status.status, i.insight_status.reason);
        if !i.recommendation.is_empty() {
            line.push_str(&format!(" — {}", i.recommendation));
        }
        let resources: Vec<String> =
            i.resources.iter().filter_map(|r| r.kubernetes_resource_uri.clone().or(r.arn.clone())).take(5).collect();
        if !resources.is_empty() {
            line.push_str(&format!(" (resources: {})", resources.join(", ")));
        }
        match i.insight_status.status.as_str() {
            "ERROR" => found.problems.push(line),
            _ => found.warnings.push(line),
        }
    }
    found.notes.push(format!("upgrade insights: {seen} for {to} or earlier, {passing} passing"));
    Ok(())
}

/// Objects of APIs removed at or before the target: in the overlay, and in every release rendered for it.
fn removed_apis(
    c: &mut StepCtx,
    ctx: &Context,
    target: &Target,
    releases: &[Release],
    to: Minor,
    found: &mut Found,
) -> Result<()> {
    let overlay = &target.env.overlay;
    let yaml = k8s::render(ctx, overlay)?;
    let (refused, next) = apis::check_overlay(&ctx.root, overlay, &yaml, to, &[])?;
    found.problems.extend(refused.into_iter().map(|f| f.relative_to(&ctx.root).to_string()));
    found.warnings.extend(next.into_iter().map(|f| f.relative_to(&ctx.root).to_string()));
    let removals = apis::Removals::load(&ctx.root)?;
    let value = |name: &str| target.output(name).unwrap_or_else(|_| output_placeholder(name));
    for r in releases {
        let rendered = match c.attempt(&template(ctx, target, r, to, &value))? {
            Ok(yaml) => yaml,
            Err(stderr) => {
                let why = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string();
                found
                    .problems
                    .push(format!("release `{}` {} does not render for Kubernetes {to}: {why}", r.name, r.version));
                continue;
            }
        };
        let objects = k8s::parse(&rendered)?;
        let (refused, next) = apis::check_objects(&removals, &objects, to);
        let at = |m: String| format!("release `{}` {} (helm template --kube-version {to}.0): {m}", r.name, r.version);
        found.problems.extend(refused.into_iter().map(at));
        found.warnings.extend(next.into_iter().map(at));
    }
    found
        .notes
        .push(format!("removed APIs: the `{overlay}` overlay and {} release(s) rendered for {to}", releases.len()));
    Ok(())
}

/// Each release records the target as supported, and a release that follows the Kubernetes version is
/// at the target's line.
fn support(releases: &[Release], target: &Target, to: Minor, found: &mut Found) {
    let key = to.to_string();
    for r in releases {
        match r.kubernetes.get(&key).map(String::as_str) {
            Some("matrix") => {}
            Some(kind) => found.warnings.push(format!(
                "release `{}` {} runs on {to} by {kind} (helm-values/README.md says why), not by its project's matrix",
                r.name, r.version
            )),
            None => found.problems.push(format!(
                "release `{}` {}: nothing records that it supports Kubernetes {to}: check its project's support matrix, then add `\"{to}\" = \"matrix\"` (or \"decision\", with the reason in helm-values/README.md) to its `kubernetes` in {}:{}",
                r.name,
                r.version,
                releases::LIST,
                r.line
            )),
        }
        if let Some(path) = &r.follows_kubernetes {
            let values = r.values(target.files());
            let set = path.split('.').try_fold(&values, |v, k| v.get(k)).and_then(|v| v.as_str()).unwrap_or("");
            if Minor::parse(set) != Some(to) {
                found.problems.push(format!(
                    "release `{}` follows the Kubernetes minor by `{path}`, which is `{set}` in `{}`'s values: set it to the newest {to} patch in helm-values/{}/values.yaml (with a chart that supports {to})",
                    r.name, target.env.overlay, r.name
                ));
            }
        }
    }
}

/// Every installed add-on has a version EKS lists for the target.
fn addons(c: &mut StepCtx, calls: &Calls, cluster: &str, to: Minor, found: &mut Found) -> Result<()> {
    let list: eks::ListAddons = read("list-addons", &c.output(&calls.list_addons(cluster))?)?;
    for name in &list.addons {
        let current: eks::DescribeAddon = read("describe-addon", &c.output(&calls.describe_addon(cluster, name))?)?;
        let versions: eks::AddonVersions =
            read("describe-addon-versions", &c.output(&calls.addon_versions(&to.to_string(), name))?)?;
        match eks::version_for(&versions, &to.to_string()) {
            Some(v) => found.notes.push(format!("add-on {name}: {} → {v}", current.addon.addon_version)),
            None => found.problems.push(format!(
                "add-on {name} ({}): EKS lists no version of it for Kubernetes {to} (`aws eks describe-addon-versions --kubernetes-version {to} --addon-name {name}`)",
                current.addon.addon_version
            )),
        }
    }
    Ok(())
}

/// The project's kubectl must talk to the cluster before and after.
fn kubectl(running: Minor, to: Minor, found: &mut Found) {
    let Some(pinned) = tools::pinned_version(tools::KUBECTL).and_then(Minor::parse) else { return };
    for v in [running, to] {
        if pinned.above(v).abs() > KUBECTL_SKEW {
            found.problems.push(format!(
                "the project's kubectl {pinned} (xtask/src/tools/mod.rs) is more than {KUBECTL_SKEW} minor from Kubernetes {v}: kubectl is supported within one minor of the API server (https://kubernetes.io/releases/version-skew-policy/#kubectl); move its pin first"
            ));
        }
    }
}

/// EKS updates a control plane only while every managed node group runs its version (UpdateClusterVersion,
/// EKS API Reference); after the update, the nodes must be within the kubelet's skew.
fn nodes(c: &mut StepCtx, calls: &Calls, cluster: &str, running: Minor, to: Minor, found: &mut Found) -> Result<()> {
    let list: eks::ListNodegroups = read("list-nodegroups", &c.output(&calls.list_nodegroups(cluster))?)?;
    for group in &list.nodegroups {
        let answer: eks::DescribeNodegroup =
            read("describe-nodegroup", &c.output(&calls.describe_nodegroup(cluster, group))?)?;
        let Some(v) = Minor::parse(&answer.nodegroup.version) else {
            found.problems.push(format!("node group {group}: EKS reports version `{}`", answer.nodegroup.version));
            continue;
        };
        if running != to && v != running {
            found.problems.push(format!(
                "node group {group} runs {v}, the control plane {running}: EKS updates a control plane only when every managed node group runs its version (UpdateClusterVersion): bring {group} to {running} first"
            ));
        }
        if to.above(v) > KUBELET_SKEW || v.above(to) > 0 {
            found.problems.push(format!(
                "node group {group} runs {v}: with the control plane at {to} that is outside the kubelet's skew policy (at most {KUBELET_SKEW} minors older, never newer: https://kubernetes.io/releases/version-skew-policy/#kubelet)"
            ));
        }
        if !answer.nodegroup.status.is_empty() && answer.nodegroup.status != "ACTIVE" {
            found.problems.push(format!("node group {group} is {}, not ACTIVE", answer.nodegroup.status));
        }
        found.notes.push(format!("node group {group}: {v}"));
    }
    Ok(())
}
