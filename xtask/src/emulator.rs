//! The local AWS emulator: moto server on 127.0.0.1, run as a managed background process.
//!
//! `start` records the process in `<work>/emulator/state.json` (pid, port) with its output in
//! `<work>/emulator/moto.log`; `stop` stops only the process that file names, after checking it is
//! still the emulator. Its settings are [`SETTINGS`].

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::engine::{Cmd, Step, StepCtx};
use crate::tools::{self, Tools};

const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The emulator's settings (moto's environment variables, read once at server start; moto 5.2.5's
/// `moto/settings.py` and `moto/iam/models.py`).
pub const SETTINGS: &[(&str, &str)] = &[
    // AWS-managed IAM policies exist only when loaded: the EKS roles attach them.
    ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"),
    // A DNS-validated certificate is issued as soon as it is asked about, as AWS does once the
    // validation records resolve; moto's default keeps it PENDING_VALIDATION for 60 s, which
    // `aws_acm_certificate_validation` sat out on every first apply.
    ("MOTO_ACM_VALIDATION_WAIT", "0"),
    // The bastion boots the image AWS's public SSM parameter names (al2023-ami-kernel-default-*), and the
    // provider describes it before launching: moto knows those images only from its AMI catalogue
    // (ec2/resources/latest_amis), which this loads when the EC2 backend first starts (about 0.4 s of
    // CPU per region).
    ("MOTO_EC2_LOAD_DEFAULT_AMIS", "true"),
];
/// The account the emulator answers for (moto's default).
pub const ACCOUNT_ID: &str = "123456789012";

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Running {
    pub pid: u32,
    pub port: u16,
}

impl Running {
    pub fn endpoint(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }
}

fn dir(ctx: &Context) -> PathBuf {
    ctx.work.join("emulator")
}

fn state_path(ctx: &Context) -> PathBuf {
    dir(ctx).join("state.json")
}

pub fn log_path(ctx: &Context) -> PathBuf {
    dir(ctx).join("moto.log")
}

/// The emulator this project started, if it is running and answering.
pub fn running(ctx: &Context) -> Option<Running> {
    let text = std::fs::read_to_string(state_path(ctx)).ok()?;
    let state: Running = serde_json::from_str(&text).ok()?;
    let up = is_emulator_process(state.pid) && answers(state.port);
    if up {
        crate::watchdog::watch(state.pid, state.port); // faults: steps from here on depend on it
    }
    up.then_some(state)
}

/// One line for `doctor` and `status`.
pub fn describe(ctx: &Context) -> String {
    match running(ctx) {
        Some(r) => format!("running at {} (pid {}, log {})", r.endpoint(), r.pid, log_path(ctx).display()),
        None => "not running (commands for `local` start it on demand; or: cargo xtask emulator start)".into(),
    }
}

/// The step that makes sure the emulator runs (installing it first if needed), then hands its
/// endpoint to `then`.
pub fn start_step<'a>(ctx: &'a Context, port: Option<u16>, then: impl FnOnce(String) + 'a) -> Step<'a> {
    let tools = Tools::new(ctx);
    let mut shown = Cmd::new(tools::EMULATOR.bin);
    for &(key, value) in SETTINGS {
        shown = shown.env(key, value);
    }
    let shown = shown
        .args(["-H", "127.0.0.1", "-p"])
        .arg(port.map(|p| p.to_string()).unwrap_or_else(|| "<a free port>".into()));
    Step::new("emulator", "Start the AWS emulator on 127.0.0.1 unless it is running", vec![shown], move |c| {
        let running = ensure(ctx, &tools, port, c)?;
        then(running.endpoint());
        Ok(())
    })
    .note("skipped when the emulator this project started is running; installs moto[server] into .tools on first use")
}

/// Starts the emulator unless it runs already; the running instance either way.
pub fn ensure(ctx: &Context, tools: &Tools, port: Option<u16>, c: &mut StepCtx) -> Result<Running> {
    if let Some(r) = running(ctx) {
        c.note(format!("already running at {} (pid {})", r.endpoint(), r.pid));
        return Ok(r);
    }
    let exe = tools.ensure_emulator(c)?;
    let port = match port {
        Some(p) => p,
        None => free_port()?,
    };
    if answers(port) || TcpListener::bind((HOST, port)).is_err() {
        // faults: a configuration problem (exit 2), not a failed step.
        return Err(crate::error::usage(format!(
            "port {port} on 127.0.0.1 is taken by another process; set emulator.port in xtask.toml to a free one (or remove it)"
        )));
    }
    std::fs::create_dir_all(dir(ctx)).context("creating the emulator directory")?;
    let log = std::fs::File::create(log_path(ctx)).context("creating the emulator log")?;
    let mut server =
        Cmd::new(tools::EMULATOR.bin).exe(Some(exe.clone())).args(["-H", &HOST.to_string(), "-p", &port.to_string()]);
    for &(key, value) in SETTINGS {
        server = server.env(key, value);
    }
    let child = server.spawn_background(log).with_context(|| format!("starting {}", exe.display()))?;
    let running = Running { pid: child.id(), port };
    std::fs::write(state_path(ctx), serde_json::to_string(&running)?).context("writing the emulator state")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers(port) {
        if !crate::engine::alive(running.pid) || Instant::now() > deadline {
            crate::engine::signal_group(running.pid, libc::SIGKILL);
            let _ = std::fs::remove_file(state_path(ctx));
            let log = std::fs::read_to_string(log_path(ctx)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            bail!(
                "the emulator did not come up on port {port} ({}); see {}",
                tail.join(" | "),
                log_path(ctx).display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    crate::watchdog::watch(running.pid, running.port); // faults: steps from here on depend on it
    c.log(format!("emulator running at {} (pid {})", running.endpoint(), running.pid));
    c.note(format!("started at {}", running.endpoint()));
    Ok(running)
}

/// Stops the emulator this project started; `None` when none was running.
pub fn stop(ctx: &Context) -> Result<Option<Running>> {
    let path = state_path(ctx);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let Ok(state) = serde_json::from_str::<Running>(&text) else {
        std::fs::remove_file(&path).ok();
        return Ok(None);
    };
    if !is_emulator_process(state.pid) {
        std::fs::remove_file(&path).ok();
        return Ok(None);
    }
    crate::watchdog::unwatch(); // faults: stopped on purpose
    crate::engine::signal_group(state.pid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::engine::alive(state.pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if crate::engine::alive(state.pid) {
        crate::engine::signal_group(state.pid, libc::SIGKILL);
    }
    std::fs::remove_file(&path).ok();
    Ok(Some(state))
}

/// The pid is alive and is a moto server (a recycled pid is never signalled).
fn is_emulator_process(pid: u32) -> bool {
    crate::engine::alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(tools::EMULATOR.bin))
            .unwrap_or(false)
}

/// Something on the port answers HTTP.
pub fn answers(port: u16) -> bool {
    let addr = SocketAddr::from((HOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((HOST, 0)).context("finding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// The environment that sends the AWS CLI and SDKs to the emulator with its fixed test credentials
/// (these are not secrets: the emulator accepts any).
pub fn aws_env(endpoint: &str, region: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_REGION", region),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
