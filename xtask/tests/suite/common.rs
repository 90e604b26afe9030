//! Shared by the CLI tests: run the real binary in a scratch work dir, with recording stand-ins on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Condvar, Mutex, OnceLock};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The 1-based line of `file` (in this repository) where `needle` first appears, so an expected
/// finding follows the file as it is edited instead of pinning a line number.
pub fn line(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    1 + text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{file} has no line with {needle:?}"))
}

/// A scratch area for one test: its own work dir (journal, logs, emulator state), the project's
/// installed tools, no colour, not GitHub Actions.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub root: Option<PathBuf>,
    pub path_prefix: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap(), root: None, path_prefix: Vec::new(), env: Vec::new() }
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A scratch repository root holding `files` (path, content).
    pub fn with_root(mut self, files: &[(&str, &str)]) -> Sandbox {
        let root = self.dir.path().join("repo");
        for (path, content) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        self.root = Some(root);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Writes an executable stand-in `name` (a bash script body) into the sandbox's bin dir, first on PATH.
    pub fn standin(mut self, name: &str, body: &str) -> Sandbox {
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!("#!/usr/bin/env bash\necho \"{name} $*\" >> \"{}\"\n{body}\n", self.calls_file().display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        if !self.path_prefix.contains(&bin) {
            self.path_prefix.push(bin);
        }
        self
    }

    pub fn calls_file(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// Every stand-in call so far, one `tool args…` line each (without the preflight's version probes).
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.calls_file())
            .unwrap_or_default()
            .lines()
            .filter(|l| !VERSION_PROBES.contains(l))
            .map(String::from)
            .collect()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("XTASK_WORK_DIR", self.work())
            .env("XTASK_TOOLS_DIR", repo_root().join(".tools"))
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("XTASK_CONFIG")
            .stdin(std::process::Stdio::null());
        if let Some(root) = &self.root {
            cmd.env("XTASK_ROOT", root);
        }
        if !self.path_prefix.is_empty() {
            let mut paths = self.path_prefix.clone();
            paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
            cmd.env("PATH", std::env::join_paths(paths).unwrap());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the xtask to its end; `validate` and emulated plans wait for a CPU turn first and then run
    /// at nice 10 ([`cpu_turn`]).
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        let _turn = cpu_bound(args).then(|| {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs between fork and exec and only calls setpriority(2), which is
            // async-signal-safe; it allocates nothing.
            unsafe {
                cmd.pre_exec(|| {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                    Ok(())
                });
            }
            cpu_turn()
        });
        Run(cmd.output().expect("running the xtask binary"))
    }
}

/// Whether the xtask run `args` is CPU-bound: `validate` (emulated terraform plans, every module's
/// `terraform test`, checkov) and `plan <env> --emulated`, not their `--help`.
pub fn cpu_bound(args: &[&str]) -> bool {
    let heavy = match args.first() {
        Some(&"validate") => true,
        Some(&"plan") => args.contains(&"--emulated"),
        _ => false,
    };
    heavy && !args.contains(&"--help")
}

/// A turn at the CPU for a CPU-bound command, held until dropped: at most one per core at a time,
/// first come first served. The suite runs every case at once (RUST_TEST_THREADS in
/// .cargo/config.toml), because its longest cases, the emulator chains (deploy, operate, destroy),
/// mostly sleep on the AWS provider's fixed waiters; the CPU-bound commands take turns, and run at
/// nice 10 with their terraform, provider and checkov processes, so that when a chain wakes up to
/// compute, or a case times an interrupt (the e2e deploy interrupted during apply, the fault cases),
/// it gets a core first instead of being one of dozens of terraform processes on two cores.
pub struct CpuTurn;

struct Turns {
    running: usize,
    next: u64,
    serving: u64,
}

static TURNS: Mutex<Turns> = Mutex::new(Turns { running: 0, next: 0, serving: 0 });
static TURN_FREED: Condvar = Condvar::new();

pub fn cpu_turn() -> CpuTurn {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let ticket = turns.next;
    turns.next += 1;
    while !(turns.serving == ticket && turns.running < cores) {
        turns = TURN_FREED.wait(turns).unwrap_or_else(|e| e.into_inner());
    }
    turns.serving += 1;
    turns.running += 1;
    TURN_FREED.notify_all();
    CpuTurn
}

impl Drop for CpuTurn {
    fn drop(&mut self) {
        TURNS.lock().unwrap_or_else(|e| e.into_inner()).running -= 1;
        TURN_FREED.notify_all();
    }
}

/// Stops the sandbox's emulator (if it started one) when the test ends, passed or failed.
impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.work().join("emulator/state.json").exists() {
            let _ = self.command(&["emulator", "stop"]).output();
        }
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout(), self.stderr());
        self
    }
}

/// The preflight asks every tool a later step needs for its version (doctor's minimums) before the
/// first step; tests about the steps leave those out.
pub const VERSION_PROBES: &[&str] =
    &["terraform version", "aws --version", "kubectl version --client", "helm version --short"];

/// An xtask.toml for fixtures: `dev` (real AWS, account 111122223333) and `local` (the emulator).
pub const FIXTURE_CONFIG: &str = r#"project = "authorworks"

[environments.dev]
account_id = "111122223333"
region = "us-east-1"

[environments.prod]
account_id = "444455556666"
region = "us-east-1"
dr_region = "us-west-2"
protected = true

[environments.local]
account_id = "123456789012"
region = "us-east-1"
emulator = true
"#;

/// A repository whose environments are placeholders for stand-in terraform to "run".
pub fn fixture_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("xtask.toml", FIXTURE_CONFIG),
        ("terraform/environments/dev/main.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
        ("terraform/environments/prod/main.tf", "terraform {\n  backend \"s3\" {}\n}\n"),
        ("terraform/bootstrap/main.tf", "# bootstrap\n"),
        // Overlays with nothing in them: deploy's preflight renders the environment's overlay.
        ("k8s/overlays/dev/kustomization.yaml", "resources: []\n"),
        ("k8s/overlays/prod/kustomization.yaml", "resources: []\n"),
        // The repository's own price table, EKS calendar and usage file: deploy prices its plan with them.
        ("cost/prices.toml", include_str!("../../../cost/prices.toml")),
        ("k8s/eks-versions.toml", include_str!("../../../k8s/eks-versions.toml")),
        ("k8s/removed-apis.toml", include_str!("../../../k8s/removed-apis.toml")),
        // Its environment sections renamed to the fixture's environments: usage.toml may only name
        // environments xtask.toml defines.
        ("cost/usage.toml", fixture_usage()),
    ]
}

/// The repository's cost/usage.toml with `[env.production…]` as `[env.prod…]` and `[env.staging…]` as
/// `[env.local…]` (the fixture config's environments).
fn fixture_usage() -> &'static str {
    let text = include_str!("../../../cost/usage.toml")
        .replace("[env.production", "[env.prod")
        .replace("[env.staging", "[env.local");
    Box::leak(text.into_boxed_str())
}

/// Stand-ins for a happy `plan dev`: the right account, an existing state bucket, a plan with changes.
pub fn happy_standins(sb: Sandbox) -> Sandbox {
    sb.standin(
        "aws",
        r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *list-buckets*) echo authorworks-dev-tfstate-111122223333 ;;
esac"#,
    )
    .standin(
        "terraform",
        r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${a#-out=}" ;; esac; done ;;
  show) echo '{"applyable":true,"resource_changes":[{"address":"aws_vpc.main","mode":"managed","type":"aws_vpc","change":{"actions":["create"]}}]}' ;;
  output) echo '{"vpc_id":{"value":"vpc-1"}}' ;;
esac"#,
    )
}

/// The repository's own validate of every environment's contracts, run twice in one work dir, once
/// per test run: the sandbox and both outputs. The first run makes the five environments' emulated
/// plans, the second reuses them; every other test that validates the unchanged repository, or a copy
/// whose terraform/ is the repository's (the same plan key), takes its plans from this work dir
/// ([`with_the_plans_of`]) instead of making them again.
pub fn repository() -> &'static (Sandbox, Run, Run) {
    static RUNS: OnceLock<(Sandbox, Run, Run)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let sb = Sandbox::new();
        let first = sb.run(&["validate", "--only", "contracts"]);
        let second = sb.run(&["validate", "--only", "contracts"]);
        (sb, first, second)
    })
}

/// `shared`'s emulated plans of `envs` (and their keys) copied into `sb`'s work dir: `validate` in `sb`
/// reuses each whose key is still that of `sb`'s root, and makes the others.
pub fn with_the_plans_of(shared: &Sandbox, sb: &Sandbox, envs: &[&str]) {
    let plans = sb.work().join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    for env in envs {
        for f in [format!("{env}-emulated.plan.json"), format!("{env}-emulated.key")] {
            std::fs::copy(shared.work().join("plans").join(&f), plans.join(&f)).unwrap();
        }
    }
}

/// `validate --only "contracts <env>"` in the copy `sb`, with `shared`'s plan of `env`: a copy whose
/// terraform/ is the repository's has the same plan key, so the plan is reused, not made again.
pub fn contracts_with_the_plan_of(shared: &Sandbox, sb: &Sandbox, env: &str) -> Run {
    with_the_plans_of(shared, sb, &[env]);
    let out = sb.run(&["validate", "--only", &format!("contracts {env}")]);
    assert!(
        out.stdout().contains(&format!("{env}: reused (")),
        "the copy's plan key is the repository's:\n{}",
        out.stdout()
    );
    out
}

/// A copy of the repository's configuration, terraform, overlays, values, workflows and
/// docs/SECURITY.md with `edit` applied to each (path, content), and the `added` files written.
pub fn copy_with(edit: impl Fn(&str, String) -> String, added: &[(&str, &str)]) -> Sandbox {
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
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            let text = edit(&rel, text);
            files.push((rel, text));
        }
    }
    files.extend(added.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    Sandbox::new().with_root(&refs)
}

/// The copy with `edit` applied.
pub fn copy(edit: impl Fn(&str, String) -> String) -> Sandbox {
    copy_with(edit, &[])
}

/// The copy with each `(file, from, to)` change made (each `from` must be there) and the `added` files.
pub fn changed(changes: &[(&str, &str, &str)], added: &[(&str, &str)]) -> Sandbox {
    copy_with(
        |rel, mut text| {
            for (file, from, to) in changes.iter().filter(|(f, ..)| *f == rel) {
                assert!(text.contains(from), "{file} has no `{from}`");
                text = text.replacen(from, to, 1);
            }
            text
        },
        added,
    )
}

/// The copy with `file`'s first `from` replaced by `to`.
pub fn one_change(file: &str, from: &str, to: &str) -> Sandbox {
    changed(&[(file, from, to)], &[])
}

/// A failing run whose output has a line with every one of `parts`.
#[track_caller]
pub fn finds(out: &Run, parts: &[&str]) {
    out.assert_code(1);
    let text = out.stdout();
    assert!(text.lines().any(|l| parts.iter().all(|p| l.contains(p))), "no finding with all of {parts:?} in:\n{text}");
}

/// terraform in the xtask's scratch root for `local`, as another operator would run it.
pub fn terraform(sb: &Sandbox, args: &[&str]) -> String {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("emulator/state.json")).unwrap()).unwrap();
    let mut cmd = std::process::Command::new("terraform");
    cmd.args(args)
        .current_dir(sb.work().join("emulated/local/terraform/environments/local"))
        .env("TF_DATA_DIR", sb.work().join("terraform/data/local"))
        .env("TF_IN_AUTOMATION", "1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", state["port"]));
    let tfrc = sb.work().join("terraform/cli.tfrc");
    if tfrc.exists() {
        cmd.env("TF_CLI_CONFIG_FILE", tfrc);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "terraform {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
