//! `cargo xtask tunnel <env>` against recording stand-ins for the AWS CLI and its Session Manager plugin
//! (the emulator has no Session Manager sessions): the calls in order with their flags, the kubeconfig it
//! writes, Ctrl-C as the normal end, and the refusals before anything is called.

use std::time::{Duration, Instant};

use crate::common::{fixture_files, Sandbox};

const PARAMETER: &str = r#"{"Parameter":{"Name":"/authorworks/dev/bastion/tunnel","Type":"String","Value":"{\"cluster_name\":\"authorworks-dev-eks\",\"instance_id\":\"i-0bastion\"}"}}"#;
const CLUSTER: &str = r#"{"cluster":{"name":"authorworks-dev-eks","status":"ACTIVE","endpoint":"https://ABCDEF.gr7.us-east-1.eks.amazonaws.com","certificateAuthority":{"data":"Q0EtREFUQQ=="}}}"#;

/// The fixture repository (dev in account 111122223333) with an AWS CLI that knows the tunnel's calls;
/// `session` is what `aws ssm start-session` does.
fn repo(session: &str) -> Sandbox {
    Sandbox::new()
        .with_root(&fixture_files())
        .standin(
            "aws",
            &format!(
                r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *"ssm get-parameter"*) echo '{PARAMETER}' ;;
  *"eks describe-cluster"*) echo '{CLUSTER}' ;;
  *"ssm start-session"*) {session} ;;
esac"#
            ),
        )
        .standin("session-manager-plugin", r#"[ "$1" = "--version" ] && echo 1.2.707.0; exit 0"#)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

fn aws_calls(sb: &Sandbox) -> Vec<String> {
    sb.calls().into_iter().filter(|c| c.starts_with("aws ") && c != "aws --version").collect()
}

#[test]
fn the_tunnel_finds_the_way_in_writes_a_kubeconfig_and_forwards_to_the_endpoint() {
    let sb = repo("echo 'Starting session with SessionId: me-0123'; exit 0");
    let port = free_port().to_string();
    let out = sb.run(&["tunnel", "dev", "--port", &port]);
    out.assert_code(0);
    assert_eq!(
        aws_calls(&sb),
        [
            "aws sts get-caller-identity --query Account --output text".to_string(),
            "aws ssm get-parameter --name /authorworks/dev/bastion/tunnel --output json".to_string(),
            "aws eks describe-cluster --name authorworks-dev-eks --output json".to_string(),
            format!("aws ssm start-session --target i-0bastion --document-name AWS-StartPortForwardingSessionToRemoteHost --parameters {{\"host\":[\"ABCDEF.gr7.us-east-1.eks.amazonaws.com\"],\"localPortNumber\":[\"{port}\"],\"portNumber\":[\"443\"]}}"),
        ]
    );
    let kubeconfig = std::fs::read_to_string(sb.work().join("kube/dev-tunnel.config")).unwrap();
    let v: serde_json::Value = serde_norway::from_str(&kubeconfig).unwrap();
    let cluster = &v["clusters"][0]["cluster"];
    assert_eq!(cluster["server"], format!("https://127.0.0.1:{port}"));
    assert_eq!(cluster["tls-server-name"], "ABCDEF.gr7.us-east-1.eks.amazonaws.com", "kubectl verifies the real name");
    assert_eq!(cluster["certificate-authority-data"], "Q0EtREFUQQ==");
    assert_eq!(v["users"][0]["user"]["exec"]["args"][3], "get-token");
    assert!(out.stdout().contains("export KUBECONFIG="), "{}", out.stdout());
}

#[test]
fn ctrl_c_closes_the_tunnel_and_is_no_failure() {
    let sb = repo("trap 'exit 130' INT; while true; do sleep 0.1; done");
    let port = free_port().to_string();
    let mut child = sb.command(&["tunnel", "dev", "--port", &port]).spawn().unwrap();
    let started = Instant::now();
    while !sb.calls().iter().any(|c| c.contains("ssm start-session")) {
        assert!(started.elapsed() < Duration::from_secs(60), "the session never started: {:?}", sb.calls());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C is how a tunnel is closed");
    assert!(sb.work().join("kube/dev-tunnel.config").is_file());
}

#[test]
fn a_taken_port_or_a_missing_plugin_is_refused_before_any_call() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let sb = repo("exit 0");
    let out = sb.run(&["tunnel", "dev", "--port", &port]);
    out.assert_code(2);
    assert!(out.stderr().contains(&format!("port {port} on 127.0.0.1 is taken")), "{}", out.stderr());
    assert!(aws_calls(&sb).is_empty(), "nothing called: {:?}", sb.calls());

    let without_plugin = Sandbox::new().with_root(&fixture_files()).standin("aws", "exit 0");
    let out = without_plugin.run(&["tunnel", "dev", "--port", &free_port().to_string()]);
    out.assert_code(2);
    assert!(out.stderr().contains("`session-manager-plugin` not found"), "{}", out.stderr());
    assert!(aws_calls(&without_plugin).is_empty());
}

#[test]
fn the_emulator_environment_has_no_tunnel() {
    let out = Sandbox::new().run(&["tunnel", "local"]);
    out.assert_code(2);
    assert!(out.stderr().contains("no Session Manager sessions"), "{}", out.stderr());
}

#[test]
fn a_tunnel_does_not_hold_the_environment_against_a_deploy() {
    let sb = repo("trap 'exit 130' INT; while true; do sleep 0.1; done");
    let mut child = sb.command(&["tunnel", "dev", "--port", &free_port().to_string()]).spawn().unwrap();
    let started = Instant::now();
    while !sb.calls().iter().any(|c| c.contains("ssm start-session")) {
        assert!(started.elapsed() < Duration::from_secs(60), "the session never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A second tunnel to the same environment in this checkout is refused, naming the first…
    let second = sb.run(&["tunnel", "dev", "--port", &free_port().to_string()]);
    // …but the environment's own run lock is free: a plan's dry run and a deploy are not blocked by it.
    let lock_free = !sb.work().join("locks/dev.lock").exists();
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    child.wait().unwrap();
    second.assert_code(2);
    assert!(second.stderr().contains("tunnel dev"), "{}", second.stderr());
    assert!(lock_free, "the tunnel holds dev-tunnel, not dev");
}
