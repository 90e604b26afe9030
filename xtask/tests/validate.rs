//! `cargo xtask validate` against a scratch repository with one broken module: every problem is
//! reported, each with file:line.

mod common;

use common::*;

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
