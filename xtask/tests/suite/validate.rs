//! `cargo xtask validate` against a scratch repository with one broken module: every problem is
//! reported, each with file:line.

use crate::common::*;

const VERSIONS: &str = "terraform {\n  required_version = \">= 1.10\"\n}\n";
const README: &str = "# ok\n\n<!-- BEGIN_TF_DOCS -->\n## Inputs\n\n| Name | Description | Type | Default | Required |\n|------|-------------|------|---------|:--------:|\n| `name` | The name. | `string` | n/a | yes |\n\n## Outputs\n\n| Name | Description |\n|------|-------------|\n| `name` | The name. |\n<!-- END_TF_DOCS -->\n";

#[test]
fn validate_reports_each_convention_break_with_file_and_line() {
    let sb = Sandbox::new().with_root(&[
        ("xtask.toml", FIXTURE_CONFIG),
        // A good module.
        ("terraform/modules/ok/main.tf", "locals {\n  name = var.name\n}\n"),
        ("terraform/modules/ok/variables.tf", "variable \"name\" {\n  type        = string\n  description = \"The name.\"\n}\n"),
        ("terraform/modules/ok/outputs.tf", "output \"name\" {\n  description = \"The name.\"\n  value       = local.name\n}\n"),
        ("terraform/modules/ok/versions.tf", VERSIONS),
        ("terraform/modules/ok/README.md", README),
        // A module without README, with an undescribed variable and an unformatted file.
        ("terraform/modules/bad/main.tf", "locals {\n  a = var.size\n}\n"),
        ("terraform/modules/bad/variables.tf", "variable \"name\" {\n  type = string\n}\n\nvariable \"size\" {\n  type        = number\n  description = \"How big.\"\n}\n"),
        ("terraform/modules/bad/outputs.tf", "output \"a\" {\n  description = \"A.\"\n  value = local.a\n}\n"),
        ("terraform/modules/bad/versions.tf", VERSIONS),
    ]);
    let out = sb.run(&["validate", "--only", "fmt", "--only", "conventions"]);
    out.assert_code(1);
    let text = out.stdout();
    for expected in [
        "terraform/modules/bad/variables.tf:1: variable `name` has no description",
        "terraform/modules/bad/README.md: missing: every module has main.tf, variables.tf, outputs.tf, versions.tf, README.md",
        "terraform/modules/bad/outputs.tf:3: not formatted: run `terraform fmt -recursive terraform`",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
    assert!(!text.contains("modules/ok/"), "the good module is clean:\n{text}");
    assert!(out.stderr().contains("2 check(s) failed"), "{}", out.stderr());
}

#[test]
fn validate_reports_a_readme_table_that_misses_a_variable() {
    let sb = Sandbox::new().with_root(&[
        ("xtask.toml", FIXTURE_CONFIG),
        ("terraform/modules/ok/main.tf", "locals {\n  name = var.name\n}\n"),
        ("terraform/modules/ok/variables.tf", "variable \"name\" {\n  type        = string\n  description = \"The name.\"\n}\n\nvariable \"extra\" {\n  type        = string\n  description = \"Extra.\"\n  default     = \"x\"\n}\n"),
        ("terraform/modules/ok/outputs.tf", "output \"name\" {\n  description = \"The name.\"\n  value       = local.name\n}\n"),
        ("terraform/modules/ok/versions.tf", VERSIONS),
        ("terraform/modules/ok/README.md", README),
    ]);
    let out = sb.run(&["validate", "--only", "conventions"]);
    out.assert_code(1);
    assert!(
        out.stdout().contains("terraform/modules/ok/README.md:4: ## Inputs table misses variable `extra`"),
        "{}",
        out.stdout()
    );
}

const BAD_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: ghcr.io/authorworks/web:latest
          resoures: {}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
          livenessProbe: {httpGet: {path: /health/live, port: 8080}}
          readinessProbe: {httpGet: {path: /health/ready, port: 8080}}
          securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"#;

/// A production overlay with a misspelled field, a container without limits and an image tagged
/// `latest`: each is reported with the object and the field.
#[test]
fn validate_rejects_bad_manifests_naming_object_and_field() {
    let sb = Sandbox::new().with_root(&[
        ("xtask.toml", FIXTURE_CONFIG),
        ("k8s/overlays/production/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
        ("k8s/overlays/production/deployment.yaml", BAD_DEPLOYMENT),
        ("k8s/removed-apis.toml", include_str!("../../../k8s/removed-apis.toml")),
    ]);
    let out = sb.run(&["validate", "--only", "kubernetes overlay"]);
    out.assert_code(1);
    let text = out.stdout();
    for expected in [
        "k8s/overlays/production: deployment/web: spec.template.spec.containers.0: Additional properties are not allowed ('resoures' was unexpected)",
        "k8s/overlays/production: Deployment shop/web: spec.template.spec.containers[0].resources.limits.cpu is missing",
        "k8s/overlays/production: Deployment shop/web: spec.template.spec.containers[0].resources.limits.memory is missing",
        "k8s/overlays/production: Deployment shop/web: spec.template.spec.containers[0].image `ghcr.io/authorworks/web:latest` must be pinned to a version (no `latest` outside dev)",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
}

/// The repository's own files under `dirs` (path, content), for a scratch copy to break.
pub fn repo_files(dirs: &[&str]) -> Vec<(String, String)> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((p.strip_prefix(&root).unwrap().display().to_string(), text));
        }
    }
    out
}

/// A scratch copy of the repository's release list, values, overlays and environment roots, with
/// `edit` applied to (path, content) first; the eks module is `EKS` (the same form as the module's:
/// an `eni_limits` table and prefix delegation in `vpc_cni_configuration`).
fn broken_copy(edit: impl Fn(&str, String) -> String) -> Sandbox {
    let mut files =
        repo_files(&["helm-values", "k8s", "terraform/environments", "terraform/stack", "terraform/modules/network"]);
    files.retain(|(p, _)| !p.starts_with("terraform/modules/eks"));
    files.push(("terraform/modules/eks/main.tf".into(), EKS.into()));
    files.push(("xtask.toml".into(), std::fs::read_to_string(repo_root().join("xtask.toml")).unwrap()));
    let files: Vec<(String, String)> = files
        .into_iter()
        .map(|(p, t)| {
            let t = edit(&p, t);
            (p, t)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    Sandbox::new().with_root(&refs)
}

const EKS: &str = r#"locals {
  eni_limits = {
    "t3.small"   = { enis = 3, ips = 4, vcpus = 2 }
    "t3a.small"  = { enis = 2, ips = 4, vcpus = 2 }
    "t3.medium"  = { enis = 3, ips = 6, vcpus = 2 }
    "t3a.medium" = { enis = 3, ips = 6, vcpus = 2 }
    "c5.large"   = { enis = 3, ips = 10, vcpus = 2 }
    "c5a.large"  = { enis = 3, ips = 10, vcpus = 2 }
    "t3.large"   = { enis = 3, ips = 12, vcpus = 2 }
    "t3a.large"  = { enis = 3, ips = 12, vcpus = 2 }
    "m5.large"   = { enis = 3, ips = 10, vcpus = 2 }
    "m5a.large"  = { enis = 3, ips = 10, vcpus = 2 }
    "m5.xlarge"  = { enis = 4, ips = 15, vcpus = 4 }
    "r5.large"   = { enis = 3, ips = 10, vcpus = 2 }
  }
  vpc_cni_configuration = {
    enableNetworkPolicy = "true"
    env = {
      ENABLE_PREFIX_DELEGATION = "true"
      WARM_PREFIX_TARGET       = "1"
    }
  }
}
"#;

#[test]
fn the_repositorys_release_list_and_cluster_fit_pass() {
    let sb = broken_copy(|_, t| t);
    let out = sb.run(&["validate", "--only", "helm release", "--only", "cluster fit"]);
    out.assert_code(0);
}

/// metrics-server creates a ServiceMonitor (its values) but no longer needs prometheus-operator-crds.
#[test]
fn validate_refuses_a_release_needing_crds_nothing_installs_earlier() {
    let sb = broken_copy(|p, t| {
        if p == "helm-values/releases.toml" {
            t.replacen("needs = [\"prometheus-operator-crds\"]", "needs = []", 1)
        } else {
            t
        }
    });
    let out = sb.run(&["validate", "--only", "helm release"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(
        text.contains("helm-values/releases.toml:") && text.contains(
            "release `metrics-server` creates monitoring.coreos.com objects in `dev` (values `serviceMonitor.enabled: true`) but no release it needs provides those CRDs: add `prometheus-operator-crds` to its needs"
        ),
        "{text}"
    );
    // deploy refuses the same list before it runs anything.
    let deploy = sb.run(&["deploy", "dev", "--dry-run"]);
    deploy.assert_code(2);
    assert!(
        deploy.stderr().contains("release `metrics-server` creates monitoring.coreos.com objects"),
        "{}",
        deploy.stderr()
    );
}

/// The overlay's PodMonitor and PrometheusRule need monitoring.coreos.com: a list without its provider is refused.
#[test]
fn validate_refuses_overlay_custom_resources_no_release_provides() {
    let sb = broken_copy(|p, t| {
        if p == "helm-values/releases.toml" {
            t.replace("provides = [\"monitoring.coreos.com\"]\n", "")
        } else {
            t
        }
    });
    let out = sb.run(&["validate", "--only", "cluster fit dev"]);
    out.assert_code(1);
    assert!(
        out.stdout().contains("k8s/overlays/dev: PodMonitor authorworks/services: ")
            && out.stdout().contains("monitoring.coreos.com/v1 needs CRDs that no release `dev` gets provides"),
        "{}",
        out.stdout()
    );
}

/// Without prefix delegation two t3.small nodes hold 22 pods: dev's platform doesn't fit.
#[test]
fn validate_refuses_an_env_whose_pods_exceed_its_node_capacity() {
    let sb = broken_copy(|p, t| {
        if p == "terraform/modules/eks/main.tf" {
            t.replace("ENABLE_PREFIX_DELEGATION = \"true\"", "ENABLE_PREFIX_DELEGATION = \"false\"")
        } else {
            t
        }
    });
    let out = sb.run(&["validate", "--only", "cluster fit dev"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(
        text.contains("terraform/environments/dev/sizing/main.tf: `dev` asks for ")
            && text.contains("but its untainted node groups hold 28 at their desired size (prefix delegation off)"),
        "{text}"
    );
    // A release asking for many pods overflows even with prefix delegation (2 × 110).
    let many = broken_copy(|p, t| {
        if p == "helm-values/releases.toml" {
            t.replace(
                "pods = { dev = 1, staging = 1, production = 1 }",
                "pods = { dev = 200, staging = 1, production = 1 }",
            )
        } else {
            t
        }
    });
    let out = many.run(&["validate", "--only", "cluster fit dev"]);
    out.assert_code(1);
    assert!(out.stdout().contains("hold 220 at their desired size (prefix delegation on)"), "{}", out.stdout());
}

/// cluster-autoscaler's image follows the cluster's minor; the operator's CRDs its version.
#[test]
fn validate_refuses_versions_that_must_pair_but_dont() {
    let sb = broken_copy(|p, t| match p {
        "helm-values/cluster-autoscaler/values.yaml" => t.replace("tag: v1.36.1", "tag: v1.34.1"),
        "helm-values/releases.toml" => t.replacen("app_version = \"v0.93.1\"", "app_version = \"v0.92.0\"", 1),
        _ => t,
    });
    let out = sb.run(&["validate", "--only", "helm release"]);
    out.assert_code(1);
    let text = out.stdout();
    for expected in [
        "release `cluster-autoscaler`: `image.tag` is v1.34.1 in `dev` but the cluster runs Kubernetes 1.36 (terraform/environments/dev/main.tf kubernetes_version): pin the 1.36 line",
        "release `prometheus-operator-crds` has app_version v0.92.0 but `kube-prometheus-stack` has v0.93.1: they must be the same",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
}

/// The Pod Security table: an unknown level, and a README that differs from the list.
#[test]
fn validate_checks_the_pod_security_levels_and_their_readme_table() {
    let sb = broken_copy(|p, t| match p {
        "helm-values/releases.toml" => t.replacen("enforce = \"restricted\"", "enforce = \"strict\"", 1),
        _ => t,
    });
    let out = sb.run(&["validate", "--only", "helm release"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(text.contains("namespace `cert-manager`: enforce = `strict` is not a Pod Security level (privileged, baseline, restricted)"), "{text}");
    assert!(text.contains("helm-values/README.md:") && text.contains("the Pod Security table differs"), "{text}");
}

/// The edge seam: the Ingress binds terraform's alb group, the policy admits the public subnets.
#[test]
fn validate_refuses_an_edge_that_names_other_groups_or_subnets_than_terraform() {
    let sb = broken_copy(|p, t| match p {
        "k8s/base/ingress.yaml" => {
            t.replace("security-groups: ${terraform:alb_security_group_id}", "security-groups: authorworks-dev-alb")
        }
        "k8s/overlays/dev/kustomization.yaml" => t.replace("cidr: 10.2.2.0/24", "cidr: 10.2.3.0/24"),
        _ => t,
    });
    let out = sb.run(&["validate", "--only", "cluster fit dev"]);
    out.assert_code(1);
    let text = out.stdout();
    for expected in [
        "Ingress authorworks/gateway: alb.ingress.kubernetes.io/security-groups is `authorworks-dev-alb` but must be `${terraform:alb_security_group_id}`: terraform's alb security group, bound from `dev`'s own outputs (terraform/stack/outputs.tf)",
        "NetworkPolicy authorworks/alb-to-gateway: admits 10.2.1.0/24, 10.2.3.0/24 but the public subnets of `dev` are 10.2.1.0/24, 10.2.2.0/24",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
}

/// dr runs production's overlay on its own terraform: its cluster fit is checked against dr's network,
/// not production's, at production's Kubernetes minor; and its sizing is production's sizing module, so
/// a dr (or a local, dev's shape) that takes its sizing from elsewhere is refused by "shared sizing".
#[test]
fn validate_fits_dr_to_its_own_terraform_not_production_s() {
    let sb = broken_copy(|p, t| match p {
        "terraform/environments/dr/main.tf" => {
            let from = "source = \"../production/sizing\"";
            assert!(t.contains(from), "{p}");
            t.replace(from, "source = \"../staging/sizing\"")
                .replace("kubernetes_version = \"1.36\"", "kubernetes_version = \"1.35\"")
        }
        "terraform/environments/local/main.tf" => {
            let from = "source = \"../dev/sizing\"";
            assert!(t.contains(from), "{p}");
            t.replace(from, "source = \"../staging/sizing\"")
        }
        _ => t,
    });
    let out = sb.run(&[
        "validate",
        "--only",
        "cluster fit dr",
        "--only",
        "cluster fit production",
        "--only",
        "shared sizing",
    ]);
    out.assert_code(1);
    let text = out.stdout();
    for expected in [
        "but the public subnets of `dr` are 10.1.1.0/24, 10.1.2.0/24, 10.1.3.0/24 (terraform/environments/staging/sizing/main.tf vpc_cidr and az_count",
        "terraform/environments/dr/main.tf:31: `dr` runs `production`'s overlay but sets kubernetes_version = \"1.35\" where terraform/environments/production/main.tf sets \"1.36\"",
        "terraform/environments/dr/main.tf:15: `dr` runs `production`'s overlay as `production` rebuilt but takes its sizing from terraform/environments/staging/sizing, not from terraform/environments/production/sizing as `production` does: a failover would put `production`'s load on other resources than it runs on",
        "terraform/environments/local/main.tf:6: `local` is `dev`'s shape on the emulator but takes its sizing from terraform/environments/staging/sizing, not from terraform/environments/dev/sizing as `dev` does",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
    assert!(text.contains("ok     cluster fit production"), "production's own fit is unchanged:\n{text}");
}

/// What production's overlay and values spell out of production (a name, its region) is wrong in dr,
/// which runs them with its own: cluster fit dr names each; production's own fit doesn't mind.
#[test]
fn validate_refuses_production_s_literals_in_the_overlay_dr_runs() {
    let sb = broken_copy(|p, t| match p {
        "k8s/overlays/production/kustomization.yaml" => t.replace(
            "      - LOG_LEVEL=info\n",
            "      - LOG_LEVEL=info\n      - BUCKET=authorworks-production-media\n",
        ),
        "helm-values/external-dns/values-production.yaml" => {
            t.replace("{}", "aws: {region: us-east-1} # not us-east-1 here")
        }
        _ => t,
    });
    let out = sb.run(&["validate", "--only", "cluster fit dr", "--only", "cluster fit production"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(
        text.lines().any(|l| l.starts_with("k8s/overlays/production: ConfigMap authorworks/platform-")
            && l.contains(": names `authorworks-production-`, `production`'s own (its resources' name prefix), but `dr` runs this overlay with its own: bind it from terraform (`${terraform:NAME}`)")),
        "{text}"
    );
    let expected = "helm-values/external-dns/values-production.yaml:2: names `us-east-1`, `production`'s own (its region), but `dr` runs this overlay with its own";
    assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    assert_eq!(text.matches("names `us-east-1`").count(), 1, "the comment is not read:\n{text}");
    assert!(text.contains("ok     cluster fit production"), "production's own names are its own:\n{text}");
}

/// An overlay with no terraform root of its name has nothing to run on: validate names the root it
/// looked for.
#[test]
fn validate_refuses_an_overlay_without_its_terraform_root() {
    let sb = broken_copy(|_, t| t);
    std::fs::remove_dir_all(sb.path("repo").join("terraform/environments/staging")).unwrap();
    let out = sb.run(&["validate", "--only", "cluster fit staging"]);
    out.assert_code(1);
    let expected = "overlay `staging` has no terraform environment terraform/environments/staging to run on";
    assert!(out.stdout().contains(expected), "`{expected}` missing from:\n{}", out.stdout());
}

/// A container without limits in the overlay (here an init container the dev overlay adds).
#[test]
fn validate_refuses_an_overlay_container_without_limits() {
    let sb = broken_copy(|p, t| {
        match p {
        "k8s/overlays/dev/kustomization.yaml" => t.replacen(
            "patches:\n",
            "patches:\n  - target: {kind: Deployment, name: gateway}\n    patch: |-\n      - op: add\n        path: /spec/template/spec/initContainers\n        value: [{name: wait, image: busybox:1.37, resources: {requests: {cpu: 10m, memory: 16Mi}}}]\n",
            1,
        ),
        _ => t,
    }
    });
    let out = sb.run(&["validate", "--only", "kubernetes overlay dev"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(
        text.contains(
            "Deployment authorworks/gateway: spec.template.spec.initContainers[0].resources.limits.cpu is missing"
        ),
        "{text}"
    );
}
