//! `upgrade`: the refusals made before anything runs, the dry run of a real environment from a tree at a
//! known version, and the whole pipeline from 1.35 to 1.36 through recording stand-ins for the calls the
//! emulator lacks (UpdateClusterVersion, UpdateAddon, DescribeAddonVersions, UpdateNodegroupVersion,
//! ListInsights): order and flags, the abort on an ERROR insight, a removed API and an unrecorded
//! release, a plan that would replace the cluster, a failed node group and `--resume`. The version
//! change planned against the emulator for real is in e2e.rs (the `local` lifecycle).
//! Also: `validate`'s removed-API check on a broken copy, and the support warnings of `doctor`.

use crate::common::*;

/// The repository's release list, values, overlays, environment roots and Kubernetes tables in a scratch
/// copy, every environment's kubernetes_version set to `version` (and cluster-autoscaler's image to that
/// line, as the release list pairs them).
fn repo_at(version: &str) -> Sandbox {
    let mut files =
        crate::validate::repo_files(&["helm-values", "k8s", "terraform/environments", "terraform/stack", "cost"]);
    files.push(("xtask.toml".into(), std::fs::read_to_string(repo_root().join("xtask.toml")).unwrap()));
    for (path, text) in files.iter_mut() {
        if path.ends_with("main.tf") && path.starts_with("terraform/environments/") {
            *text = text
                .lines()
                .map(|l| match l.split_once("kubernetes_version = \"") {
                    Some((head, _)) => format!("{head}kubernetes_version = \"{version}\""),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        if path.starts_with("helm-values/cluster-autoscaler/") {
            *text = text
                .lines()
                .map(|l| match l.split_once("tag: v1.") {
                    Some((head, _)) => format!("{head}tag: v{version}.0"),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    Sandbox::new().with_root(&refs)
}

fn step_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest.split(" — ").next().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn the_dry_run_prints_the_steps_in_order_and_a_skip_or_a_way_back_is_refused() {
    let sb = repo_at("1.35");
    let out = sb.run(&["upgrade", "dev", "--to", "1.36", "--dry-run"]);
    out.assert_code(0);
    let text = out.stdout();
    assert_eq!(
        step_lines(&text),
        ["preflight", "control-plane", "add-ons", "node-groups", "kubeconfig", "releases", "verify"],
        "{text}"
    );
    for expected in [
        "aws eks list-insights --cluster-name '<terraform output cluster_name>' --filter categories=UPGRADE_READINESS",
        "--kube-version=1.36.0",
        "first writes kubernetes_version = \"1.36\" into terraform/environments/dev/main.tf:",
        "aws eks describe-addon-versions --kubernetes-version 1.36",
        "aws eks update-nodegroup-version --cluster-name '<terraform output cluster_name>' --nodegroup-name '<each node group>' --kubernetes-version 1.36",
        "helm upgrade --install cluster-autoscaler",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
    assert!(sb.calls().is_empty() && !sb.work().join("journal").exists(), "a dry run runs nothing");

    let sb = repo_at("1.36");
    for (to, why) in [
        ("1.38", "an upgrade moves one minor at a time (1.38 is 2 up): run `cargo xtask upgrade dev --to 1.37` first"),
        ("1.35", "a control plane never goes back a minor"),
        ("1.36.1", "--to `1.36.1` is not a Kubernetes minor version like 1.36"),
    ] {
        let out = sb.run(&["upgrade", "dev", "--to", to, "--dry-run"]);
        out.assert_code(2);
        assert!(out.stderr().contains(why), "--to {to}: {}", out.stderr());
    }
    // The tree at the target already (its pins moved): the control plane step writes nothing.
    let out = sb.run(&["upgrade", "dev", "--to", "1.36", "--dry-run"]);
    out.assert_code(0);
    assert!(!out.stdout().contains("first writes kubernetes_version"), "{}", out.stdout());
}

const MAIN_TF: &str = "terraform {\n  backend \"s3\" {}\n}\n\nmodule \"stack\" {\n  source             = \"../../stack\"\n  kubernetes_version = \"1.35\"\n}\n";

const RELEASES: &str = r#"[[release]]
name = "cert-manager"
chart = "cert-manager"
repository = "https://charts.jetstack.io"
version = "v1.21.1"
namespace = "cert-manager"
environments = ["dev"]
pods = { dev = 3 }
kubernetes = { "1.35" = "matrix", "1.36" = "matrix" }

[[release]]
name = "cluster-autoscaler"
chart = "cluster-autoscaler"
repository = "https://kubernetes.github.io/autoscaler"
version = "9.60.0"
namespace = "kube-system"
environments = ["dev"]
set_from_terraform = { "autoDiscovery.clusterName" = "cluster_name" }
follows_kubernetes = "image.tag"
pods = { dev = 1 }
kubernetes = { "1.36" = "decision" }

[[namespace]]
name = "kube-system"
leave = true

[[namespace]]
name = "cert-manager"
enforce = "restricted"
"#;

const APP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gateway\n  namespace: authorworks\nspec:\n  selector:\n    matchLabels: {app: gateway}\n  template:\n    metadata:\n      labels: {app: gateway}\n    spec:\n      containers:\n        - name: gateway\n          image: ghcr.io/authorworks/gateway:1.0.0\n";

/// The plan of the version change as terraform shows it: the cluster updated in place, its version the
/// only change (`platform_version` is computed).
const IN_PLACE: &str = r#"{"format_version":"1.2","resource_changes":[{"address":"module.stack.module.eks.aws_eks_cluster.this","mode":"managed","type":"aws_eks_cluster","change":{"actions":["update"],"before":{"name":"authorworks-dev-eks","version":"1.35","platform_version":"eks.7"},"after":{"name":"authorworks-dev-eks","version":"1.36"},"after_unknown":{"platform_version":true}}},{"address":"module.stack.module.eks.aws_eks_node_group.this[\"system\"]","mode":"managed","type":"aws_eks_node_group","change":{"actions":["no-op"],"before":{},"after":{}}}]}"#;

/// A repository with one environment (dev, real AWS, tree at 1.35) whose cluster the stand-ins play:
/// the control plane and node groups at 1.35 until terraform's apply and UpdateNodegroupVersion move
/// them, two add-ons, an upgrade insight that is WARNING (or `$INSIGHT`), releases that render
/// (`$REMOVED_API`: cert-manager renders a policy/v1beta1 PodDisruptionBudget).
fn cluster() -> Sandbox {
    let mut files = fixture_files();
    files.retain(|(p, _)| {
        !p.starts_with("terraform/environments/dev/") && !p.starts_with("k8s/overlays/dev/") && *p != "xtask.toml"
    });
    // `standby` runs dev's overlay in another region, as dr runs production's: dev's upgrade names it.
    let config = format!(
        "{FIXTURE_CONFIG}\n[environments.standby]\naccount_id = \"111122223333\"\nregion = \"us-west-2\"\noverlay = \"dev\"\n"
    );
    let calendar = std::fs::read_to_string(repo_root().join("k8s/eks-versions.toml")).unwrap();
    let removed = std::fs::read_to_string(repo_root().join("k8s/removed-apis.toml")).unwrap();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    files.extend([
        ("terraform/environments/dev/main.tf", MAIN_TF),
        ("xtask.toml", leak(config)),
        ("k8s/eks-versions.toml", leak(calendar)),
        ("k8s/removed-apis.toml", leak(removed)),
        ("k8s/overlays/dev/kustomization.yaml", "resources:\n  - app.yaml\n"),
        ("k8s/overlays/dev/app.yaml", APP),
        ("helm-values/releases.toml", RELEASES),
        ("helm-values/cert-manager/values.yaml", "{}\n"),
        ("helm-values/cert-manager/values-dev.yaml", "{}\n"),
        ("helm-values/cluster-autoscaler/values.yaml", "image:\n  tag: v1.36.1\n"),
        ("helm-values/cluster-autoscaler/values-dev.yaml", "{}\n"),
    ]);
    let sb = Sandbox::new().with_root(&files);
    let state = sb.path("cluster");
    std::fs::create_dir_all(&state).unwrap();
    let no_tools = sb.path("no-tools");
    let sb = sb.env("XTASK_TOOLS_DIR", no_tools.to_str().unwrap());
    let s = state.display();
    sb.standin(
        "aws",
        &format!(
            r#"S="{s}"; cp=$(cat "$S/cp" 2>/dev/null || echo 1.35); ng=$(cat "$S/ng" 2>/dev/null || echo 1.35)
insight='{{"id":"ins-skew","name":"Kubelet version skew","kubernetesVersion":"1.36","insightStatus":{{"status":"'"${{INSIGHT:-WARNING}}"'","reason":"Node kubelet versions differ from the control plane"}}'
case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *list-buckets*) echo authorworks-dev-tfstate-111122223333 ;;
  *"eks describe-cluster"*) echo '{{"cluster":{{"name":"authorworks-dev-eks","version":"'$cp'","status":"ACTIVE"}}}}' ;;
  *"eks list-insights"*) echo '{{"insights":[{{"id":"ins-apis","name":"Deprecated APIs removed in Kubernetes v1.36","kubernetesVersion":"1.36","insightStatus":{{"status":"PASSING","reason":"none used"}}}},{{"id":"ins-old","name":"Old","kubernetesVersion":"1.37","insightStatus":{{"status":"ERROR","reason":"about 1.37"}}}},'"$insight"'}}]}}' ;;
  *"eks describe-insight"*) echo '{{"insight":{{"id":"ins-skew","name":"Kubelet version skew","insightStatus":{{"status":"'"${{INSIGHT:-WARNING}}"'","reason":"Node kubelet versions differ from the control plane"}},"recommendation":"Upgrade the nodes after the control plane","resources":[{{"kubernetesResourceUri":"/api/v1/nodes/ip-10-2-11-5"}}]}}}}' ;;
  *"eks list-addons"*) echo '{{"addons":["coredns","vpc-cni"]}}' ;;
  *"eks describe-addon-versions"*) echo '{{"addons":[{{"addonVersions":[{{"addonVersion":"v1.21.0-eksbuild.1","compatibilities":[{{"clusterVersion":"1.36","defaultVersion":false}}]}},{{"addonVersion":"v1.20.1-eksbuild.1","compatibilities":[{{"clusterVersion":"1.36","defaultVersion":true}}]}}]}}]}}' ;;
  *"eks describe-addon"*) echo '{{"addon":{{"addonVersion":"v1.11.4-eksbuild.1","status":"ACTIVE"}}}}' ;;
  *"eks update-addon"*) echo '{{"update":{{"id":"upd-addon","status":"InProgress"}}}}' ;;
  *"eks describe-update"*nodegroup*) if [ -n "$NODEGROUP_FAILS" ]; then echo '{{"update":{{"id":"upd-ng","status":"Failed","errors":[{{"errorCode":"PodEvictionFailure","errorMessage":"Reached max retries while trying to evict pods from nodes in node group system"}}]}}}}'; else echo 1.36 > "$S/ng"; echo '{{"update":{{"id":"upd-ng","status":"Successful"}}}}'; fi ;;
  *"eks describe-update"*) echo '{{"update":{{"id":"upd-addon","status":"Successful"}}}}' ;;
  *"eks list-nodegroups"*) echo '{{"nodegroups":["authorworks-dev-eks-system"]}}' ;;
  *"eks describe-nodegroup"*) echo '{{"nodegroup":{{"version":"'$ng'","status":"ACTIVE"}}}}' ;;
  *"eks update-nodegroup-version"*) echo '{{"update":{{"id":"upd-ng","status":"InProgress"}}}}' ;;
esac"#
        ),
    )
    .standin(
        "terraform",
        &format!(
            r#"S="{s}"
case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) if [ -f "$S/plan.json" ]; then cat "$S/plan.json"; else echo '{IN_PLACE}'; fi ;;
  apply) echo 1.36 > "$S/cp" ;;
  output) echo '{{"stack":{{"value":{{"cluster_name":"authorworks-dev-eks"}}}}}}' ;;
esac"#
        ),
    )
    .standin(
        "helm",
        r#"if [ "$1" = template ]; then
  if [ -n "$REMOVED_API" ] && [ "$2" = cert-manager ]; then printf 'apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\n'
  else printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: x\n' "$2"; fi
fi"#,
    )
    .standin(
        "kubectl",
        &format!(
            r#"[ "$1" = kustomize ] && exec "{}" "$@"
case "$*" in
  *"get nodes"*) echo '{{"items":[{{"metadata":{{"name":"ip-10-2-11-5"}},"status":{{"nodeInfo":{{"kubeletVersion":"v1.36.2-eks-3025e55"}},"conditions":[{{"type":"Ready","status":"True"}}]}}}}]}}' ;;
esac"#,
            repo_root().join(".tools/bin/kubectl").display()
        ),
    )
}

fn upgrade(sb: &Sandbox, env: &[(&str, &str)], extra: &[&str]) -> Run {
    let mut args = vec!["upgrade", "dev", "--to", "1.36"];
    args.extend_from_slice(extra);
    let mut cmd = sb.command(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run(cmd.output().unwrap())
}

fn position(calls: &[String], needle: &str) -> usize {
    calls.iter().position(|c| c.contains(needle)).unwrap_or_else(|| panic!("`{needle}` was not called: {calls:#?}"))
}

#[test]
fn the_pipeline_moves_the_cluster_from_1_35_to_1_36_in_order() {
    let sb = cluster();
    let out = upgrade(&sb, &[], &[]);
    out.assert_code(0);
    let calls = sb.calls();
    let order = [
        "aws sts get-caller-identity",
        "terraform output -json",
        "aws eks describe-cluster --name authorworks-dev-eks",
        "aws eks list-insights --cluster-name authorworks-dev-eks --filter categories=UPGRADE_READINESS",
        "aws eks describe-insight --cluster-name authorworks-dev-eks --id ins-skew",
        "helm template cert-manager cert-manager --repo https://charts.jetstack.io --version v1.21.1",
        "aws eks describe-addon-versions --kubernetes-version 1.36 --addon-name coredns",
        "aws eks list-nodegroups",
        "terraform plan",
        "terraform apply",
        "aws eks update-addon --cluster-name authorworks-dev-eks --addon-name vpc-cni --addon-version v1.20.1-eksbuild.1 --resolve-conflicts OVERWRITE",
        "aws eks update-addon --cluster-name authorworks-dev-eks --addon-name coredns",
        "aws eks update-nodegroup-version --cluster-name authorworks-dev-eks --nodegroup-name authorworks-dev-eks-system --kubernetes-version 1.36",
        "aws eks describe-update --name authorworks-dev-eks --update-id upd-ng --nodegroup-name authorworks-dev-eks-system",
        "aws eks update-kubeconfig --name authorworks-dev-eks",
        "helm upgrade --install cluster-autoscaler",
        "kubectl get nodes --output json",
    ];
    for pair in order.windows(2) {
        assert!(
            position(&calls, pair[0]) < position(&calls, pair[1]),
            "`{}` before `{}`: {calls:#?}",
            pair[0],
            pair[1]
        );
    }
    // Only the insights about 1.36 or earlier that are not PASSING are described.
    assert!(!calls.iter().any(|c| c.contains("--id ins-apis") || c.contains("--id ins-old")), "{calls:#?}");
    assert!(calls.iter().any(|c| c.contains("helm template") && c.contains("--kube-version=1.36.0")), "{calls:#?}");
    assert!(!calls.iter().any(|c| c.contains("--force")), "node groups are drained within their budgets: {calls:#?}");
    assert!(
        calls.iter().filter(|c| c.contains("update-addon")).all(|c| c.contains("--addon-version v1.20.1-eksbuild.1")),
        "EKS's default for 1.36, not the newest: {calls:#?}"
    );
    // Terraform's version moved (the tree said 1.35), and the run says to commit it.
    let main = std::fs::read_to_string(sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf")).unwrap();
    assert!(main.contains("kubernetes_version = \"1.36\""), "{main}");
    let text = out.stdout();
    assert!(
        text.contains("terraform/environments/dev/main.tf now says kubernetes_version = \"1.36\" (it said 1.35): commit it with this upgrade"),
        "{text}"
    );
    assert!(
        text.contains("`standby` runs `dev`'s overlay: set kubernetes_version = \"1.36\" in terraform/environments/standby/main.tf in the same commit"),
        "{text}"
    );
    assert!(text.contains("Kubelet version skew\" is WARNING"), "the warning insight is said: {text}");
    assert!(text.contains("release `cluster-autoscaler` 9.60.0 runs on 1.36 by decision"), "{text}");
    for step in ["preflight", "control-plane", "add-ons", "node-groups", "releases", "verify"] {
        assert!(text.lines().any(|l| l.starts_with(step) && l.contains("done")), "{step} done:\n{text}");
    }
}

#[test]
fn the_preflight_refuses_with_every_problem_and_changes_nothing() {
    let sb = cluster();
    let out = upgrade(&sb, &[("INSIGHT", "ERROR"), ("REMOVED_API", "1")], &[]);
    out.assert_code(2);
    let err = out.stderr();
    for expected in [
        "refusing to upgrade `dev` to Kubernetes 1.36; nothing was changed",
        "EKS upgrade insight \"Kubelet version skew\" is ERROR: Node kubelet versions differ from the control plane — Upgrade the nodes after the control plane (resources: /api/v1/nodes/ip-10-2-11-5)",
        "release `cert-manager` v1.21.1 (helm template --kube-version 1.36.0): PodDisruptionBudget cert-manager/cert-manager: policy/v1beta1 is not served since Kubernetes 1.25",
    ] {
        assert!(err.contains(expected), "`{expected}` missing from:\n{err}");
    }
    let calls = sb.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("terraform plan")
            || c.starts_with("terraform apply")
            || c.contains("update-addon")
            || c.contains("update-nodegroup-version")),
        "nothing after the preflight ran: {calls:#?}"
    );
    let main = std::fs::read_to_string(sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf")).unwrap();
    assert_eq!(main, MAIN_TF, "terraform's version is untouched");

    // A release with no record for 1.36, and a follower still on the old line.
    let sb = cluster();
    let root = sb.root.clone().unwrap();
    let list = std::fs::read_to_string(root.join("helm-values/releases.toml")).unwrap();
    std::fs::write(root.join("helm-values/releases.toml"), list.replace(", \"1.36\" = \"matrix\"", "")).unwrap();
    std::fs::write(root.join("helm-values/cluster-autoscaler/values.yaml"), "image:\n  tag: v1.35.2\n").unwrap();
    let out = upgrade(&sb, &[], &[]);
    out.assert_code(2);
    let err = out.stderr();
    for expected in [
        "release `cert-manager` v1.21.1: nothing records that it supports Kubernetes 1.36",
        "release `cluster-autoscaler` follows the Kubernetes minor by `image.tag`, which is `v1.35.2` in `dev`'s values",
    ] {
        assert!(err.contains(expected), "`{expected}` missing from:\n{err}");
    }
}

#[test]
fn a_plan_that_does_more_than_move_the_version_is_not_applied() {
    let sb = cluster();
    let replace = IN_PLACE.replace(r#""actions":["update"]"#, r#""actions":["delete","create"]"#);
    std::fs::write(sb.path("cluster/plan.json"), replace).unwrap();
    let out = upgrade(&sb, &[], &[]);
    out.assert_code(2);
    assert!(
        out.stderr().contains(
            "refusing to apply: the plan of kubernetes_version = \"1.36\" does more than move the control plane"
        ) && out.stderr().contains("module.stack.module.eks.aws_eks_cluster.this (delete+create)"),
        "{}",
        out.stderr()
    );
    assert!(!sb.calls().iter().any(|c| c.starts_with("terraform apply")), "{:#?}", sb.calls());
    let main = std::fs::read_to_string(sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf")).unwrap();
    assert_eq!(main, MAIN_TF, "the version written for the plan is taken back");
}

/// AWS moved the control plane by itself (upgrade policy STANDARD, at the end of standard support): the
/// upgrade finishes the job — terraform's version written, nothing to apply, add-ons and nodes moved.
#[test]
fn a_control_plane_aws_upgraded_already_is_finished_not_refused() {
    let sb = cluster();
    std::fs::write(sb.path("cluster/cp"), "1.36").unwrap();
    std::fs::write(sb.path("cluster/plan.json"), r#"{"resource_changes":[]}"#).unwrap();
    let out = upgrade(&sb, &[], &[]);
    out.assert_code(0);
    assert!(out.stdout().contains("the cluster already runs 1.36: nothing to apply"), "{}", out.stdout());
    let calls = sb.calls();
    assert!(!calls.iter().any(|c| c.starts_with("terraform apply")), "{calls:#?}");
    assert!(calls.iter().any(|c| c.contains("update-nodegroup-version")), "{calls:#?}");
    let main = std::fs::read_to_string(sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf")).unwrap();
    assert!(main.contains("kubernetes_version = \"1.36\""), "{main}");
}

/// The version moved in terraform (the pins' PR merged) is not `deploy`'s to apply: it would move the
/// control plane and leave the add-ons and nodes behind.
#[test]
fn deploy_refuses_a_plan_that_moves_the_kubernetes_version() {
    let sb = cluster();
    let main = sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf");
    std::fs::write(&main, MAIN_TF.replace("\"1.35\"", "\"1.36\"")).unwrap();
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("refusing to apply: the plan moves `dev`'s cluster from Kubernetes 1.35 to 1.36, which is an upgrade, not a deploy: run `cargo xtask upgrade dev --to 1.36`"),
        "{}",
        out.stderr()
    );
    assert!(!sb.calls().iter().any(|c| c.starts_with("terraform apply")), "{:#?}", sb.calls());
}

#[test]
fn a_failed_node_group_says_how_to_go_on_and_resume_picks_up_there() {
    let sb = cluster();
    let out = upgrade(&sb, &[("NODEGROUP_FAILS", "1")], &[]);
    out.assert_code(1);
    let err = out.stderr();
    assert!(err.contains("PodEvictionFailure") && err.contains("disruption budget"), "{err}");
    assert!(err.contains("Resume with: cargo xtask upgrade dev --to 1.36 --resume"), "{err}");
    let applies = |sb: &Sandbox| sb.calls().iter().filter(|c| c.starts_with("terraform apply")).count();
    assert_eq!(applies(&sb), 1);

    let out = upgrade(&sb, &[], &["--resume"]);
    out.assert_code(0);
    assert_eq!(applies(&sb), 1, "the control plane is not planned or applied again");
    assert!(out.stdout().lines().any(|l| l.starts_with("verify") && l.contains("done")), "{}", out.stdout());
}

/// The acceptance's broken copy: a FlowSchema at flowcontrol.apiserver.k8s.io/v1beta3 (not served since
/// 1.32) and a PodDisruptionBudget at policy/v1beta1 (since 1.25) in the base, and an API version
/// Kubernetes never had: validate fails naming each file and object.
#[test]
fn validate_refuses_objects_of_apis_the_environments_kubernetes_does_not_serve() {
    let sb = repo_at("1.35");
    let root = sb.root.clone().unwrap();
    let flow = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: batch-jobs\nspec:\n  priorityLevelConfiguration:\n    name: global-default\n  matchingPrecedence: 9000\n---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: legacy\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels: {app: legacy}\n---\napiVersion: rbac.authorization.k8s.io/v2\nkind: Role\nmetadata:\n  name: future\nrules: []\n";
    std::fs::write(root.join("k8s/base/flow-control.yaml"), flow).unwrap();
    let kustomization = root.join("k8s/base/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).unwrap();
    std::fs::write(&kustomization, text.replacen("resources:\n", "resources:\n  - flow-control.yaml\n", 1)).unwrap();
    let out = sb.run(&["validate", "--only", "kubernetes overlay dev"]);
    finds(&out, &["k8s/base/flow-control.yaml:2:", "FlowSchema", "batch-jobs", "flowcontrol.apiserver.k8s.io/v1beta3 is not served since Kubernetes 1.32 (use flowcontrol.apiserver.k8s.io/v1", "so Kubernetes 1.35 refuses it"]);
    finds(
        &out,
        &[
            "k8s/base/flow-control.yaml:",
            "PodDisruptionBudget",
            "legacy",
            "policy/v1beta1 is not served since Kubernetes 1.25",
        ],
    );
    finds(
        &out,
        &[
            "k8s/base/flow-control.yaml:",
            "Role authorworks/future",
            "Kubernetes 1.35 serves no rbac.authorization.k8s.io/v2 Role",
        ],
    );
}

/// An API the next minor removes is a warning in the PR that adds it, not a failure.
#[test]
fn validate_warns_of_an_api_the_next_minor_removes() {
    let sb = repo_at("1.35");
    let root = sb.root.clone().unwrap();
    let table = root.join("k8s/removed-apis.toml");
    let text = std::fs::read_to_string(&table).unwrap();
    let row =
        "\n[[removed]]\nin = \"1.36\"\napi = \"policy/v1\"\nkinds = [\"PodDisruptionBudget\"]\nuse = \"policy/v2\"\n";
    std::fs::write(&table, text + row).unwrap();
    let out = sb.run(&["validate", "--only", "kubernetes overlay dev"]);
    out.assert_code(0);
    assert!(
        out.stdout().lines().any(|l| l.starts_with("warning: k8s/")
            && l.contains("PodDisruptionBudget")
            && l.contains("policy/v1 is no longer served in Kubernetes 1.36 (use policy/v2")
            && l.contains("it breaks the upgrade from 1.35")),
        "{}",
        out.stdout()
    );
}

/// A release's `kubernetes` table must list the minor of each environment it runs in.
#[test]
fn validate_checks_the_releases_support_records() {
    let sb = repo_at("1.35");
    let root = sb.root.clone().unwrap();
    let list = root.join("helm-values/releases.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    let recorded = |kinds: &str| {
        let mut out = String::new();
        let mut done = false;
        for line in text.lines() {
            if line.starts_with("kubernetes = ") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            if !done && line == "name = \"metrics-server\"" {
                out.push_str(&format!("kubernetes = {kinds}\n"));
                done = true;
            }
        }
        out
    };
    std::fs::write(&list, recorded("{ \"1.36\" = \"matrix\", \"1.37\" = \"maybe\" }")).unwrap();
    let out = sb.run(&["validate", "--only", "helm release"]);
    finds(
        &out,
        &[
            "helm-values/releases.toml:",
            "release `metrics-server`: runs in `dev` at Kubernetes 1.35",
            "records no support for 1.35",
        ],
    );
    finds(&out, &["release `metrics-server`: kubernetes: 1.37 = `maybe` is not one of matrix, decision"]);
}

#[test]
fn doctor_warns_when_standard_support_ends_within_90_days() {
    let sb = repo_at("1.35");
    let root = sb.root.clone().unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let end = today + time::Duration::days(30);
    let date = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let calendar = format!(
        "[source]\nurl = \"https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html\"\nchecked = \"{}\"\n\n[versions.\"1.35\"]\nreleased = \"{}\"\nstandard_support_ends = \"{}\"\nextended_support_ends = \"{}\"\n",
        date(today),
        date(today - time::Duration::days(400)),
        date(end),
        date(end + time::Duration::days(365))
    );
    std::fs::write(root.join("k8s/eks-versions.toml"), calendar).unwrap();
    let out = sb.run(&["doctor", "--offline"]);
    let text = out.stdout();
    assert!(
        text.contains(&format!(
            "kubernetes: warning: `dev` runs Kubernetes 1.35: EKS standard support ends on {}, in 30 days",
            date(end)
        )) && text.contains("`cargo xtask upgrade dev --to 1.36`"),
        "{text}"
    );
    let plan = sb.run(&["plan", "staging", "--dry-run"]);
    plan.assert_code(0);
    assert!(
        plan.stdout().contains("warning: `staging` runs Kubernetes 1.35: EKS standard support ends on"),
        "{}",
        plan.stdout()
    );
}
