//! The CI identity, mesh, mesh identity and storage contracts and the identity map (`contracts <env>` of `validate`):
//! the repository passes, and per contract a copy of the repository with one change and the finding
//! that names it. No change here is in terraform/, so every copy reuses the dev plan made once per
//! test run (`common::repository`; the plan's key is terraform's files).

use crate::common::*;

/// `contracts dev` of the repository itself, with the dev plan made once per test run.
#[test]
fn the_repositorys_contracts_pass_for_dev() {
    contracts_dev(&Sandbox::new()).assert_code(0);
}

/// A copy of the configuration, terraform, overlays, values, workflows and docs/SECURITY.md, with
/// `file`'s first `from` replaced by `to`.
fn one_change(file: &'static str, from: &'static str, to: &'static str) -> Sandbox {
    let root = repo_root();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<std::path::PathBuf> =
        ["xtask.toml", "terraform", "k8s", "helm-values", ".github", "docs/SECURITY.md"]
            .iter()
            .map(|d| root.join(d))
            .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == ".terraform") {
                continue;
            }
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        } else if let Ok(mut text) = std::fs::read_to_string(&p) {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            if rel == file {
                assert!(text.contains(from), "{file} has no `{from}`");
                text = text.replacen(from, to, 1);
            }
            files.push((rel, text));
        }
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    Sandbox::new().with_root(&refs)
}

/// `validate --only "contracts dev"` in the copy, with the repository's dev plan (its key matches).
fn contracts_dev(sb: &Sandbox) -> Run {
    contracts_with_the_plan_of(&repository().0, sb, "dev")
}

const ROLE_STEP: &str = "role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}";

#[test]
fn ci_a_job_assuming_a_role_that_does_not_trust_its_environment() {
    let sb =
        one_change(".github/workflows/operations.yml", ROLE_STEP, "role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    finds(
        &contracts_dev(&sb),
        &[
            ".github/workflows/operations.yml:",
            "operations.yml job `run`: runs in GitHub environment `operations-dev` and assumes ${{ vars.AWS_DEPLOY_ROLE_ARN }} = module.stack.module.security.aws_iam_role.github_deploy, whose trust allows repo:authorworks/authorworks-infra:environment:dev, not repo:authorworks/authorworks-infra:environment:operations-dev",
        ],
    );
}

#[test]
fn ci_a_scheduled_job_in_a_deploy_environment_could_get_the_deploy_role() {
    let sb = one_change(
        ".github/workflows/operations.yml",
        "environment: operations-${{ matrix.env }}",
        "environment: ${{ matrix.env }}",
    );
    let out = contracts_dev(&sb);
    finds(
        &out,
        &[
            ".github/workflows/operations.yml:34: operations.yml job `run`: runs unattended (on schedule) in GitHub environment `dev`",
            "yet the deploy role module.stack.module.security.aws_iam_role.github_deploy (stack output github_deploy_role_arn) trusts repo:authorworks/authorworks-infra:environment:dev",
        ],
    );
    finds(
        &out,
        &["operations.yml job `run`: runs in GitHub environment `dev` and assumes ${{ vars.AWS_OPERATIONS_ROLE_ARN }}"],
    );
}

#[test]
fn ci_a_dispatch_input_naming_no_environment() {
    let sb = one_change(
        ".github/workflows/deploy.yml",
        "options: [dev, staging, production]",
        "options: [dev, sandbox, staging, production]",
    );
    finds(
        &contracts_dev(&sb),
        &[".github/workflows/deploy.yml:", "deploy.yml job `deploy`: runs in GitHub environment `sandbox` (on workflow_dispatch), which is for no environment of terraform/environments"],
    );
}

const SEARCH: &str = "    - search-service.authorworks.serviceaccount.identity.linkerd.cluster.local\n---\napiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata:\n  name: linkerd-control-plane";

#[test]
fn mesh_a_network_path_without_an_authorization() {
    let sb = one_change("k8s/base/mesh-policy.yaml", SEARCH, &SEARCH[SEARCH.find("---").unwrap()..]);
    finds(
        &contracts_dev(&sb),
        &[
            "Deployment authorworks/pgbouncer: NetworkPolicy authorworks/pgbouncer admits Deployment authorworks/search-service (meshed as search-service) on port 5432, but no AuthorizationPolicy on Server authorworks/pgbouncer admits them",
        ],
    );
}

#[test]
fn mesh_identity_an_issuer_linkerd_would_refuse() {
    let sb = one_change("k8s/mesh/identity-issuer.yaml", "algorithm: ECDSA", "algorithm: RSA");
    finds(
        &contracts_dev(&sb),
        &[
            "k8s/mesh/identity-issuer.yaml:",
            "linkerd-control-plane reads Secret linkerd/linkerd-identity-issuer, which cert-manager issues from here: Certificate linkerd-identity-issuer: Linkerd requires ECDSA P-256",
        ],
    );
}

#[test]
fn mesh_identity_a_namespace_the_injector_would_hold_up() {
    let sb = one_change(
        "helm-values/releases.toml",
        "name = \"observability\"\nenforce = \"restricted\"\naudit = \"restricted\"\nwarn = \"restricted\"\nlabels = { \"config.linkerd.io/admission-webhooks\" = \"disabled\" }",
        "name = \"observability\"\nenforce = \"restricted\"\naudit = \"restricted\"\nwarn = \"restricted\"",
    );
    finds(
        &contracts_dev(&sb),
        &[
            "helm-values/releases.toml:",
            "namespace `observability` is not meshed, but Linkerd's proxy injector (failurePolicy Ignore in `dev`) admits its pods: label it config.linkerd.io/admission-webhooks: disabled",
        ],
    );
}

#[test]
fn mesh_an_authorization_without_a_network_path() {
    let with_editor: &'static str = Box::leak(
        format!("    - editor-service.authorworks.serviceaccount.identity.linkerd.cluster.local\n{SEARCH}")
            .into_boxed_str(),
    );
    let sb = one_change("k8s/base/mesh-policy.yaml", SEARCH, with_editor);
    finds(
        &contracts_dev(&sb),
        &[
            ": authorizes Deployment authorworks/editor-service (meshed as editor-service) to Deployment authorworks/pgbouncer on port 5432 (Server authorworks/pgbouncer), but no NetworkPolicy path allows it",
        ],
    );
}

#[test]
fn storage_no_default_class_for_the_claims_that_take_it() {
    let sb = one_change(
        "k8s/cluster/storage-class.yaml",
        "storageclass.kubernetes.io/is-default-class: \"true\"",
        "storageclass.kubernetes.io/is-default-class: \"false\"",
    );
    finds(
        &contracts_dev(&sb),
        &[
            "helm-values/loki/values-dev.yaml:",
            "release loki: `singleBinary.persistence` takes the default StorageClass, but no StorageClass of the overlay `dev` is marked `storageclass.kubernetes.io/is-default-class: \"true\"` (it has: gp3)",
        ],
    );
}

#[test]
fn storage_a_claim_naming_a_class_that_does_not_exist() {
    let sb =
        one_change("helm-values/tempo/values-dev.yaml", "persistence:\n", "persistence:\n  storageClassName: gp2\n");
    finds(
        &contracts_dev(&sb),
        &["helm-values/tempo/values-dev.yaml:4: release tempo: `persistence.storageClassName` names StorageClass `gp2`, which the overlay `dev` doesn't have (it has: gp3)"],
    );
}

#[test]
fn identity_map_a_stale_table_until_docs_writes_it() {
    let sb = one_change("docs/SECURITY.md", "| Deployment `media-service` |", "| Deployment `media` |");
    finds(&contracts_dev(&sb), &["docs/SECURITY.md:", "the identity map is stale: run `cargo xtask docs`"]);
    let docs = sb.run(&["docs"]);
    docs.assert_code(0);
    assert!(docs.stdout().contains("updated docs/SECURITY.md"), "{}", docs.stdout());
    let again = sb.run(&["validate", "--only", "contracts dev"]);
    assert!(!again.stdout().contains("the identity map is stale"), "{}", again.stdout());
}
