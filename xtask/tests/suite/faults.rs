//! Faults and bad input (issue 14), each through the real binary: an interrupted apply and its printed
//! `--resume`, a forced interrupt and the printed way out of the state lock it leaves, two runs at once,
//! refusals before any change (bad overlay, old tools, a protected environment without a terminal, a
//! taken port, an unwritable work dir), the emulator dying under an apply, no private key on disk after
//! a kill during `mesh`, and every piece of advice the tool prints being a command that exists.
//!
//! The emulator tests apply a small stack (a zone and its CAA record, a few parameters, and a
//! `terraform_data` whose provisioner sleeps while `FAULTS_FAST` is unset — the apply to interrupt)
//! with real terraform against the real emulator; the rest use recording stand-ins.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

// ---------------------------------------------------------------------------------------------------
// Helpers

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

const SMALL_MAIN: &str = r#"# A small `local` for the fault tests: quick resources, and one apply step that takes a while.
module "stack" {
  source = "./stack"

  emulator_omissions = {
    tls_only_bucket_policies = "the emulator ignores the aws:SecureTransport condition"
  }
}
"#;

const SMALL_STACK: &str = r#"variable "emulator_omissions" {
  type = map(string)
}

resource "aws_route53_zone" "this" {
  name = "faults.authorworks.test"
}

resource "aws_route53_record" "caa" {
  zone_id         = aws_route53_zone.this.zone_id
  name            = "faults.authorworks.test"
  type            = "CAA"
  ttl             = 300
  records         = ["0 issue \"amazon.com\""]
  allow_overwrite = true
}

resource "aws_ssm_parameter" "p" {
  count = 4
  name  = "/faults/p${count.index}"
  type  = "String"
  value = "v${count.index}"
}

resource "terraform_data" "slow" {
  provisioner "local-exec" {
    # FAULTS_FAST: nothing to wait for.
    command = "[ -n \"$FAULTS_FAST\" ] && exit 0; sleep 45"
  }
}
"#;

/// Every `${terraform:NAME[.KEY]}` under `dir` replaced by `stand-in.NAME.invalid`.
fn unbind(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            unbind(&path);
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut parts = text.split("${terraform:");
        let mut out = parts.next().unwrap_or_default().to_string();
        for rest in parts {
            let end = rest.find('}').unwrap();
            out.push_str(&format!("stand-in.{}.invalid{}", rest[..end].replace(['.', '_'], "-"), &rest[end + 1..]));
        }
        std::fs::write(&path, out).unwrap();
    }
}

/// The real repository's config, k8s, helm values, cost files and bootstrap, with a small `local`.
fn small_local() -> Sandbox {
    let sb = Sandbox::new();
    let root = sb.path("repo");
    let real = repo_root();
    for dir in [
        "k8s",
        "helm-values",
        "cost",
        "terraform/bootstrap",
        // The bootstrap's module and the building blocks it calls.
        "terraform/modules/state-backend",
        "terraform/modules/hardened-bucket",
        "terraform/modules/kms-key",
    ] {
        copy_dir(&real.join(dir), &root.join(dir));
    }
    std::fs::copy(real.join("xtask.toml"), root.join("xtask.toml")).unwrap();
    // The overlay binds the real stack's outputs at deploy time; this small stack has none of them,
    // so the copy's bindings are replaced by literal stand-ins (the binding itself is tested in
    // tests/suite/cluster.rs and end to end in tests/suite/e2e.rs).
    unbind(&root.join("k8s"));
    // So do the releases' values: they name the registry host the pull-through cache serves.
    unbind(&root.join("helm-values"));
    // The dev overlay's Kubernetes version is read from dev's root.
    let dev = root.join("terraform/environments/dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::copy(real.join("terraform/environments/dev/main.tf"), dev.join("main.tf")).unwrap();
    let local = root.join("terraform/environments/local");
    std::fs::create_dir_all(local.join("stack")).unwrap();
    for f in ["providers.tf", "variables.tf", "versions.tf", ".terraform.lock.hcl"] {
        std::fs::copy(real.join("terraform/environments/local").join(f), local.join(f)).unwrap();
    }
    std::fs::write(local.join("main.tf"), SMALL_MAIN).unwrap();
    std::fs::write(local.join("stack/main.tf"), SMALL_STACK).unwrap();
    let mut sb = sb;
    sb.root = Some(root);
    sb
}

fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    sb.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the run's apply is under way; a run that ended before is shown.
fn wait_applying(sb: &Sandbox, child: Child) -> Child {
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !applying(sb) {
        if child.try_wait().unwrap().is_some() {
            let out = Run(child.wait_with_output().unwrap());
            panic!("the run ended before its apply:\n{}", out.all());
        }
        assert!(Instant::now() < deadline, "timed out waiting for the apply");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// The running apply's log shows terraform creating resources.
fn applying(sb: &Sandbox) -> bool {
    let logs = sb.work().join("logs/deploy-local");
    std::fs::read_dir(logs).into_iter().flatten().flatten().any(|e| {
        e.file_name().to_string_lossy().ends_with("-apply.log")
            && std::fs::read_to_string(e.path()).unwrap_or_default().contains("terraform_data.slow: Provisioning")
    })
}

/// Sends `sig` ("-INT", "-KILL") to `pid` with kill(2) itself: no `kill` process to start, so two
/// signals 0.1 s apart arrive 0.1 s apart however busy the machine is.
fn signal(pid: u32, sig: &str) {
    let number = match sig {
        "-INT" => libc::SIGINT,
        "-KILL" => libc::SIGKILL,
        "-STOP" => libc::SIGSTOP,
        _ => panic!("no signal {sig}"),
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, number) }, 0, "kill {sig} {pid}");
}

/// The pid of `parent`'s child process whose command is `name` (from /proc).
fn child_named(parent: u32, name: &str) -> u32 {
    let children = std::fs::read_dir("/proc").unwrap().flatten().filter_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
        let (head, rest) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm == name).then_some(pid)
    });
    children.into_iter().next().unwrap_or_else(|| panic!("{parent} runs no `{name}`"))
}

fn emulator_pid(sb: &Sandbox) -> u32 {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("emulator/state.json")).unwrap()).unwrap();
    state["pid"].as_u64().unwrap() as u32
}

/// `cargo xtask …` commands in `text`: in backticks, and (in output) after "Resume with:"/"Run again:".
fn advice_in(text: &str, output: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        for prefix in ["Resume with: cargo xtask ", "Run again: cargo xtask "] {
            match line.find(prefix) {
                Some(at) if output => found.push(line[at + prefix.len()..].trim().to_string()),
                _ => {}
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("`cargo xtask ") {
            let after = &rest[at + "`cargo xtask ".len()..];
            let Some(end) = after.find('`') else { break };
            found.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    found
}

/// Every piece of advice parses with the real command line (`--help` after it exits 0 only then).
#[track_caller]
fn assert_advice_works(sb: &Sandbox, text: &str) {
    for advice in advice_in(text, true) {
        let mut words: Vec<String> = shlex::split(&advice).unwrap_or_else(|| panic!("unquotable advice `{advice}`"));
        words.push("--help".into());
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let out = sb.run(&args);
        assert_eq!(out.code(), 0, "the advice `cargo xtask {advice}` is not a command:\n{}", out.stderr());
    }
}

fn emulator_started(sb: &Sandbox) -> bool {
    sb.work().join("emulator/state.json").exists()
}

// ---------------------------------------------------------------------------------------------------
// Interrupts, against the emulator

/// Interrupt during apply → the printed `--resume` plans again and converges; a double interrupt →
/// the output says it was forced and the printed way out clears the lock; the rerun converges.
#[test]
fn interrupted_and_forced_applies_recover_with_the_printed_commands() {
    let sb = small_local();

    // 1. One interrupt while the apply runs: terraform shuts down cleanly, the xtask exits 130.
    let child = wait_applying(&sb, spawn(&sb, &["deploy", "local", "--no-cost-gate"]));
    signal(child.id(), "-INT");
    let out = Run(child.wait_with_output().unwrap());
    out.assert_code(130);
    let err = out.stderr();
    assert!(err.contains("the tool finished its own shutdown first"), "{err}");
    assert!(err.contains("Resume with: cargo xtask deploy local --no-cost-gate --resume"), "{err}");
    assert!(err.contains("tainted"), "what the interrupt left is said:\n{err}");
    assert_advice_works(&sb, &out.all());

    // The printed resume plans again from init (never the stale saved plan) and finishes.
    let resumed =
        Run(sb.command(&["deploy", "local", "--no-cost-gate", "--resume"]).env("FAULTS_FAST", "1").output().unwrap());
    resumed.assert_code(0);
    assert!(resumed.stdout().contains("Resuming from `init`, not `apply`"), "{}", resumed.stdout());
    assert!(!resumed.all().to_lowercase().contains("stale plan"), "{}", resumed.all());

    // 2. A change to apply again, then two interrupts 0.1 s apart: forced, and said so.
    let retaint = Run(sb.command(&["deploy", "local", "--no-cost-gate", "--only", "plan"]).output().unwrap());
    retaint.assert_code(0);
    terraform(&sb, &["taint", "module.stack.terraform_data.slow"]);
    let child = wait_applying(&sb, spawn(&sb, &["deploy", "local", "--no-cost-gate"]));
    // terraform stops its provisioners and providers at once on an interrupt and is often done within
    // the 0.1 s, so it is held first (SIGSTOP: it can't act on the interrupt it is sent): the second
    // interrupt always finds it still shutting down, as a tool stuck in its shutdown would be.
    signal(child_named(child.id(), "terraform"), "-STOP");
    signal(child.id(), "-INT");
    std::thread::sleep(Duration::from_millis(100));
    signal(child.id(), "-INT");
    let out = Run(child.wait_with_output().unwrap());
    out.assert_code(130);
    let err = out.stderr();
    assert!(err.contains("interrupted twice") && err.contains("(forced)"), "{err}");
    assert!(!err.contains("finished its own shutdown first"), "{err}");
    assert!(err.contains("remove it with `cargo xtask unlock local --yes`"), "the way out is printed:\n{err}");
    assert!(err.contains("ID "), "the lock's ID is shown:\n{err}");
    assert_advice_works(&sb, &out.all());

    // Without --yes and without a terminal: shown, not removed.
    let asked = sb.run(&["unlock", "local"]);
    asked.assert_code(2);
    assert!(asked.stdout().contains("held by"), "{}", asked.stdout());
    let unlocked = sb.run(&["unlock", "local", "--yes"]);
    unlocked.assert_code(0);
    assert!(unlocked.stdout().contains("Removed the state lock"), "{}", unlocked.stdout());

    // The rerun converges, and then nothing is left to change.
    let rerun = Run(sb.command(&["deploy", "local", "--no-cost-gate"]).env("FAULTS_FAST", "1").output().unwrap());
    rerun.assert_code(0);
    assert!(!rerun.all().contains("Error acquiring the state lock"), "{}", rerun.all());
    let plan = sb.run(&["plan", "local"]);
    plan.assert_code(0);
    assert!(plan.stdout().contains("0 to add, 0 to change, 0 to destroy"), "{}", plan.stdout());
}

/// The emulator killed during apply: the run ends within a minute, naming the emulator and what a
/// rerun does.
#[test]
fn the_emulator_dying_mid_apply_ends_the_run_naming_it() {
    let sb = small_local();
    let child = wait_applying(&sb, spawn(&sb, &["deploy", "local", "--no-cost-gate"]));
    let pid = emulator_pid(&sb);
    signal(pid, "-KILL");
    let killed = Instant::now();
    let out = Run(child.wait_with_output().unwrap());
    assert!(killed.elapsed() < Duration::from_secs(60), "took {:?}", killed.elapsed());
    out.assert_code(1);
    let err = out.stderr();
    assert!(err.contains(&format!("the AWS emulator (moto_server, pid {pid}, port")), "{err}");
    assert!(err.contains("Run again: cargo xtask deploy local --no-cost-gate"), "{err}");
    assert!(!err.contains("--resume"), "resuming can't work without the emulator's state:\n{err}");
    assert_advice_works(&sb, &out.all());
}

// ---------------------------------------------------------------------------------------------------
// Two runs at once

#[test]
fn a_second_run_of_the_same_environment_exits_at_once_naming_the_first() {
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()));
    let started = sb.path("init-started");
    let release = sb.path("release-init");
    let sb = sb.standin(
        "terraform",
        &format!(
            r#"case "$1" in
  init) touch "{started}"; while [ ! -e "{release}" ]; do sleep 0.1; done; echo "init output of the first run" ;;
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) echo '{{"applyable":false,"resource_changes":[]}}' ;;
esac"#,
            started = started.display(),
            release = release.display()
        ),
    );
    let first = spawn(&sb, &["plan", "dev"]);
    wait_for("the first run's init", Duration::from_secs(60), || started.exists());

    let t = Instant::now();
    let second = sb.run(&["plan", "dev"]);
    assert!(t.elapsed() < Duration::from_secs(20), "refused within seconds: {:?}", t.elapsed());
    second.assert_code(2);
    let err = second.stderr();
    assert!(err.contains(&format!("`cargo xtask plan dev` (pid {}, started ", first.id())), "{err}");
    assert!(err.contains("UTC)"), "{err}");
    let moved = std::fs::read_dir(sb.work().join("logs")).unwrap().flatten().count();
    assert_eq!(moved, 1, "the second run moved or wrote no logs");

    std::fs::write(&release, "").unwrap();
    let out = Run(first.wait_with_output().unwrap());
    out.assert_code(0);
    let init_log = std::fs::read_to_string(sb.work().join("logs/plan-dev/03-init.log")).unwrap();
    assert!(init_log.contains("init output of the first run"), "the first run's log is intact:\n{init_log}");

    // A later run keeps the earlier run's logs beside its own.
    sb.run(&["plan", "dev", "--only", "validate"]).assert_code(0);
    let kept = std::fs::read_dir(sb.work().join("logs"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("plan-dev.") && e.path().join("03-init.log").is_file());
    assert!(kept, "the earlier run's logs were moved aside, not overwritten");
}

// ---------------------------------------------------------------------------------------------------
// Refused before any change

#[test]
fn a_protected_environment_without_a_terminal_is_refused_before_anything_runs() {
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()));
    let out = sb.run(&["deploy", "prod"]);
    out.assert_code(2);
    assert!(out.stderr().contains("`prod` is protected and there is no terminal"), "{}", out.stderr());
    assert!(out.stderr().contains("`cargo xtask deploy prod --yes`"), "{}", out.stderr());
    assert!(sb.calls().is_empty(), "nothing ran: {:?}", sb.calls());
    assert_advice_works(&sb, &out.all());
}

fn real_repo() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.root = Some(repo_root());
    sb
}

fn config_with(sb: &Sandbox, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("xtask.toml")).unwrap();
    assert!(text.contains(from), "xtask.toml has `{from}`");
    let path = sb.path("xtask.toml");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

#[test]
fn bad_overlays_old_tools_a_taken_port_refused_before_the_emulator_starts() {
    // An overlay that does not exist.
    let sb = real_repo();
    let config = config_with(&sb, "overlay = \"dev\"", "overlay = \"nosuch\"");
    let out = Run(sb.command(&["deploy", "local", "--config", config.to_str().unwrap()]).output().unwrap());
    out.assert_code(2);
    assert!(
        out.stderr().contains("deploys the overlay `nosuch`, but") && out.stderr().contains("(the overlays: "),
        "{}",
        out.stderr()
    );
    assert!(!emulator_started(&sb), "no emulator was started");

    // terraform 1.5.7 on PATH.
    let sb = real_repo().standin("terraform", r#"[ "$1" = version ] && echo "Terraform v1.5.7"; exit 0"#);
    let out = sb.run(&["deploy", "local"]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("terraform 1.5.7 (") && out.stderr().contains("older than the minimum 1.11.0"),
        "{}",
        out.stderr()
    );
    assert!(!sb.calls().iter().any(|c| c != "terraform version"), "nothing but the version ran: {:?}", sb.calls());
    assert!(!emulator_started(&sb));

    // An old kubectl, with none installed by the project, for a real environment (which takes its tools
    // from the machine: `local` installs its own pinned kubectl before anything changes instead).
    let sb = real_repo().standin("kubectl", r#"echo "Client Version: v1.32.4""#);
    let empty = sb.path("no-tools");
    let sb = sb.env("XTASK_TOOLS_DIR", empty.to_str().unwrap());
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("kubectl 1.32.4") && out.stderr().contains("cargo xtask tools install"),
        "{}",
        out.stderr()
    );
    assert!(!emulator_started(&sb));
    assert_advice_works(&sb, &out.all());

    // The configured emulator port is taken.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sb = real_repo();
    let config = config_with(&sb, "# port = 4566", &format!("port = {port}"));
    let out = Run(sb.command(&["deploy", "local", "--config", config.to_str().unwrap()]).output().unwrap());
    out.assert_code(2);
    assert!(out.stderr().contains(&format!("port {port} on 127.0.0.1 is taken")), "{}", out.stderr());
    assert!(!emulator_started(&sb));
}

#[test]
fn a_broken_overlay_and_an_unwritable_work_dir_are_refused_before_terraform_runs() {
    let mut files = fixture_files();
    files.push(("k8s/overlays/dev/kustomization.yaml", "resources:\n  - missing.yaml\n"));
    let sb = happy_standins(Sandbox::new().with_root(&files));
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(2);
    assert!(out.stderr().contains("the `dev` overlay does not render"), "{}", out.stderr());
    assert!(!sb.calls().iter().any(|c| c.starts_with("terraform ") && c != "terraform version"), "{:?}", sb.calls());
    assert!(!sb.calls().iter().any(|c| c.contains("get-caller-identity")), "{:?}", sb.calls());

    // The work dir can't be created (a file is in its way).
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()));
    let blocker = sb.path("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = Run(sb.command(&["plan", "dev"]).env("XTASK_WORK_DIR", blocker.join("work")).output().unwrap());
    out.assert_code(2);
    assert!(out.stderr().contains("cannot write to the work directory"), "{}", out.stderr());
}

// ---------------------------------------------------------------------------------------------------
// Secrets on disk

#[test]
fn no_private_key_on_disk_after_a_kill_during_mesh() {
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()));
    let received = sb.path("received-on-stdin");
    let storing = sb.path("storing");
    let sb = sb.standin(
        "aws",
        &format!(
            r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *describe-secret*) echo "An error occurred (ResourceNotFoundException) when calling the DescribeSecret operation" >&2; exit 254 ;;
  *create-secret*|*put-secret-value*)
    for a in "$@"; do case "$a" in file:///dev/stdin) cat > "{received}" ;; file://*) cp "${{a#file://}}" "{received}" ;; esac; done
    touch "{storing}"; sleep 30 ;;
esac"#,
            received = received.display(),
            storing = storing.display()
        ),
    );
    // A leftover from an older, killed run is removed at the next start.
    let plans = sb.work().join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(plans.join("dev.linkerd-identity.json"), "-----BEGIN PRIVATE KEY----- leftover").unwrap();

    let mut child = spawn(&sb, &["mesh", "certs", "dev"]);
    wait_for("the identity being stored", Duration::from_secs(60), || storing.exists());
    // Killed at the worst moment: the keys are on their way to Secrets Manager.
    signal(child.id(), "-KILL");
    child.wait().unwrap();
    let sent = std::fs::read_to_string(&received).unwrap();
    assert!(sent.contains("PRIVATE KEY"), "the keys reached the AWS CLI on stdin");
    for file in walk(&sb.work()) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains("PRIVATE KEY"), "a private key on disk: {}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------------
// Advice that works

/// Every `cargo xtask …` the sources print or document parses with the real command line
/// (`<env>`-style placeholders and `{…}` format arguments filled with `local`).
#[test]
fn every_command_the_sources_advise_exists() {
    let sb = Sandbox::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in walk(&repo_root().join("xtask/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for advice in advice_in(&text, false) {
            // Synopses (`a|b`) and whole-invocation placeholders are not advice.
            if ["…", "|", "{invocation}", "{}", "<words>"].iter().any(|p| advice.contains(p)) {
                continue;
            }
            let filled: Vec<String> = advice
                .split_whitespace()
                .map(|w| {
                    if (w.starts_with('<') && w.ends_with('>')) || (w.starts_with('{') && w.ends_with('}')) {
                        "local".to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            let mut args: Vec<&str> = filled.iter().map(String::as_str).collect();
            args.push("--help");
            checked += 1;
            if sb.run(&args).code() != 0 {
                failures.push(format!("{}: `cargo xtask {advice}`", file.display()));
            }
        }
    }
    assert!(checked > 10, "only {checked} pieces of advice found");
    assert!(failures.is_empty(), "advice that is not a command:\n{}", failures.join("\n"));
}
