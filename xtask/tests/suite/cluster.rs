//! `deploy` past terraform, against recording stand-ins for terraform, aws, kubectl, helm (and linkerd):
//! the order of the calls and their key flags, a failing release and `--resume`, and `destroy` in reverse.

use crate::common::*;

const RELEASES: &str = r#"
[[release]]
name = "aws-load-balancer-controller"
chart = "aws-load-balancer-controller"
repository = "https://aws.github.io/eks-charts"
version = "3.5.0"
crds_folder = true
namespace = "kube-system"
environments = ["dev"]
pods = { dev = 1 }

[[release]]
name = "cert-manager"
chart = "cert-manager"
repository = "https://charts.jetstack.io"
version = "v1.16.2"
namespace = "cert-manager"
environments = ["dev"]
set_from_terraform = { "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn" = "cert_manager_role_arn" }
pods = { dev = 3 }

[[release]]
name = "external-dns"
chart = "external-dns"
repository = "https://kubernetes-sigs.github.io/external-dns"
version = "1.15.0"
namespace = "external-dns"
needs = ["cert-manager"]
environments = ["dev"]
pods = { dev = 1 }

[[release]]
name = "linkerd-crds"
chart = "linkerd-crds"
repository = "https://helm.linkerd.io/edge"
version = "2025.1.1"
namespace = "linkerd"
environments = ["dev"]
pods = { dev = 0 }

[[release]]
name = "linkerd-control-plane"
chart = "linkerd-control-plane"
repository = "https://helm.linkerd.io/edge"
version = "2025.1.1"
namespace = "linkerd"
needs = ["linkerd-crds"]
environments = ["dev"]
pods = { dev = 3 }

[[namespace]]
name = "kube-system"
leave = true

[[namespace]]
name = "cert-manager"
enforce = "restricted"
audit = "restricted"
warn = "restricted"

[[namespace]]
name = "external-dns"
enforce = "baseline"
warn = "restricted"

[[namespace]]
name = "linkerd"
enforce = "restricted"
"#;

const OVERLAY: &str = "resources:\n  - app.yaml\n  - ../../cluster\n";
const CLASS: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: gp3\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\nprovisioner: ebs.csi.aws.com\n";
pub const APP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gateway\n  namespace: authorworks\nspec:\n  selector:\n    matchLabels: {app: gateway}\n  template:\n    metadata:\n      labels: {app: gateway}\n    spec:\n      containers:\n        - name: gateway\n          image: ghcr.io/authorworks/gateway:1.0.0\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: database-setup\n  namespace: authorworks\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: setup\n          image: ghcr.io/authorworks/setup:1.0.0\n";

pub fn repo() -> Sandbox {
    let mut files = fixture_files();
    files.push(("helm-values/releases.toml", RELEASES));
    for r in ["aws-load-balancer-controller", "cert-manager", "external-dns", "linkerd-crds", "linkerd-control-plane"] {
        files.push((Box::leak(format!("helm-values/{r}/values.yaml").into_boxed_str()), "{}\n"));
        files.push((
            Box::leak(format!("helm-values/{r}/values-dev.yaml").into_boxed_str()),
            "# nothing differs in dev\n",
        ));
    }
    files.push(("k8s/overlays/dev/kustomization.yaml", OVERLAY));
    files.push(("k8s/cluster/kustomization.yaml", "resources:\n  - class.yaml\n"));
    files.push(("k8s/cluster/class.yaml", CLASS));
    files.push(("k8s/overlays/dev/app.yaml", APP));
    // No project-installed tools: helm and kubectl must be the recording stand-ins.
    let sb = Sandbox::new().with_root(&files);
    let empty_tools = sb.path("no-tools");
    let sb = sb.env("XTASK_TOOLS_DIR", empty_tools.to_str().unwrap());
    let store = sb.path("secret.json");
    let sb_dir = sb.path("");
    sb.standin(
        "aws",
        &format!(
            r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *list-buckets*) echo authorworks-dev-tfstate-111122223333 ;;
  *describe-secret*) [ -f "{store}" ] && echo authorworks/dev/linkerd-identity || {{ echo "An error occurred (ResourceNotFoundException) when calling the DescribeSecret operation" >&2; exit 254; }} ;;
  *create-secret*|*put-secret-value*) for a in "$@"; do case "$a" in file://*) cp "${{a#file://}}" "{store}" ;; esac; done ;;
  *get-secret-value*) cat "{store}" ;;
esac"#,
            store = store.display()
        ),
    )
    .standin(
        "terraform",
        r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${a#-out=}" ;; esac; done ;;
  show) echo '{"applyable":true,"resource_changes":[]}' ;;
  output) echo '{"cluster_name":{"value":"authorworks-dev-eks"},"cert_manager_role_arn":{"value":"arn:aws:iam::111122223333:role/cm"}}' ;;
esac"#,
    )
    // `helm show crds`: the load balancer controller's chart keeps a CRD in crds/, the others none. What
    // reaches helm's and kubectl's stdin is kept (`-f -`): the mesh step's values and Secret.
    .standin(
        "helm",
        &format!(
            r#"[ "$1 $2 $3" = "show crds aws-load-balancer-controller" ] && {{ printf 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: targetgroupbindings.elbv2.k8s.aws\n'; exit 0; }}
[ "$1" = upgrade ] && [ -n "$FAIL_RELEASE" ] && [ "$3" = "$FAIL_RELEASE" ] && {{ echo "Error: release $3 failed" >&2; exit 1; }}
case "$*" in *" -f -"*) cat > "{}/helm-stdin-$3" ;; esac; exit 0"#,
            sb_dir.display()
        ),
    )
    // Rendering is real: the stand-in hands `kustomize` to the kubectl `tools install` pinned.
    .standin(
        "kubectl",
        &format!(
            r#"[ "$1" = kustomize ] && exec "{}" "$@"
case "$*" in *" -f - "*|*" -f -") cat > "{}/kubectl-stdin" ;; esac; exit 0"#,
            repo_root().join(".tools/bin/kubectl").display(),
            sb_dir.display()
        ),
    )
}

pub fn tools_called(sb: &Sandbox, tool: &str) -> Vec<String> {
    sb.calls().into_iter().filter(|c| c.starts_with(&format!("{tool} "))).collect()
}

#[test]
fn deploy_runs_the_cluster_steps_in_order_with_their_flags() {
    let sb = repo();
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(0);
    let calls = sb.calls();
    let pos = |needle: &str| {
        calls.iter().position(|c| c.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not called: {calls:#?}"))
    };
    let order = [
        "terraform apply",
        "terraform output -json",
        "aws eks update-kubeconfig --name authorworks-dev-eks",
        // What the releases' volumes claim, before the first release (k8s/cluster/).
        "/k8s/dev-cluster.yaml --kubeconfig=",
        // A chart's crds/ applied server-side before its release (helm would never upgrade them).
        "helm show crds aws-load-balancer-controller --repo https://aws.github.io/eks-charts --version 3.5.0",
        "kubectl apply --server-side --force-conflicts --field-manager=cargo-xtask -f",
        "helm upgrade --install aws-load-balancer-controller",
        "namespaces/dev-cert-manager.yaml",
        "helm upgrade --install cert-manager",
        "namespaces/dev-external-dns.yaml",
        "helm upgrade --install external-dns",
        "namespaces/dev-linkerd.yaml",
        "aws secretsmanager describe-secret --secret-id authorworks/dev/linkerd-identity",
        "aws secretsmanager create-secret --name authorworks/dev/linkerd-identity",
        // The trust anchor where cert-manager reads it (on stdin), then its Issuer and the issuer's
        // Certificate, waited for: the control plane's identity reads the Secret cert-manager writes.
        "kubectl apply --server-side --field-manager=cargo-xtask -f - --kubeconfig=",
        "/k8s/mesh/identity-issuer.yaml --kubeconfig=",
        "kubectl wait certificate/linkerd-identity-issuer --namespace linkerd --for=condition=Ready",
        "helm upgrade --install linkerd-crds",
        "helm upgrade --install linkerd-control-plane",
        // A Job's template is immutable: the last deploy's is deleted before the apply makes it anew,
        // and it completes before the Deployments are waited for (the services need its logins).
        "kubectl delete job/database-setup --namespace authorworks --ignore-not-found=true --wait=true",
        "/k8s/dev-overlay.yaml --kubeconfig=",
        "kubectl wait --for=condition=complete job/database-setup --namespace authorworks --timeout=10m",
        "kubectl rollout status deployment/gateway --namespace authorworks",
        "kubectl wait --for=condition=Available",
    ];
    for pair in order.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "`{}` must come before `{}`: {calls:#?}", pair[0], pair[1]);
    }
    let helm = tools_called(&sb, "helm");
    let cm = helm.iter().find(|c| c.contains("install cert-manager")).unwrap();
    for flag in [
        "--version v1.16.2",
        "--namespace cert-manager",
        "--rollback-on-failure",
        "--wait",
        "values-dev.yaml",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/cm",
    ] {
        assert!(cm.contains(flag), "cert-manager install lacks `{flag}`: {cm}");
    }
    // Every helm call that talks to the cluster (`helm show` reads only the chart).
    assert!(
        helm.iter()
            .filter(|c| !c.starts_with("helm show"))
            .all(|c| c.contains("--kubeconfig=") && !c.contains(".kube/config")),
        "project-local kubeconfig: {helm:#?}"
    );
    // The cluster objects: exactly what k8s/cluster/ defines, bound.
    let first = std::fs::read_to_string(sb.work().join("k8s/dev-cluster.yaml")).unwrap();
    assert!(first.contains("kind: StorageClass") && !first.contains("kind: Deployment"), "{first}");
    // crds/ applied for the one chart that has them; every install skips them (they are applied).
    let crd_applies: Vec<&String> = calls.iter().filter(|c| c.contains("--force-conflicts")).collect();
    assert_eq!(crd_applies.len(), 1, "{calls:#?}");
    assert!(crd_applies[0].contains("k8s/crds/dev-aws-load-balancer-controller.yaml"), "{crd_applies:#?}");
    assert!(
        helm.iter()
            .filter(|c| c.starts_with("helm upgrade") && !c.contains("linkerd"))
            .all(|c| c.contains("--skip-crds")),
        "{helm:#?}"
    );
    assert_eq!(
        helm.iter().filter(|c| c.starts_with("helm show crds")).count(),
        1,
        "the chart with crds/ only: {helm:#?}"
    );
    // Namespaces are made, labelled, by the xtask: helm creates none (it would leave them unlabelled).
    assert!(helm.iter().all(|c| !c.contains("--create-namespace")), "{helm:#?}");
    let applies: Vec<&String> = calls.iter().filter(|c| c.starts_with("kubectl apply --server-side")).collect();
    let namespace_applies: Vec<&&String> = applies.iter().filter(|c| c.contains("/k8s/namespaces/")).collect();
    assert_eq!(namespace_applies.len(), 3, "cert-manager, external-dns, linkerd; kube-system left alone: {applies:#?}");
    assert!(namespace_applies
        .iter()
        .all(|c| c.contains("--field-manager=cargo-xtask -f ") && c.contains("--kubeconfig=")));
    assert!(!calls.iter().any(|c| c.contains("kube-system.yaml")), "kube-system is EKS's: {calls:#?}");
    // The workloads: the overlay rendered, its bindings replaced, the result applied server-side.
    let bound = sb.work().join("k8s/dev-overlay.yaml");
    let workloads: Vec<&&String> = applies.iter().filter(|c| c.contains("dev-overlay.yaml")).collect();
    assert_eq!(
        workloads,
        [&&format!(
            "kubectl apply --server-side --field-manager=cargo-xtask -f {} --kubeconfig={}",
            bound.display(),
            sb.work().join("kube/dev.config").display()
        )],
        "{applies:#?}"
    );
    let text = std::fs::read_to_string(&bound).unwrap();
    assert!(text.contains("kind: Deployment") && !text.contains("${terraform:"), "{text}");
    assert!(!calls.iter().any(|c| c.starts_with("kubectl apply") && c.contains(" -k ")), "{calls:#?}");
    let manifest = |ns: &str| std::fs::read_to_string(sb.work().join(format!("k8s/namespaces/dev-{ns}.yaml"))).unwrap();
    assert_eq!(
        manifest("cert-manager"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n  labels:\n    \
         pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/audit: restricted\n    \
         pod-security.kubernetes.io/warn: restricted\n"
    );
    assert_eq!(
        manifest("external-dns"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: external-dns\n  labels:\n    \
         pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/warn: restricted\n"
    );
    let cp = helm.iter().find(|c| c.contains("install linkerd-control-plane")).unwrap();
    assert!(cp.ends_with("-f -"), "the identity reaches helm on stdin: {cp}");
    assert!(!out.all().contains("PRIVATE KEY"), "no key printed");
    assert!(
        out.all().contains("the linkerd CLI is not installed"),
        "without linkerd the control plane is waited on:\n{}",
        out.all()
    );
    assert!(
        calls.iter().any(|c| c.contains("kubectl wait --for=condition=Available --timeout=5m --namespace=linkerd")),
        "{calls:#?}"
    );
    // The trust anchor verifies with openssl, as Linkerd requires: an ECDSA P-256 CA, valid as
    // configured in xtask.toml's [mesh] (fixture: the default, 3650 days). The issuer is cert-manager's
    // (k8s/mesh/identity-issuer.yaml: checked in `mesh::issuer` and the mesh identity contract): no
    // issuer is stored any more, and helm gets the anchor's certificate only, never a key.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.path("secret.json")).unwrap()).unwrap();
    assert!(stored.get("issuer_pem").is_none() && stored.get("issuer_key_pem").is_none(), "{stored:#}");
    let anchor = sb.path("anchor.crt");
    std::fs::write(&anchor, stored["trust_anchor_pem"].as_str().unwrap()).unwrap();
    let text = |cert: &std::path::Path| {
        let out =
            std::process::Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(cert).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let anchor_text = text(&anchor);
    assert!(anchor_text.contains("ASN1 OID: prime256v1") && anchor_text.contains("CA:TRUE"), "{anchor_text}");
    assert!(anchor_text.contains("Subject: CN = root.linkerd.cluster.local"), "{anchor_text}");
    let verify =
        std::process::Command::new("openssl").args(["verify", "-CAfile"]).arg(&anchor).arg(&anchor).output().unwrap();
    assert!(verify.status.success(), "self-signed: {}", String::from_utf8_lossy(&verify.stderr));
    let valid_for = |cert: &std::path::Path, days: u64| {
        let seconds = (days * 86_400).to_string();
        std::process::Command::new("openssl")
            .args(["x509", "-noout", "-checkend", &seconds, "-in"])
            .arg(cert)
            .status()
            .unwrap()
            .success()
    };
    assert!(valid_for(&anchor, 3649) && !valid_for(&anchor, 3651), "the anchor is valid 3650 days");
    // cert-manager got the anchor and its key as a kubernetes.io/tls Secret, on kubectl's stdin.
    let secret: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(sb.path("kubectl-stdin")).unwrap()).unwrap();
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["metadata"]["name"], "linkerd-trust-anchor");
    assert_eq!(
        secret["stringData"]["tls.crt"].as_str().unwrap().trim(),
        stored["trust_anchor_pem"].as_str().unwrap().trim()
    );
    assert_eq!(
        secret["stringData"]["tls.key"].as_str().unwrap().trim(),
        stored["trust_anchor_key_pem"].as_str().unwrap().trim()
    );
    let values = std::fs::read_to_string(sb.path("helm-stdin-linkerd-control-plane")).unwrap();
    assert!(values.starts_with("identityTrustAnchorsPEM: |") && !values.contains("PRIVATE KEY"), "{values}");
}

#[test]
fn linkerd_check_is_used_when_the_cli_is_present() {
    let sb = repo().standin("linkerd", "exit 0");
    sb.run(&["deploy", "dev"]).assert_code(0);
    let linkerd = tools_called(&sb, "linkerd");
    assert_eq!(linkerd.len(), 1, "{linkerd:?}");
    assert!(linkerd[0].starts_with("linkerd check --wait=5m --kubeconfig="), "{linkerd:?}");
    assert!(!sb.calls().iter().any(|c| c.contains("--namespace=linkerd")), "no fallback wait when linkerd is there");
}

#[test]
fn a_failing_release_stops_the_run_and_resume_continues_from_it() {
    let sb = repo().env("FAIL_RELEASE", "cert-manager");
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    assert!(out.stderr().contains("step `helm-cert-manager` failed"), "{}", out.stderr());
    assert!(out.stderr().contains("Error: release cert-manager failed"), "the log tail names it:\n{}", out.stderr());
    assert!(!sb.calls().iter().any(|c| c.contains("install external-dns")), "later releases don't run");

    let before = sb.calls().len();
    let mut sb = sb;
    sb.env.retain(|(k, _)| k != "FAIL_RELEASE");
    let resumed = sb.run(&["deploy", "dev", "--resume"]);
    resumed.assert_code(0);
    // (the preflight renders the overlay before the first step: not a step)
    let after: Vec<String> =
        sb.calls()[before..].iter().filter(|c| !c.starts_with("kubectl kustomize")).cloned().collect();
    assert!(after[0].starts_with("helm upgrade --install cert-manager"), "resumes at the failed release: {after:#?}");
    assert!(!after.iter().any(|c| c.starts_with("terraform")), "terraform steps are not re-run: {after:#?}");
}

#[test]
fn dry_run_shows_the_whole_sequence_with_versions_and_values() {
    let sb = repo();
    let out = sb.run(&["deploy", "dev", "--dry-run"]);
    out.assert_code(0);
    let text = out.stdout();
    let order = [
        "terraform plan",
        "] cost",
        "terraform apply",
        "aws eks update-kubeconfig --name '<terraform output cluster_name>'",
        "] cluster-objects",
        "k8s/dev-cluster.yaml",
        "helm show crds aws-load-balancer-controller --repo https://aws.github.io/eks-charts --version 3.5.0",
        "helm upgrade --install aws-load-balancer-controller aws-load-balancer-controller --repo https://aws.github.io/eks-charts --version 3.5.0",
        "helm-values/aws-load-balancer-controller/values.yaml -f helm-values/aws-load-balancer-controller/values-dev.yaml",
        "] namespace-cert-manager",
        "pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/audit=restricted",
        "kubectl apply --server-side --field-manager=cargo-xtask -f",
        "helm upgrade --install cert-manager",
        "helm upgrade --install external-dns",
        "helm upgrade --install linkerd-crds",
        "helm upgrade --install linkerd-control-plane",
        "< (secret values on stdin)",
        "] workloads",
        "kubectl kustomize",
        "kubectl apply --server-side --field-manager=cargo-xtask -f",
        "k8s/dev-overlay.yaml",
        "kubectl rollout status",
        // dev has off-hours: the deploy ends by returning it there when it brought it up (and one
        // step more since cert-manager issues the mesh's issuer: mesh-issuer).
        "[26/27] verify",
        "[27/27] offhours-down",
    ];
    let mut at = 0;
    for needle in order {
        at += text[at..].find(needle).unwrap_or_else(|| panic!("`{needle}` missing or out of order:\n{text}"));
    }
    assert!(sb.calls().is_empty(), "dry run ran {:?}", sb.calls());
}

#[test]
fn destroy_removes_workloads_mesh_and_releases_in_reverse_before_terraform() {
    let sb = repo();
    sb.run(&["destroy", "dev"]).assert_code(0);
    let calls = sb.calls();
    let pos = |needle: &str| {
        calls.iter().position(|c| c.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not called: {calls:#?}"))
    };
    let order = [
        "kubectl delete --ignore-not-found=true --wait=true -k",
        "helm uninstall linkerd-control-plane",
        "helm uninstall linkerd-crds",
        "helm uninstall external-dns",
        "helm uninstall cert-manager",
        "helm uninstall aws-load-balancer-controller",
        "terraform destroy",
    ];
    for pair in order.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "`{}` must come before `{}`: {calls:#?}", pair[0], pair[1]);
    }
}

/// The repository's own `deploy dev --dry-run`: the Prometheus Operator CRDs before every release
/// that needs them, each namespace labelled before its first release, the load balancer controller
/// before the workloads (their Ingress), the mesh before the meshed workloads.
#[test]
fn the_repositorys_dry_run_orders_crds_controller_and_mesh_before_what_needs_them() {
    let sb = Sandbox::new();
    let out = sb.run(&["deploy", "dev", "--dry-run"]);
    out.assert_code(0);
    let text = out.stdout();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("`{needle}` missing:\n{text}"));
    let install = |name: &str| at(&format!("helm upgrade --install {name} "));
    let list: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo_root().join("helm-values/releases.toml")).unwrap()).unwrap();
    let mut needing = 0;
    for r in list["release"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let envs = r["environments"].as_array().unwrap();
        if !envs.iter().any(|e| e.as_str() == Some("dev")) {
            continue;
        }
        let needs = r.get("needs").and_then(|n| n.as_array()).cloned().unwrap_or_default();
        if needs.iter().any(|n| n.as_str() == Some("prometheus-operator-crds")) {
            needing += 1;
            assert!(install("prometheus-operator-crds") < install(name), "the CRDs before {name}:\n{text}");
        }
        let ns = r["namespace"].as_str().unwrap();
        if ns != "kube-system" {
            assert!(at(&format!("] namespace-{ns} ")) < install(name), "namespace {ns} labelled before {name}");
        }
    }
    assert!(needing >= 10, "most releases make ServiceMonitors: {needing}");
    assert!(!text.contains("] namespace-kube-system"), "kube-system is left as EKS has it");
    // dev runs Argo CD (k8s/overlays/dev/argocd): the workloads arrive with its root, which the deploy
    // applies where it used to apply the overlay.
    let workloads = at("k8s/dev-argocd.yaml --kubeconfig=");
    // The default StorageClass before the first release (Loki's, Tempo's, Prometheus's volumes).
    let classes = at("k8s/dev-cluster.yaml --kubeconfig=");
    assert!(classes < install("prometheus-operator-crds"), "k8s/cluster/ before every release:\n{text}");
    assert!(install("aws-load-balancer-controller") < workloads, "the ALB controller before the Ingress");
    assert!(install("linkerd-crds") < install("linkerd-control-plane"));
    assert!(install("linkerd-control-plane") < workloads, "the mesh before the meshed workloads");
    assert!(!text.contains("--create-namespace"), "{text}");
    assert!(sb.calls().is_empty());
}

/// A terraform output a release takes that is null (the certificate before the zone is delegated):
/// the step fails with one line naming the output and what to do, and installs nothing.
#[test]
fn a_null_output_a_release_takes_says_what_to_do() {
    let sb = repo().standin(
        "terraform",
        r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${a#-out=}" ;; esac; done ;;
  show) echo '{"applyable":true,"resource_changes":[]}' ;;
  output) echo '{"cluster_name":{"value":"authorworks-dev-eks"},"stack":{"value":{"cert_manager_role_arn":"arn:aws:iam::111122223333:role/cm","certificate_arn":null}}}' ;;
esac"#,
    );
    let list = sb.root.as_ref().unwrap().join("helm-values/releases.toml");
    let text = std::fs::read_to_string(&list).unwrap().replace(
        "namespace = \"kube-system\"\nenvironments = [\"dev\"]\n",
        "namespace = \"kube-system\"\nenvironments = [\"dev\"]\nset_from_terraform = { \"ingressClassParams.spec.certificateArn[0]\" = \"certificate_arn\" }\n",
    );
    std::fs::write(&list, text).unwrap();
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    let line = "release aws-load-balancer-controller takes terraform outputs: terraform output `certificate_arn` is null in `dev`: \
                the ACM certificate is issued once the zone is delegated: point the parent zone or registrar at output name_servers, \
                set dns_delegated = true in terraform/environments/dev/main.tf and deploy again";
    assert!(out.all().contains(line), "{}", out.all());
    assert!(!out.all().contains("has no output"), "{}", out.all());
    assert!(
        !sb.calls().iter().any(|c| c.starts_with("helm upgrade --install aws-load-balancer-controller")),
        "nothing installed"
    );
}

const BOUND_SA: &str = "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: gateway\n  namespace: authorworks\n  annotations:\n    eks.amazonaws.com/role-arn: ${terraform:workload_role_arns.gateway}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform\n  namespace: authorworks\ndata:\n  AWS_REGION: ${terraform:region}\n";

fn with_bindings(outputs: &str) -> Sandbox {
    let sb = repo().standin(
        "terraform",
        &format!(
            r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) echo '{{"applyable":true,"resource_changes":[]}}' ;;
  output) echo '{outputs}' ;;
esac"#
        ),
    );
    let app = sb.root.as_ref().unwrap().join("k8s/overlays/dev/app.yaml");
    std::fs::write(&app, format!("{APP}{BOUND_SA}")).unwrap();
    sb
}

/// The overlay's `${terraform:…}` are replaced from the recorded outputs in the file deploy applies.
#[test]
fn deploy_binds_the_overlay_from_the_outputs_and_applies_the_bound_file() {
    let sb = with_bindings(
        r#"{"cluster_name":{"value":"authorworks-dev-eks"},"cert_manager_role_arn":{"value":"arn:aws:iam::111122223333:role/cm"},"stack":{"value":{"region":"us-east-1","workload_role_arns":{"gateway":"arn:aws:iam::111122223333:role/authorworks-dev-gateway"}}}}"#,
    );
    sb.run(&["deploy", "dev"]).assert_code(0);
    let text = std::fs::read_to_string(sb.work().join("k8s/dev-overlay.yaml")).unwrap();
    assert!(
        text.contains("eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/authorworks-dev-gateway"),
        "{text}"
    );
    assert!(text.contains("AWS_REGION: us-east-1"), "{text}");
    assert!(!text.contains("${terraform:"), "{text}");
}

/// A binding the outputs can't satisfy: one line naming the object and the output; nothing applied.
#[test]
fn a_binding_without_its_output_names_the_object_and_applies_nothing() {
    let sb = with_bindings(
        r#"{"cluster_name":{"value":"authorworks-dev-eks"},"cert_manager_role_arn":{"value":"arn:aws:iam::111122223333:role/cm"},"stack":{"value":{"region":"us-east-1","workload_role_arns":{"media-service":"arn:aws:iam::111122223333:role/authorworks-dev-media-service"}}}}"#,
    );
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    assert!(
        out.all().contains("ServiceAccount authorworks/gateway: ${terraform:workload_role_arns.gateway} can't be bound: terraform output `workload_role_arns` has no key `gateway` (it has: media-service)"),
        "{}",
        out.all()
    );
    assert!(!sb.calls().iter().any(|c| c.contains("dev-overlay.yaml")), "{:#?}", sb.calls());
}
