//! End to end against the AWS emulator, with real terraform and the real AWS provider: the `local`
//! stack deployed from nothing (its first apply interrupted, leaving no state lock behind), redeployed
//! without changes, operated (backup, pruning, restore drill, off-hours), refused when it should be
//! (stale plan, protected destroy gate, wrong account), and destroyed; every environment planned
//! against the emulator.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

fn sandbox() -> Sandbox {
    // The real repository (its terraform, k8s and helm-values), with this test's own work dir, emulator
    // and state.
    let mut sb = Sandbox::new();
    sb.root = Some(repo_root());
    sb
}

/// The AWS CLI against the sandbox's emulator; its JSON answer.
fn aws(sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("emulator/state.json")).unwrap()).unwrap();
    let endpoint = format!("http://127.0.0.1:{}", state["port"]);
    let out = std::process::Command::new("aws")
        .args(args)
        .args(["--output", "json", "--endpoint-url", &endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn first_address(sb: &Sandbox, kind: &str) -> String {
    terraform(sb, &["state", "list"])
        .lines()
        .find(|l| l.split('.').any(|p| p == kind) || l.contains(&format!("{kind}.")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no {kind} in the state"))
}

fn config_with(sb: &Sandbox, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("xtask.toml")).unwrap();
    assert!(text.contains(from), "xtask.toml has `{from}`");
    let path = sb.path(name);
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

fn snapshots(sb: &Sandbox, db: &str) -> Vec<serde_json::Value> {
    aws(sb, &["rds", "describe-db-snapshots", "--db-instance-identifier", db, "--snapshot-type", "manual"])
        ["DBSnapshots"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn output(sb: &Sandbox, name: &str) -> serde_json::Value {
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("outputs/local.json")).unwrap()).unwrap();
    // The environment root exports the stack's outputs as one object.
    outputs["stack"]["value"][name].clone()
}

#[test]
fn local_stack_from_nothing_to_nothing() {
    let sb = sandbox();

    // Deploy from nothing (no emulator, no state), interrupted during apply: terraform gets one
    // interrupt, shuts down and releases its state lock; the xtask exits 130 and says how to resume.
    let child = sb
        .command(&["deploy", "local"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let logs = sb.work().join("logs/deploy-local");
    let deadline = Instant::now() + Duration::from_secs(600);
    // The interrupt comes once a resource has been waited on for 10 s ("Still creating..."): by then the
    // one-call creates at the start (buckets, roles, groups) are done even on a loaded machine, and
    // what is in flight are the provider's waits (keys, zone, VPC). An interrupt that lands while a
    // bucket's CreateBucket is in flight leaves the bucket in the emulator but not in the state, and
    // the emulator's CreateBucket, unlike S3's in us-east-1, refuses a bucket its owner already has.
    let applying = |logs: &Path| {
        std::fs::read_dir(logs).into_iter().flatten().flatten().any(|e| {
            e.file_name().to_string_lossy().ends_with("-apply.log")
                && std::fs::read_to_string(e.path()).unwrap_or_default().contains("Still creating...")
        })
    };
    while !applying(&logs) {
        assert!(Instant::now() < deadline, "apply never started");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = Run(child.wait_with_output().unwrap());
    out.assert_code(130);
    assert!(out.stderr().contains("Resume with: cargo xtask deploy local --resume"), "{}", out.stderr());
    assert!(out.stdout().contains("leaves out:"), "the emulator's omissions are said:\n{}", out.stdout());

    // The next deploy needs no manual unlock, and finishes the stack.
    let first = sb.run(&["deploy", "local"]);
    first.assert_code(0);
    assert!(!first.all().contains("Error acquiring the state lock"), "{}", first.all());
    let text = first.stdout();
    assert!(text.contains("has no Kubernetes cluster"), "{text}");
    for step in ["emulator", "state-backend", "plan", "cost", "apply", "outputs", "mesh-certs", "workloads"] {
        assert!(
            text.lines().any(|l| l.starts_with(step) && l.contains("done")),
            "step table lists {step} done:\n{text}"
        );
    }

    // Again: nothing to change.
    let again = sb.run(&["deploy", "local"]);
    again.assert_code(0);
    assert!(again.stdout().contains("0 to add, 0 to change, 0 to destroy"), "{}", again.stdout());
    assert!(again.stdout().contains("no changes: nothing to apply"), "{}", again.stdout());

    // Day 2: backups, pruning, a restore drill, off-hours.
    let db = output(&sb, "db_instance_identifier").as_str().unwrap().to_string();
    sb.run(&["backup", "local"]).assert_code(0);
    let first_snaps = snapshots(&sb, &db);
    assert_eq!(first_snaps.len(), 1, "{first_snaps:#?}");
    let tags: Vec<String> = first_snaps[0]["TagList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}={}", t["Key"].as_str().unwrap(), t["Value"].as_str().unwrap()))
        .collect();
    for tag in ["Environment=local", "xtask:made-by=cargo-xtask-backup"] {
        assert!(tags.contains(&tag.to_string()), "{tags:?}");
    }
    assert!(
        tags.iter().any(|t| t.starts_with("GitRevision=")) && tags.iter().any(|t| t.starts_with("CreatedAt=")),
        "{tags:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let pruning = sb.run(&["backup", "local", "--retention-days", "0"]);
    pruning.assert_code(0);
    let after = snapshots(&sb, &db);
    assert_eq!(after.len(), 1, "the older snapshot is pruned, the newest kept: {after:#?}");
    assert_ne!(after[0]["DBSnapshotIdentifier"], first_snaps[0]["DBSnapshotIdentifier"]);
    assert!(pruning.stdout().contains("1 pruned"), "{}", pruning.stdout());

    let drill = sb.run(&["restore-drill", "local"]);
    drill.assert_code(0);
    assert!(drill.stdout().contains("restored"), "{}", drill.stdout());
    let instances = aws(&sb, &["rds", "describe-db-instances"]);
    assert!(
        instances["DBInstances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !i["DBInstanceIdentifier"].as_str().unwrap().contains("drill")),
        "the scratch instance is gone"
    );

    let cluster = output(&sb, "cluster_name").as_str().unwrap().to_string();
    let groups: Vec<String> =
        output(&sb, "node_group_names").as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect();
    let sizes = |sb: &Sandbox| -> Vec<serde_json::Value> {
        groups
            .iter()
            .map(|g| {
                aws(sb, &["eks", "describe-nodegroup", "--cluster-name", &cluster, "--nodegroup-name", g])["nodegroup"]
                    ["scalingConfig"]
                    .clone()
            })
            .collect()
    };
    let before = sizes(&sb);
    sb.run(&["schedule", "local", "down"]).assert_code(0);
    assert!(sizes(&sb).iter().all(|s| s["desiredSize"] == 0 && s["minSize"] == 0), "{:?}", sizes(&sb));
    let status = aws(&sb, &["rds", "describe-db-instances", "--db-instance-identifier", &db])["DBInstances"][0]
        ["DBInstanceStatus"]
        .clone();
    assert_eq!(status, "stopped");
    sb.run(&["schedule", "local", "up"]).assert_code(0);
    assert_eq!(sizes(&sb), before, "sizes restored exactly");

    // A saved plan made stale by a later state change is refused.
    let resource = first_address(&sb, "aws_cloudwatch_log_group");
    terraform(&sb, &["taint", &resource]);
    sb.run(&["deploy", "local", "--only", "plan"]).assert_code(0);
    terraform(&sb, &["untaint", &resource]);
    let stale = sb.run(&["deploy", "local", "--only", "apply"]);
    stale.assert_code(1);
    assert!(stale.all().to_lowercase().contains("stale"), "terraform refuses the stale plan:\n{}", stale.all());

    // A protected environment's plan that replaces the database is refused without --allow-destroy.
    let protected = config_with(&sb, "protected.toml", "emulator = true", "emulator = true\nprotected = true");
    let db_address = first_address(&sb, "aws_db_instance");
    terraform(&sb, &["taint", &db_address]);
    let gate =
        Run(sb.command(&["deploy", "local", "--yes", "--config", protected.to_str().unwrap()]).output().unwrap());
    gate.assert_code(1);
    assert!(
        gate.stderr().contains("refusing to apply") && gate.stderr().contains("aws_db_instance"),
        "{}",
        gate.stderr()
    );
    terraform(&sb, &["untaint", &db_address]);
    assert_eq!(
        aws(&sb, &["rds", "describe-db-instances", "--db-instance-identifier", &db])["DBInstances"][0]
            ["DBInstanceStatus"],
        "available",
        "the database was not touched"
    );

    // Destroy: nothing of the stack remains in the emulator.
    sb.run(&["destroy", "local"]).assert_code(0);
    assert!(aws(&sb, &["rds", "describe-db-instances"])["DBInstances"].as_array().unwrap().is_empty());
    assert!(aws(&sb, &["eks", "list-clusters"])["clusters"].as_array().unwrap().is_empty());
    let vpcs = aws(&sb, &["ec2", "describe-vpcs"])["Vpcs"].as_array().cloned().unwrap();
    assert!(vpcs.iter().all(|v| v["IsDefault"] == true), "only the emulator's default VPC remains: {vpcs:#?}");
    let buckets: Vec<String> = aws(&sb, &["s3api", "list-buckets"])["Buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(buckets, ["authorworks-local-tfstate-123456789012"], "only the state bucket (bootstrap) remains");
}

#[test]
fn every_environment_plans_in_full_against_the_emulator() {
    let sb = sandbox();
    for env in ["dev", "staging", "production"] {
        let out = sb.run(&["plan", env, "--emulated"]);
        out.assert_code(0);
        let summary =
            out.stdout().lines().find(|l| l.starts_with(&format!("plan {env}:"))).unwrap_or_default().to_string();
        let adds: usize = summary.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(adds > 50, "{env} plans its whole stack ({summary}):\n{}", out.stdout());
        assert!(summary.contains("0 to change, 0 to destroy"), "{summary}");

        // Priced from that emulated plan (said so), under the environment's budget: the gate passes.
        let cost = sb.run(&["cost-report", env, "--format", "json"]);
        cost.assert_code(0);
        let report: serde_json::Value = serde_json::from_str(&cost.stdout()).unwrap();
        let (total, budget) =
            (report["total_monthly_usd"].as_f64().unwrap(), report["budget_monthly_usd"].as_f64().unwrap());
        assert!(total > 100.0 && total < budget, "{env}: {total} within {budget}");
        assert_eq!(report["unpriced"].as_array().unwrap().len(), 0, "{env}: {:#}", report["unpriced"]);
        assert!(report["plan_note"].as_str().unwrap().contains("EMULATED"), "{}", report["plan_note"]);
    }
}

#[test]
fn bad_input_creates_nothing_in_the_emulator() {
    let sb = sandbox();
    // An account id that does not match the caller: refused before the state bucket exists.
    let wrong =
        config_with(&sb, "wrong-account.toml", "account_id = \"123456789012\"", "account_id = \"111111111111\"");
    let out = Run(sb.command(&["deploy", "local", "--config", wrong.to_str().unwrap()]).output().unwrap());
    out.assert_code(2);
    assert!(out.stderr().contains("the AWS credentials belong to account 123456789012"), "{}", out.stderr());
    // Refused in the preflight, before the emulator starts: nothing could be created.
    assert!(!sb.work().join("emulator/state.json").exists(), "no emulator was started");

    // Destroying production without the name typed back: refused before anything runs.
    let out = sb.run(&["destroy", "production"]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("`production` is protected: type its name at a terminal, or pass --confirm production"),
        "{}",
        out.stderr()
    );
    let out = sb.run(&["destroy", "production", "--confirm", "staging"]);
    out.assert_code(2);
    assert!(out.stderr().contains("--confirm staging does not match the environment `production`"), "{}", out.stderr());
}

/// The README's main command, exactly as written, on a fresh clone: no `tools install` before it, no
/// `.tools`, no work dir, no emulator running. It builds the xtask, installs the emulator and the tools
/// its steps run, deploys the whole stack and exits 0; the README's `destroy` removes it again and its
/// `emulator stop` stops the emulator.
#[test]
fn the_readme_main_command_works_on_a_fresh_clone() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = |title: &str| -> Vec<String> {
        readme
            .lines()
            .skip_while(|l| !l.starts_with(title))
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .map(str::to_string)
            .collect()
    };
    let deploy_section = section("## Deploy the stack locally");
    let deploy = deploy_section.iter().find(|l| l.starts_with("cargo ")).expect("README gives the command").clone();
    assert_eq!(deploy, "cargo xtask deploy local", "the command this test runs is the README's");
    let prose = deploy_section.join(" ");
    for later in ["cargo xtask destroy local", "cargo xtask emulator stop"] {
        assert!(prose.contains(&format!("`{later}`")), "README's deploy section names `{later}`");
    }

    let sb = Sandbox::new();
    let clone = fresh_clone(&sb);
    assert!(!clone.join(".tools").exists() && !clone.join("target/xtask").exists());
    let _stop = StopEmulator(clone.clone());

    let out = readme_command(&clone, &deploy);
    out.assert_code(0);
    let text = out.stdout();
    // The preflight says what it installs before it does, and the step table shows every step ran.
    assert!(
        text.contains("first installing kubectl 1.36.3, kubernetes-validate 1.37.0 into .tools"),
        "the preflight names what it installs:\n{text}"
    );
    for step in ["emulator", "preflight", "state-backend", "plan", "apply", "outputs", "workloads"] {
        assert!(text.lines().any(|l| l.starts_with(step) && l.contains("done")), "{step} done:\n{text}");
    }
    for bin in ["moto_server", "kubectl", "kubernetes-validate"] {
        assert!(clone.join(".tools/bin").join(bin).exists(), "{bin} installed into the clone's .tools");
    }

    readme_command(&clone, "cargo xtask destroy local").assert_code(0);
    let stopped = readme_command(&clone, "cargo xtask emulator stop");
    stopped.assert_code(0);
    assert!(stopped.stdout().contains("emulator stopped"), "{}", stopped.stdout());
}

/// What `git clone` of this worktree gives (its tracked and untracked, not ignored files), in the
/// sandbox; its `target/` starts with this build's compiled dependencies (hard links), so `cargo
/// xtask` compiles only the xtask itself, as on a machine that has built them once.
fn fresh_clone(sb: &Sandbox) -> PathBuf {
    let root = repo_root();
    let clone = sb.path("clone");
    let files = std::process::Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(files.status.success());
    for file in String::from_utf8(files.stdout).unwrap().split('\0').filter(|f| !f.is_empty()) {
        // A worktree's `.tools` may be a symlink git does not ignore: a clone has none.
        let first = Path::new(file).components().next().unwrap().as_os_str();
        let from = root.join(file);
        if first == ".tools" || first == "target" || !from.is_file() {
            continue;
        }
        let to = clone.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    let built = Path::new(env!("CARGO_BIN_EXE_xtask")).parent().unwrap().to_path_buf();
    let target = clone.join("target/debug");
    std::fs::create_dir_all(&target).unwrap();
    for dir in ["deps", "build", ".fingerprint"] {
        let status = std::process::Command::new("cp").arg("-al").arg(built.join(dir)).arg(&target).status().unwrap();
        assert!(status.success(), "seeding the clone's target/ from {}", built.display());
    }
    clone
}

/// A README command line run as written, in the clone, with nothing of this test's environment
/// pointing it elsewhere.
fn readme_command(clone: &Path, line: &str) -> Run {
    let mut words = line.split_whitespace();
    let out = std::process::Command::new(words.next().unwrap())
        .args(words)
        .current_dir(clone)
        .env("CARGO_TARGET_DIR", clone.join("target"))
        .env("NO_COLOR", "1")
        .env_remove("XTASK_ROOT")
        .env_remove("XTASK_WORK_DIR")
        .env_remove("XTASK_TOOLS_DIR")
        .env_remove("XTASK_CONFIG")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run(out)
}

/// Stops the clone's emulator when the test ends, passed or failed.
struct StopEmulator(PathBuf);

impl Drop for StopEmulator {
    fn drop(&mut self) {
        if self.0.join("target/xtask/emulator/state.json").exists() {
            let _ = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(["emulator", "stop"])
                .env("XTASK_ROOT", &self.0)
                .env("XTASK_WORK_DIR", self.0.join("target/xtask"))
                .output();
        }
    }
}
