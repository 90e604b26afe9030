//! The CI identity, mesh, mesh identity, storage and order contracts and the identity map (`contracts <env>` of `validate`):
//! the repository passes, and per contract a copy of the repository with one change and the finding
//! that names it. No change here is in terraform/, so every copy reuses the dev plan made once per
//! test run (`common::repository`; the plan's key is terraform's files).

use crate::common::*;

/// `contracts dev` of the repository itself, with the dev plan made once per test run.
#[test]
fn the_repositorys_contracts_pass_for_dev() {
    contracts_dev(&Sandbox::new()).assert_code(0);
}

/// `validate --only "contracts dev"` in the copy, with the repository's dev plan (its key matches).
fn contracts_dev(sb: &Sandbox) -> Run {
    contracts_with_the_plan_of(&repository().0, sb, "dev")
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

const CLUSTER_KUSTOMIZATION: &str = "k8s/cluster/kustomization.yaml";

#[test]
fn order_a_default_class_applied_only_with_the_workloads() {
    // The StorageClass moved from k8s/cluster/ (applied before the releases) to k8s/platform/ (with
    // the workloads): Loki's and Tempo's volumes would stay Pending while their releases install.
    let class = std::fs::read_to_string(repo_root().join("k8s/cluster/storage-class.yaml")).unwrap();
    let sb = changed(
        &[
            (CLUSTER_KUSTOMIZATION, "resources:\n  - storage-class.yaml\n", "resources: []\n"),
            (
                "k8s/platform/kustomization.yaml",
                "  - secret-store.yaml\n",
                "  - secret-store.yaml\n  - storage-class.yaml\n",
            ),
        ],
        &[("k8s/platform/storage-class.yaml", &class)],
    );
    finds(
        &contracts_dev(&sb),
        &[
            "helm-values/loki/values-dev.yaml:",
            "release loki: `singleBinary.persistence` claims the default StorageClass, but StorageClass gp3 (",
            "k8s/platform/storage-class.yaml:",
            ") is applied with the workloads, after every release",
            "Define it in k8s/cluster/",
        ],
    );
}

#[test]
fn order_a_custom_resource_applied_before_any_release() {
    let sb = changed(
        &[
            (CLUSTER_KUSTOMIZATION, "  - storage-class.yaml\n", "  - storage-class.yaml\n  - ../platform\n"),
            ("k8s/overlays/dev/kustomization.yaml", "  - ../../platform\n", ""),
        ],
        &[],
    );
    finds(
        &contracts_dev(&sb),
        &[
            "k8s/platform/secret-store.yaml:",
            "ClusterSecretStore aws-secrets-manager: k8s/cluster/ is applied before any release, when no CRD exists yet, but this is a custom resource (external-secrets.io/v1)",
        ],
    );
}

#[test]
fn order_a_release_naming_a_secret_nothing_makes_before_it() {
    let sb = one_change(
        "helm-values/kube-prometheus-stack/values-dev.yaml",
        "prometheus:\n",
        "grafana:\n  admin:\n    existingSecret: grafana-admin\nprometheus:\n",
    );
    finds(
        &contracts_dev(&sb),
        &[
            "helm-values/kube-prometheus-stack/values-dev.yaml:",
            "release kube-prometheus-stack: `grafana.admin.existingSecret` names Secret monitoring/grafana-admin, which nothing the deploy runs before this release makes",
        ],
    );
}
