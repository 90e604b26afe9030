//! Application delivery through Argo CD (issue 22): `deploy` of an environment with an Argo CD root
//! hands the outputs to the cluster, bootstraps the root, pins the application to the commit and
//! waits for Argo CD (the stand-in kubectl answers as Argo CD would); and the delivery contract over
//! broken copies of the repository, each finding naming both ends.

use crate::cluster::{repo, tools_called};
use crate::common::*;

/// The dry run of the repository's staging and production: Argo CD's steps replace the overlay's
/// apply, after the releases and the mesh; production starts its own sync, staging syncs itself.
#[test]
fn the_repositorys_staging_and_production_are_handed_to_argo_cd() {
    let sb = Sandbox::new();
    for env in ["staging", "production"] {
        let out = sb.run(&["deploy", env, "--dry-run"]);
        out.assert_code(0);
        let text = out.stdout();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{env}: `{needle}` missing:\n{text}"));
        let outputs = at(&format!("k8s/{env}-terraform-outputs.yaml --kubeconfig="));
        let root = at(&format!("k8s/{env}-argocd.yaml --kubeconfig="));
        let pin = at(
            r#"kubectl patch application/authorworks --namespace argocd --type merge -p '{"spec":{"source":{"targetRevision":"<this commit>"}}}'"#,
        );
        let wait = at("kubectl get application/authorworks --namespace argocd --output json");
        assert!(at("helm upgrade --install argo-cd ") < outputs, "{env}: Argo CD is installed first");
        assert!(at("helm upgrade --install argo-rollouts ") < outputs, "{env}: the Rollouts controller too");
        assert!(
            at("helm upgrade --install linkerd-control-plane ") < root,
            "{env}: the mesh before the meshed workloads"
        );
        assert!(outputs < root && root < pin && pin < wait, "{env}: outputs, root, pin, wait:\n{text}");
        assert!(
            !text.contains(&format!("k8s/{env}-overlay.yaml")),
            "{env}: the overlay is Argo CD's to apply:\n{text}"
        );
        assert!(!text.contains("rollout status deployment/"), "{env}: Argo CD reports the rollouts:\n{text}");
        let starts_sync = text
            .contains(r#""operation":{"initiatedBy":{"username":"cargo-xtask"},"sync":{"revision":"<this commit>""#);
        assert_eq!(starts_sync, env == "production", "{env}: only production's sync is started by the deploy:\n{text}");
    }
    assert!(sb.calls().is_empty());
}

const ROOT_KUSTOMIZATION: &str = "resources:\n  - apps.yaml\n";

fn root_apps(automated: bool) -> String {
    let policy = if automated { "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n" } else { "" };
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: authorworks\n  namespace: argocd\nspec:\n  sourceRepos: [https://github.com/authorworks/authorworks-infra.git]\n  destinations: [{{server: https://kubernetes.default.svc, namespace: authorworks}}]\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: authorworks\n  namespace: argocd\nspec:\n  project: authorworks\n  source:\n    repoURL: https://github.com/authorworks/authorworks-infra.git\n    path: k8s/overlays/dev\n    targetRevision: main\n  destination: {{server: https://kubernetes.default.svc, namespace: authorworks}}\n{policy}"
    )
}

/// The stand-in repository of cluster.rs with an Argo CD root for dev, committed to git (the deploy
/// pins the commit), and a kubectl that answers `get application` with `status` (`{sha}` replaced by
/// the commit).
fn argo(automated: bool, status: &str) -> (Sandbox, String) {
    let sb = repo();
    let root = sb.root.as_ref().unwrap().clone();
    std::fs::create_dir_all(root.join("k8s/overlays/dev/argocd")).unwrap();
    std::fs::write(root.join("k8s/overlays/dev/argocd/kustomization.yaml"), ROOT_KUSTOMIZATION).unwrap();
    std::fs::write(root.join("k8s/overlays/dev/argocd/apps.yaml"), root_apps(automated)).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "fixture"]);
    let sha = git(&["rev-parse", "HEAD"]);
    let answer = status.replace("{sha}", &sha);
    let sb = sb.standin(
        "kubectl",
        &format!(
            r#"[ "$1" = kustomize ] && exec "{kubectl}" "$@"
case "$*" in *"get application/authorworks"*) cat <<'JSON'
{answer}
JSON
;; esac; exit 0"#,
            kubectl = repo_root().join(".tools/bin/kubectl").display(),
        ),
    );
    (sb, sha)
}

const HEALTHY: &str = r#"{"status":{"sync":{"status":"Synced","revision":"{sha}"},"health":{"status":"Healthy"}}}"#;

#[test]
fn deploy_hands_the_outputs_to_argo_cd_and_waits_for_the_commit_synced_and_healthy() {
    let (sb, sha) = argo(true, HEALTHY);
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(0);
    let calls = tools_called(&sb, "kubectl");
    let pos = |needle: &str| {
        calls.iter().position(|c| c.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not called: {calls:#?}"))
    };
    let order = [
        "k8s/dev-terraform-outputs.yaml --kubeconfig=",
        "k8s/dev-argocd.yaml --kubeconfig=",
        &format!(
            r#"patch application/authorworks --namespace argocd --type merge -p {{"spec":{{"source":{{"targetRevision":"{sha}"}}}}}}"#
        ),
        "annotate application/authorworks --namespace argocd --overwrite argocd.argoproj.io/refresh=hard",
        "get application/authorworks --namespace argocd --output json",
    ];
    for pair in order.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "`{}` before `{}`: {calls:#?}", pair[0], pair[1]);
    }
    assert!(!calls.iter().any(|c| c.contains("\"operation\"")), "dev syncs itself: {calls:#?}");
    assert!(!calls.iter().any(|c| c.contains("dev-overlay.yaml") || c.contains("rollout status")), "{calls:#?}");
    let outputs = std::fs::read_to_string(sb.work().join("k8s/dev-terraform-outputs.yaml")).unwrap();
    assert!(outputs.contains("name: terraform-outputs") && outputs.contains("namespace: argocd"), "{outputs}");
    assert!(out.stdout().contains(&format!("synced at {}", &sha[..12])), "{}", out.stdout());
}

#[test]
fn production_like_roots_get_their_sync_started_at_the_commit() {
    let (sb, sha) = argo(false, HEALTHY);
    sb.run(&["deploy", "dev"]).assert_code(0);
    let calls = tools_called(&sb, "kubectl");
    let sync = calls
        .iter()
        .position(|c| c.contains(&format!(r#""operation":{{"initiatedBy":{{"username":"cargo-xtask"}},"sync":{{"revision":"{sha}","prune":true}}}}"#)))
        .unwrap_or_else(|| panic!("no sync started: {calls:#?}"));
    let wait = calls.iter().position(|c| c.contains("get application/authorworks")).unwrap();
    assert!(sync < wait, "{calls:#?}");
}

/// A canary whose analysis failed: Argo Rollouts aborted it (the stable version serves), Argo CD
/// reports the application Degraded, and the deploy fails naming the Rollout and why.
#[test]
fn an_aborted_rollout_fails_the_deploy_naming_it() {
    let degraded = r#"{"status":{"sync":{"status":"Synced","revision":"{sha}"},"health":{"status":"Degraded"},"resources":[{"kind":"Rollout","name":"gateway","namespace":"authorworks","health":{"status":"Degraded","message":"RolloutAborted: Rollout aborted update to revision 2: Metric \"success-rate\" assessed Failed due to failed (2) > failureLimit (1)"}}]}}"#;
    let (sb, _) = argo(true, degraded);
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    let all = out.all();
    assert!(all.contains("the application is Degraded: Rollout gateway in authorworks (RolloutAborted"), "{all}");
    assert!(all.contains("gitops-sync"), "the step that failed is named:\n{all}");
}

/// `contracts production` of a copy, with the repository's production plan.
fn contracts_production(sb: &Sandbox) -> Run {
    contracts_with_the_plan_of(&repository().0, sb, "production")
}

#[test]
fn delivery_a_rollout_whose_analysis_template_is_missing() {
    let sb =
        one_change("k8s/components/mesh-analysis/analysis-templates.yaml", "name: mesh-latency\n", "name: mesh-p99\n");
    finds(
        &contracts_production(&sb),
        &[
            "k8s/components/canary/rollouts.yaml:",
            "Rollout authorworks/gateway: its analysis names AnalysisTemplate `mesh-latency`, which overlay `production` does not define (k8s/components/mesh-analysis)",
        ],
    );
}

#[test]
fn delivery_an_analysis_querying_a_metric_nothing_produces() {
    let sb = one_change(
        "k8s/components/mesh-analysis/analysis-templates.yaml",
        "rate(response_latency_ms_bucket{",
        "rate(http_request_duration_seconds_bucket{",
    );
    finds(
        &contracts_production(&sb),
        &[
            "k8s/components/mesh-analysis/analysis-templates.yaml:",
            "AnalysisTemplate authorworks/mesh-latency: metric `p99-latency-ms` queries `http_request_duration_seconds_bucket`, which nothing in this stack produces",
        ],
    );
}

#[test]
fn delivery_an_application_whose_path_does_not_exist() {
    let sb = one_change(
        "k8s/overlays/dev/argocd/kustomization.yaml",
        "value: k8s/overlays/dev}",
        "value: k8s/overlays/develop}",
    );
    let (shared, first, _) = repository();
    first.assert_code(0);
    finds(
        &contracts_with_the_plan_of(shared, &sb, "dev"),
        &["k8s/gitops/applications.yaml:", "Application argocd/authorworks: syncs path `k8s/overlays/develop`, which is not a kustomization in this repository"],
    );
}

#[test]
fn delivery_an_application_into_a_namespace_its_project_does_not_allow() {
    let sb = one_change(
        "k8s/gitops/applications.yaml",
        "destination: {server: https://kubernetes.default.svc, namespace: authorworks}",
        "destination: {server: https://kubernetes.default.svc, namespace: default}",
    );
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "Application argocd/authorworks: deploys into namespace `default`, which AppProject `authorworks` (",
            "k8s/gitops/projects.yaml:",
            "does not allow (destinations: authorworks)",
        ],
    );
}

#[test]
fn delivery_a_repository_credential_not_from_an_external_secret() {
    let sb = one_change(
        "k8s/gitops/repository.yaml",
        "url: https://github.com/authorworks/authorworks-infra.git",
        "url: https://github.com/authorworks/another.git",
    );
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &["Application argocd/authorworks: reads https://github.com/authorworks/authorworks-infra.git, but no ExternalSecret in the Argo CD root makes its repository credential"],
    );
}

#[test]
fn delivery_the_argo_cd_server_published_without_single_sign_on() {
    let line = line("helm-values/argo-cd/values.yaml", "  ingress:");
    let sb = one_change(
        "helm-values/argo-cd/values.yaml",
        "  ingress:\n    enabled: false",
        "  ingress:\n    enabled: true",
    );
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            &format!("helm-values/argo-cd/values.yaml:{line}:"),
            "release argo-cd: `server.ingress` publishes the Argo CD server with neither `alb.ingress.kubernetes.io/scheme: internal` nor `alb.ingress.kubernetes.io/auth-type: oidc`",
        ],
    );
}

/// Every object `kubectl kustomize` renders from a directory of the repository (the pinned kubectl).
fn rendered(dir: &str) -> Vec<serde_norway::Value> {
    use serde::Deserialize;
    let out = std::process::Command::new(repo_root().join(".tools/bin/kubectl"))
        .args(["kustomize", &repo_root().join(dir).display().to_string()])
        .output()
        .expect("the pinned kubectl (cargo xtask tools install)");
    assert!(out.status.success(), "{dir}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde_norway::Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn at<'a>(v: &'a serde_norway::Value, path: &[&str]) -> Option<&'a serde_norway::Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The repository's own overlays, rendered: each environment's Argo CD root holds an AppProject and
/// the root Applications; every service of k8s/base/services rolls out as a canary through the
/// mesh's HTTPRoute with analysis in production, blue-green with a pre-promotion analysis in staging,
/// and as the plain Deployment's rolling update in dev.
#[test]
fn the_repositorys_overlays_roll_out_each_service_as_its_environment_should() {
    let services: Vec<String> = std::fs::read_dir(repo_root().join("k8s/base/services"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(services.len() >= 8, "{services:?}");
    for env in ["dev", "staging", "production"] {
        let root = rendered(&format!("k8s/overlays/{env}/argocd"));
        let kinds: Vec<&str> = root.iter().filter_map(|o| o.get("kind").and_then(|k| k.as_str())).collect();
        assert!(kinds.contains(&"AppProject") && kinds.contains(&"Application"), "{env}'s Argo CD root: {kinds:?}");
        let overlay = rendered(&format!("k8s/overlays/{env}"));
        for service in &services {
            let rollout = overlay.iter().find(|o| {
                o.get("kind").and_then(|k| k.as_str()) == Some("Rollout")
                    && at(o, &["metadata", "name"]).and_then(|n| n.as_str()) == Some(service)
            });
            let strategy = rollout.and_then(|r| at(r, &["spec", "strategy"]));
            match env {
                "dev" => assert!(rollout.is_none(), "dev: {service} rolls out as a plain Deployment"),
                "staging" => {
                    let analysis = strategy.and_then(|s| at(s, &["blueGreen", "prePromotionAnalysis", "templates"]));
                    assert!(
                        analysis.is_some(),
                        "staging: {service} is blue-green with a pre-promotion analysis: {strategy:?}"
                    );
                }
                _ => {
                    let canary = strategy.and_then(|s| s.get("canary"));
                    let templates = canary.and_then(|c| at(c, &["analysis", "templates"]));
                    let route = canary
                        .and_then(|c| at(c, &["trafficRouting", "plugins", "argoproj-labs/gatewayAPI", "httpRoute"]));
                    let steps =
                        canary.and_then(|c| c.get("steps")).and_then(|s| s.as_sequence()).cloned().unwrap_or_default();
                    let paused = steps.iter().any(|s| s.get("pause").is_some());
                    let weighted = steps.iter().any(|s| s.get("setWeight").is_some());
                    assert!(
                        templates.is_some() && route.is_some() && paused && weighted,
                        "production: {service} is a canary through the mesh's HTTPRoute with weighted, paused steps and analysis: {strategy:?}"
                    );
                }
            }
        }
    }
}
