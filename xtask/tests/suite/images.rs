//! Images (issue 22): the emulated plans of dev, staging and production hold an ECR repository per
//! service of k8s/base/services (immutable tags, scanning, a lifecycle policy), a pull-through cache
//! rule and an S3 gateway endpoint; and the images contract (`contracts <env>` of `validate`) names
//! both ends when an overlay's image is in no repository the plan creates, or names a moving tag
//! (`main`) in a repository whose tags are immutable. The Helm releases: a values file that points
//! an image back at its upstream registry is named with the plan's cache prefixes, and `deploy` hands
//! helm the values bound to terraform's `registry_host` (or stops, naming the file, without it).

use serde_json::Value;

use crate::common::*;

/// The services k8s/base/services defines, one file each.
fn services() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(repo_root().join("k8s/base/services"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".yaml").map(str::to_string))
        .filter(|n| n != "kustomization")
        .collect();
    out.sort();
    out
}

/// What an environment's plan lacks of the images' infrastructure, one line each (empty: all there).
fn missing(plan: &Value, services: &[String]) -> Vec<String> {
    let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    let of = |t: &str| -> Vec<Value> { changes.iter().filter(|c| c["type"] == t).cloned().collect() };
    let after = |c: &Value, k: &str| c["change"]["after"][k].clone();
    let mut out = Vec::new();
    let repositories = of("aws_ecr_repository");
    let lifecycles = of("aws_ecr_lifecycle_policy");
    for s in services {
        let name = format!("authorworks/{s}");
        match repositories.iter().find(|r| after(r, "name") == name.as_str()) {
            None => out.push(format!("no repository {name}")),
            Some(r) => {
                if after(r, "image_tag_mutability") != "IMMUTABLE" {
                    out.push(format!("{name}: tags not immutable"));
                }
                if after(r, "image_scanning_configuration")[0]["scan_on_push"] != true {
                    out.push(format!("{name}: not scanned on push"));
                }
                if !lifecycles.iter().any(|l| l["index"] == s.as_str() && after(l, "repository") == name.as_str()) {
                    out.push(format!("{name}: no lifecycle policy"));
                }
            }
        }
    }
    if !of("aws_ecr_registry_scanning_configuration")
        .iter()
        .any(|c| !after(c, "rule").as_array().is_none_or(Vec::is_empty))
    {
        out.push("no registry scanning rule".into());
    }
    if of("aws_ecr_pull_through_cache_rule").is_empty() {
        out.push("no pull-through cache rule".into());
    }
    if !of("aws_vpc_endpoint").iter().any(|e| {
        after(e, "vpc_endpoint_type") == "Gateway"
            && after(e, "service_name").as_str().is_some_and(|n| n.ends_with(".s3"))
    }) {
        out.push("no S3 gateway endpoint".into());
    }
    out
}

#[test]
fn the_plans_hold_a_repository_per_service_a_cache_rule_and_the_s3_gateway_endpoint() {
    let (shared, first, _) = repository();
    first.assert_code(0);
    let services = services();
    assert_eq!(services.len(), 8, "{services:?}");
    for env in ["dev", "staging", "production"] {
        let path = shared.work().join("plans").join(format!("{env}-emulated.plan.json"));
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(missing(&plan, &services), Vec::<String>::new(), "{env}");
        // The check itself fails when a piece goes: each removed in turn is reported.
        for (kind, what) in [
            ("aws_ecr_lifecycle_policy", "authorworks/gateway: no lifecycle policy"),
            ("aws_ecr_pull_through_cache_rule", "no pull-through cache rule"),
            ("aws_vpc_endpoint", "no S3 gateway endpoint"),
            ("aws_ecr_repository", "no repository authorworks/search-service"),
        ] {
            let mut broken = plan.clone();
            broken["resource_changes"].as_array_mut().unwrap().retain(|c| {
                !(c["type"] == kind
                    && (c["index"] == "gateway"
                        || c["index"] == "search-service"
                        || c["index"].is_null()
                        || kind == "aws_ecr_pull_through_cache_rule"))
            });
            assert!(
                missing(&broken, &services).iter().any(|m| m == what),
                "{env} without {kind}: {:?}",
                missing(&broken, &services)
            );
        }
        let mut mutable = plan.clone();
        for c in mutable["resource_changes"].as_array_mut().unwrap() {
            if c["type"] == "aws_ecr_repository" {
                c["change"]["after"]["image_tag_mutability"] = "MUTABLE".into();
            }
        }
        assert!(missing(&mutable, &services).iter().any(|m| m.ends_with("tags not immutable")), "{env}");
    }
}

const DEV: &str = "k8s/overlays/dev/kustomization.yaml";
const GATEWAY: &str = "newName: \"${terraform:registry_host}/authorworks/gateway\",";

#[test]
fn images_an_image_from_a_repository_the_plan_does_not_create() {
    let sb = one_change(DEV, GATEWAY, "newName: \"${terraform:registry_host}/authorworks/gateway-v2\",");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "k8s/base/services/gateway.yaml:",
            "Deployment authorworks/gateway: container gateway runs `${terraform:registry_host}/authorworks/gateway-v2:0.9.0`",
            "creates no ECR repository `authorworks/gateway-v2` and no pull-through cache rule for its prefix",
        ],
    );
}

#[test]
fn images_an_image_from_a_registry_spelled_out_instead_of_bound() {
    // Even the environment's own registry spelled out: dr, running production's overlay, would pull
    // from us-east-1.
    let sb = one_change(DEV, GATEWAY, "newName: 210987654321.dkr.ecr.us-east-1.amazonaws.com/authorworks/gateway,");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "k8s/base/services/gateway.yaml:",
            "runs `210987654321.dkr.ecr.us-east-1.amazonaws.com/authorworks/gateway:0.9.0`, from 210987654321.dkr.ecr.us-east-1.amazonaws.com, not from ${terraform:registry_host}, the registry of the environment that runs it (`dev`'s, 210987654321.dkr.ecr.us-east-1.amazonaws.com, bound at deploy)",
            "authorworks/gateway",
            "github/…",
        ],
    );
}

#[test]
fn images_a_moving_tag_in_a_repository_with_immutable_tags() {
    let sb = one_change(DEV, "authorworks/gateway\", newTag: \"0.9.0\"", "authorworks/gateway\", newTag: \"main\"");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "k8s/base/services/gateway.yaml:",
            "runs `${terraform:registry_host}/authorworks/gateway:main`, a moving tag `main`",
            "has immutable tags",
            "module.stack.module.ecr",
        ],
    );
}

// The Helm releases pull through the same cache: `${terraform:registry_host}/<prefix>/…` in their values.

const CERT_MANAGER: &str = "helm-values/cert-manager/values.yaml";
const CERT_MANAGER_REGISTRY: &str = "imageRegistry: \"${terraform:registry_host}/quay\"";

#[test]
fn images_a_release_image_pulled_past_the_cache() {
    let sb = one_change(CERT_MANAGER, CERT_MANAGER_REGISTRY, "imageRegistry: quay.io");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "helm-values/cert-manager/values.yaml:",
            "release cert-manager: `imageRegistry: quay.io` is pulled from quay.io directly",
            "dev's pull-through cache, `${terraform:registry_host}/<prefix>/<upstream path>`",
            "quay ← quay.io (module.stack.module.ecr.aws_ecr_pull_through_cache_rule.this[\"quay\"])",
            "write `${terraform:registry_host}/quay` for `quay.io`",
        ],
    );
}

#[test]
fn images_a_release_binding_the_plan_has_no_output_for() {
    let sb = one_change(CERT_MANAGER, CERT_MANAGER_REGISTRY, "imageRegistry: \"${terraform:registry_hosts}/quay\"");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "dev"),
        &[
            "helm-values/cert-manager/values.yaml:",
            "release cert-manager: ${terraform:registry_hosts} can't be bound: the stack has no output `registry_hosts`",
        ],
    );
}

/// The cluster fixture (recording helm) with cert-manager's and the mesh's values naming the registry
/// host, and terraform's outputs with `registry_host` or without it.
fn cluster_with_registry_values(with_output: bool) -> Sandbox {
    let sb = crate::cluster::repo();
    std::fs::write(sb.path("repo").join(CERT_MANAGER), format!("{CERT_MANAGER_REGISTRY}\n")).unwrap();
    std::fs::write(
        sb.path("repo/helm-values/linkerd-control-plane/values.yaml"),
        "proxy:\n  image:\n    name: \"${terraform:registry_host}/github/linkerd/proxy\"\n",
    )
    .unwrap();
    let host =
        if with_output { r#","registry_host":{"value":"111122223333.dkr.ecr.us-east-1.amazonaws.com"}"# } else { "" };
    sb.standin(
        "terraform",
        &format!(
            r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) echo '{{"applyable":true,"resource_changes":[]}}' ;;
  output) echo '{{"cluster_name":{{"value":"authorworks-dev-eks"}},"cert_manager_role_arn":{{"value":"arn:aws:iam::111122223333:role/cm"}}{host}}}' ;;
esac"#
        ),
    )
}

#[test]
fn deploy_gives_helm_the_release_values_bound_to_the_registry_host() {
    let sb = cluster_with_registry_values(true);
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(0);
    let helm = crate::cluster::tools_called(&sb, "helm");
    for (release, bound) in [
        ("cert-manager", "imageRegistry: \"111122223333.dkr.ecr.us-east-1.amazonaws.com/quay\""),
        ("linkerd-control-plane", "name: \"111122223333.dkr.ecr.us-east-1.amazonaws.com/github/linkerd/proxy\""),
    ] {
        let file = sb.work().join("helm-values/dev").join(release).join("values.yaml");
        let call = helm.iter().find(|c| c.contains(&format!("install {release} "))).unwrap();
        // The bound copy replaces values.yaml; values-dev.yaml, which names no output, is the repository's.
        assert!(call.contains(&format!("-f {}", file.display())), "{call}");
        assert!(call.contains(&format!("helm-values/{release}/values-dev.yaml")), "{call}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(bound) && !text.contains("${terraform:"), "{text}");
    }
    // A release whose values name no output gets the repository's files.
    let dns = helm.iter().find(|c| c.contains("install external-dns ")).unwrap();
    assert!(dns.contains("helm-values/external-dns/values.yaml -f"), "{dns}");
}

#[test]
fn deploy_refuses_release_values_naming_an_output_terraform_lacks() {
    let sb = cluster_with_registry_values(false);
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    assert!(
        out.all().contains(
            "helm-values/cert-manager/values.yaml: ${terraform:registry_host} can't be bound: terraform has no output `registry_host`"
        ),
        "{}",
        out.all()
    );
    assert!(!crate::cluster::tools_called(&sb, "helm").iter().any(|c| c.contains("install cert-manager")));
}
