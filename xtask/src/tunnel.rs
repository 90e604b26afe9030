//! How a person reaches an environment's private Kubernetes API (`cargo xtask tunnel <env>`): a Session
//! Manager port-forwarding session through the environment's SSM-managed bastion (terraform
//! modules/bastion) from 127.0.0.1:<port> to the cluster endpoint's port 443, and a project-local
//! kubeconfig whose server is https://127.0.0.1:<port> with the endpoint's host name as
//! `tls-server-name`, so kubectl and helm verify the API server's real certificate.
//!
//! The way in is read from the SSM parameter `/{project}/{env}/bastion/tunnel` terraform writes (the
//! bastion's instance ID and the cluster's name; the people's roles may read exactly it), the endpoint
//! and its CA from `aws eks describe-cluster`. Steps: `find` (records both under `<work>/kube/`),
//! `kubeconfig` (writes `<work>/kube/<env>-tunnel.config`), `forward` (holds the session until Ctrl-C,
//! which closes it: not a failure).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::engine::{Cmd, Pipeline, Step};
use crate::target::Target;

/// The Session Manager document that forwards a local port to a host the instance reaches.
pub const DOCUMENT: &str = "AWS-StartPortForwardingSessionToRemoteHost";
/// The local port the API is forwarded to unless `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 8443;

/// `/{project}/{env}/bastion/tunnel` (modules/bastion, `tunnel_parameter`).
pub fn parameter(target: &Target) -> String {
    format!("/{}/{}/bastion/tunnel", target.config.project, target.env.name)
}

/// `<work>/kube/<env>-tunnel.config`: the kubeconfig that goes through the tunnel.
pub fn kubeconfig(target: &Target) -> PathBuf {
    tunnel_file(target, "config")
}

fn record(target: &Target) -> PathBuf {
    tunnel_file(target, "json")
}

fn tunnel_file(target: &Target, ext: &str) -> PathBuf {
    let dir = target.kubeconfig();
    dir.with_file_name(format!("{}-tunnel.{ext}", target.env.name))
}

/// The value of the tunnel parameter (JSON written by terraform).
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Way {
    pub instance_id: String,
    pub cluster_name: String,
}

#[derive(Deserialize)]
struct GetParameter {
    #[serde(rename = "Parameter")]
    parameter: ParameterValue,
}

#[derive(Deserialize)]
struct ParameterValue {
    #[serde(rename = "Value")]
    value: String,
}

/// `aws ssm get-parameter --output json` → the way in.
pub fn parse_parameter(json: &str, name: &str) -> Result<Way> {
    let answer: GetParameter = serde_json::from_str(json).with_context(|| format!("reading the answer for {name}"))?;
    serde_json::from_str(&answer.parameter.value).with_context(|| {
        format!("{name} does not hold {{\"instance_id\", \"cluster_name\"}}: it is written by terraform (modules/bastion); apply the environment")
    })
}

#[derive(Deserialize)]
struct DescribeCluster {
    cluster: ClusterInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterInfo {
    endpoint: Option<String>,
    certificate_authority: Option<CertificateAuthority>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct CertificateAuthority {
    data: Option<String>,
}

/// What the tunnel and the kubeconfig need of the cluster.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Endpoint {
    /// The API endpoint's host name (no scheme): the tunnel's remote host and the TLS server name.
    pub host: String,
    /// Base64 PEM of the cluster's CA.
    pub ca_data: String,
}

/// `aws eks describe-cluster --output json` → the endpoint's host and CA.
pub fn parse_cluster(json: &str, name: &str) -> Result<Endpoint> {
    let answer: DescribeCluster =
        serde_json::from_str(json).with_context(|| format!("reading the description of cluster {name}"))?;
    let c = answer.cluster;
    let status = c.status.unwrap_or_default();
    let (Some(endpoint), Some(ca)) = (c.endpoint, c.certificate_authority.and_then(|a| a.data)) else {
        bail!("cluster {name} has no endpoint yet (status {status}): wait until it is ACTIVE");
    };
    let host = endpoint.trim_start_matches("https://").trim_end_matches('/').to_string();
    if host.is_empty() || host.contains('/') {
        bail!("cluster {name} reports an endpoint that is no host name: {endpoint}");
    }
    Ok(Endpoint { host, ca_data: ca })
}

/// What `find` records for the later steps (`--from kubeconfig` / `--from forward` read it again).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    instance_id: String,
    cluster_name: String,
    endpoint: Endpoint,
}

/// The kubeconfig: the tunnel as the server, the real endpoint's name for TLS, `aws eks get-token` as
/// the credential (run by kubectl with the caller's AWS identity, which its access entry maps).
pub fn kubeconfig_yaml(env: &str, region: &str, cluster: &str, endpoint: &Endpoint, port: u16) -> Result<String> {
    let name = format!("{env}-tunnel");
    let config = KubeConfig {
        api_version: "v1",
        kind: "Config",
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: ClusterEntry {
                server: format!("https://127.0.0.1:{port}"),
                certificate_authority_data: endpoint.ca_data.clone(),
                tls_server_name: endpoint.host.clone(),
            },
        }],
        users: vec![NamedUser {
            name: name.clone(),
            user: UserEntry {
                exec: ExecConfig {
                    api_version: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args: ["--region", region, "eks", "get-token", "--cluster-name", cluster, "--output", "json"]
                        .map(str::to_string)
                        .to_vec(),
                    interactive_mode: "Never",
                },
            },
        }],
        contexts: vec![NamedContext {
            name: name.clone(),
            context: ContextEntry { cluster: name.clone(), user: name.clone() },
        }],
        current_context: name,
    };
    serde_norway::to_string(&config).context("writing the kubeconfig")
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct KubeConfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<NamedCluster>,
    users: Vec<NamedUser>,
    contexts: Vec<NamedContext>,
    current_context: String,
}

#[derive(Serialize)]
struct NamedCluster {
    name: String,
    cluster: ClusterEntry,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterEntry {
    server: String,
    certificate_authority_data: String,
    tls_server_name: String,
}

#[derive(Serialize)]
struct NamedUser {
    name: String,
    user: UserEntry,
}

#[derive(Serialize)]
struct UserEntry {
    exec: ExecConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecConfig {
    api_version: &'static str,
    command: &'static str,
    args: Vec<String>,
    interactive_mode: &'static str,
}

#[derive(Serialize)]
struct NamedContext {
    name: String,
    context: ContextEntry,
}

#[derive(Serialize)]
struct ContextEntry {
    cluster: String,
    user: String,
}

/// The AWS CLI calls, each built by one function for `--dry-run` (placeholders) and the run (values).
struct Calls<'a> {
    ctx: &'a Context,
    target: &'a Target,
}

impl Calls<'_> {
    fn get_parameter(&self) -> Cmd {
        self.target
            .aws(self.ctx, None)
            .args(["ssm", "get-parameter", "--name"])
            .arg(parameter(self.target))
            .args(["--output", "json"])
    }

    fn describe_cluster(&self, cluster: &str) -> Cmd {
        self.target.aws(self.ctx, None).args(["eks", "describe-cluster", "--name", cluster, "--output", "json"])
    }

    fn start_session(&self, instance: &str, host: &str, port: u16) -> Cmd {
        let parameters = serde_json::json!({
            "host": [host],
            "portNumber": ["443"],
            "localPortNumber": [port.to_string()],
        });
        self.target
            .aws(self.ctx, None)
            .args(["ssm", "start-session", "--target", instance, "--document-name", DOCUMENT, "--parameters"])
            .arg(parameters.to_string())
    }
}

/// The tunnel's steps: find the way in, write the kubeconfig, hold the forwarding session.
pub fn steps<'a>(ctx: &'a Context, target: &'a Target, port: u16, pipeline: &mut Pipeline<'a>) {
    let calls = Calls { ctx, target };
    let name = parameter(target);
    let shown_cluster = format!("<cluster_name from {name}>");
    pipeline.step(
        Step::new(
            "find",
            format!("Find the bastion and the cluster endpoint ({name}, EKS)"),
            vec![calls.get_parameter(), calls.describe_cluster(&shown_cluster)],
            move |c| {
                let calls = Calls { ctx, target };
                let way = parse_parameter(&c.output(&calls.get_parameter())?, &name)?;
                let endpoint =
                    parse_cluster(&c.output(&calls.describe_cluster(&way.cluster_name))?, &way.cluster_name)?;
                let note = format!("bastion {}, {} at {}", way.instance_id, way.cluster_name, endpoint.host);
                let record_json = Record { instance_id: way.instance_id, cluster_name: way.cluster_name, endpoint };
                write(&record(target), &serde_json::to_string_pretty(&record_json)?)?;
                c.note(note);
                Ok(())
            },
        )
        .note(format!("records them in {}", record(target).display())),
    );
    let kube = kubeconfig(target);
    pipeline.step(
        Step::new(
            "kubeconfig",
            format!("Write {} (server https://127.0.0.1:{port}, TLS name the endpoint's)", kube.display()),
            vec![],
            move |c| {
                let r = read_record(target)?;
                let yaml = kubeconfig_yaml(&target.env.name, &target.env.region, &r.cluster_name, &r.endpoint, port)?;
                write(&kubeconfig(target), &yaml)?;
                c.note(format!("in another terminal: export KUBECONFIG={}", kubeconfig(target).display()));
                Ok(())
            },
        )
        .note("kubectl and helm authenticate with `aws eks get-token` (your AWS identity, its access entry)"),
    );
    let calls = Calls { ctx, target };
    pipeline.step(
        Step::new(
            "forward",
            format!(
                "Forward 127.0.0.1:{port} to the API through the bastion until Ctrl-C (export KUBECONFIG={})",
                kubeconfig(target).display()
            ),
            vec![calls.start_session(
                &format!("<instance_id from {}>", parameter(target)),
                "<cluster endpoint host>",
                port,
            )],
            move |c| {
                let r = read_record(target)?;
                let session = Calls { ctx, target }.start_session(&r.instance_id, &r.endpoint.host, port);
                match c.run(&session) {
                    Ok(()) => c.note("the session ended"),
                    // Ctrl-C is how a tunnel is closed: the session got its interrupt and ended.
                    Err(e) if e.chain().any(|x| x.is::<crate::error::Interrupted>()) => c.note("closed (Ctrl-C)"),
                    Err(e) => return Err(e),
                }
                Ok(())
            },
        )
        .note("holds until Ctrl-C; moto has no Session Manager sessions, so `local` has no tunnel"),
    );
}

fn read_record(target: &Target) -> Result<Record> {
    let path = record(target);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::error::usage(format!(
            "{} is missing ({e}): run `cargo xtask tunnel {}` from the start (the `find` step writes it)",
            path.display(),
            target.env.name
        ))
    })?;
    serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_and_the_cluster_are_read_through_their_types() {
        let way = parse_parameter(
            r#"{"Parameter":{"Name":"/authorworks/dev/bastion/tunnel","Type":"String","Value":"{\"cluster_name\":\"authorworks-dev-eks\",\"instance_id\":\"i-0abc\"}"}}"#,
            "/authorworks/dev/bastion/tunnel",
        )
        .unwrap();
        assert_eq!(way, Way { instance_id: "i-0abc".into(), cluster_name: "authorworks-dev-eks".into() });
        let bad = parse_parameter(r#"{"Parameter":{"Value":"i-0abc"}}"#, "/p").unwrap_err();
        assert!(format!("{bad:#}").contains("/p does not hold"), "{bad:#}");

        let e = parse_cluster(
            r#"{"cluster":{"name":"c","status":"ACTIVE","endpoint":"https://ABC.gr7.us-east-1.eks.amazonaws.com","certificateAuthority":{"data":"Q0E="}}}"#,
            "c",
        )
        .unwrap();
        assert_eq!(e, Endpoint { host: "ABC.gr7.us-east-1.eks.amazonaws.com".into(), ca_data: "Q0E=".into() });
        let creating = parse_cluster(r#"{"cluster":{"status":"CREATING"}}"#, "c").unwrap_err();
        assert!(creating.to_string().contains("no endpoint yet (status CREATING)"), "{creating}");
    }

    #[test]
    fn the_kubeconfig_points_at_the_tunnel_and_verifies_the_real_name() {
        let e = Endpoint { host: "ABC.gr7.us-east-1.eks.amazonaws.com".into(), ca_data: "Q0E=".into() };
        let yaml = kubeconfig_yaml("dev", "us-east-1", "authorworks-dev-eks", &e, 8443).unwrap();
        let v: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        let cluster = &v["clusters"][0]["cluster"];
        assert_eq!(cluster["server"].as_str(), Some("https://127.0.0.1:8443"));
        assert_eq!(cluster["tls-server-name"].as_str(), Some("ABC.gr7.us-east-1.eks.amazonaws.com"));
        assert_eq!(cluster["certificate-authority-data"].as_str(), Some("Q0E="));
        let exec = &v["users"][0]["user"]["exec"];
        assert_eq!(exec["apiVersion"].as_str(), Some("client.authentication.k8s.io/v1beta1"));
        let args: Vec<&str> = exec["args"].as_sequence().unwrap().iter().filter_map(|a| a.as_str()).collect();
        assert_eq!(
            args,
            ["--region", "us-east-1", "eks", "get-token", "--cluster-name", "authorworks-dev-eks", "--output", "json"]
        );
        assert_eq!(v["current-context"].as_str(), Some("dev-tunnel"));
        assert_eq!(v["apiVersion"].as_str(), Some("v1"));
    }
}
