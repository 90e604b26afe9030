//! End to end against the AWS emulator, with real terraform and the real AWS provider: the `local`
//! stack deployed from nothing (its first apply interrupted, leaving no state lock behind), redeployed
//! without changes while in off-hours (brought up for the deploy and back down), checked for drift (in
//! sync; then a tag set outside terraform, exit 3), planned and applied from the saved plan (`deploy
//! --plan`), operated (backup, pruning, restore drill, a restore into a new instance the stack then
//! uses), refused when it should be (stale plan, also as
//! `deploy --plan`; protected destroy gate, wrong account), and destroyed; every environment planned
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

    // Off-hours: the node groups at zero, the database stopped, the sizes kept.
    let db = output(&sb, "db_instance_identifier").as_str().unwrap().to_string();
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
    let db_status = |sb: &Sandbox| {
        aws(sb, &["rds", "describe-db-instances", "--db-instance-identifier", &db])["DBInstances"][0]
            ["DBInstanceStatus"]
            .clone()
    };
    let in_off_hours = |sb: &Sandbox| {
        assert!(sizes(sb).iter().all(|s| s["desiredSize"] == 0 && s["minSize"] == 0), "{:?}", sizes(sb));
        assert_eq!(db_status(sb), "stopped");
    };
    let before = sizes(&sb);
    sb.run(&["schedule", "local", "down"]).assert_code(0);
    in_off_hours(&sb);

    // Again, in off-hours: the deploy says so, brings it up before it plans, finds nothing to change, and
    // returns it to off-hours.
    let again = sb.run(&["deploy", "local"]);
    again.assert_code(0);
    assert!(again.stdout().contains("0 to add, 0 to change, 0 to destroy"), "{}", again.stdout());
    assert!(again.stdout().contains("no changes: nothing to apply"), "{}", again.stdout());
    let line = |step: &str| {
        again.stdout().lines().find(|l| l.contains(&format!("] {step} ("))).unwrap_or_default().to_string()
    };
    assert!(line("offhours-up").contains("in off-hours:"), "{}", again.stdout());
    assert!(line("offhours-down").contains("back in off-hours"), "{}", again.stdout());
    in_off_hours(&sb);
    sb.run(&["schedule", "local", "up"]).assert_code(0);
    assert_eq!(sizes(&sb), before, "sizes restored exactly");

    // Drift: none after the deploy; a tag set outside terraform is named, with its attribute, exit 3.
    let drift = sb.run(&["drift", "local"]);
    drift.assert_code(0);
    assert!(drift.stdout().contains("in sync"), "{}", drift.stdout());
    let vpc = output(&sb, "vpc_id").as_str().unwrap().to_string();
    aws(&sb, &["ec2", "create-tags", "--resources", &vpc, "--tags", "Key=Drift,Value=out-of-band"]);
    let drift = sb.run(&["drift", "local"]);
    drift.assert_code(3);
    let vpc_address = first_address(&sb, "aws_vpc");
    assert!(drift.stdout().contains(&format!("  {vpc_address}\n")), "names the VPC:\n{}", drift.stdout());
    assert!(drift.stdout().contains("tags.Drift: (none) → \"out-of-band\""), "{}", drift.stdout());
    assert!(sb.work().join("plans/local.drift.md").is_file());

    // Plan, review, apply exactly that plan: the tag goes, nothing is planned again.
    let plan = sb.run(&["plan", "local"]);
    plan.assert_code(0);
    let summary = std::fs::read_to_string(sb.work().join("plans/local.summary.md")).unwrap();
    assert!(summary.contains(&format!("`{vpc_address}` (update)")), "{summary}");
    let tfplan = sb.work().join("plans/local.tfplan").display().to_string();
    let dry = sb.run(&["deploy", "local", "--plan", &tfplan, "--dry-run"]);
    dry.assert_code(0);
    assert!(!dry.stdout().contains("terraform plan"), "{}", dry.stdout());
    let applied = sb.run(&["deploy", "local", "--plan", &tfplan]);
    applied.assert_code(0);
    assert!(
        applied.stdout().lines().any(|l| l.starts_with("plan-check") && l.contains("done")),
        "{}",
        applied.stdout()
    );
    assert!(!applied.stdout().contains("] plan: "), "no plan step:\n{}", applied.stdout());
    let tags = aws(&sb, &["ec2", "describe-tags", "--filters", &format!("Name=resource-id,Values={vpc}")]);
    assert!(!tags.to_string().contains("out-of-band"), "the drift is undone: {tags}");

    // Day 2: backups, pruning, a restore drill.
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

    // A restore: the newest snapshot into a new instance that the stack then uses.
    let restored = restore_into_a_new_instance(&sb, &db);

    // A saved plan made stale by a later state change is refused.
    let resource = first_address(&sb, "aws_cloudwatch_log_group");
    terraform(&sb, &["taint", &resource]);
    sb.run(&["deploy", "local", "--only", "plan"]).assert_code(0);
    // (This plan, the first after the restore, passes no restore source: it keeps the restored instance.)
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/local.plan.json")).unwrap()).unwrap();
    let touched: Vec<&serde_json::Value> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rc| rc["type"] == "aws_db_instance" && rc["change"]["actions"] != serde_json::json!(["no-op"]))
        .collect();
    assert!(touched.is_empty(), "after the restore, terraform keeps {restored}: {touched:#?}");
    terraform(&sb, &["untaint", &resource]);
    let stale = sb.run(&["deploy", "local", "--only", "apply"]);
    stale.assert_code(1);
    assert!(stale.all().to_lowercase().contains("stale"), "terraform refuses the stale plan:\n{}", stale.all());
    // The same plan given to `deploy --plan`: refused before anything runs, naming both serials.
    let refused = sb.run(&["deploy", "local", "--plan", &tfplan]);
    refused.assert_code(2);
    let err = refused.stderr();
    assert!(err.contains("is stale") && err.matches("serial ").count() >= 2, "{err}");
    assert!(err.contains("Plan again: `cargo xtask plan local`"), "{err}");

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

    // Kubernetes one minor up, against the emulator's state: the preflight it can run (the cluster's and
    // node groups' versions from the emulator, the overlay's APIs), then the version change planned for
    // real — an in-place update of the cluster, its version the only change — and not applied (the
    // emulator has no UpdateClusterVersion; the calls it lacks are upgrade.rs's, through stand-ins).
    let (tree, next) = upgrade_root(&sb);
    let up = Run(sb
        .command(&["upgrade", "local", "--to", &next])
        .env("XTASK_ROOT", sb.path("upgrade-root"))
        .output()
        .unwrap());
    up.assert_code(0);
    assert!(up.stdout().contains("planned in place and checked; not applied"), "{}", up.all());
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/local.upgrade.plan.json")).unwrap())
            .unwrap();
    let changes: Vec<(String, serde_json::Value)> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rc| rc["mode"] == "managed" && rc["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|rc| (rc["address"].as_str().unwrap().to_string(), rc["change"]["actions"].clone()))
        .collect();
    assert_eq!(
        changes,
        [("module.stack.module.eks.aws_eks_cluster.this".to_string(), serde_json::json!(["update"]))],
        "the version change plans the cluster in place and nothing else"
    );
    let cluster_change =
        plan["resource_changes"].as_array().unwrap().iter().find(|rc| rc["type"] == "aws_eks_cluster").unwrap();
    assert_eq!(cluster_change["change"]["before"]["version"], tree.as_str());
    assert_eq!(cluster_change["change"]["after"]["version"], next.as_str());
    let groups = plan["resource_changes"].as_array().unwrap().iter().filter(|rc| rc["type"] == "aws_eks_node_group");
    assert!(
        groups.clone().count() >= 1 && groups.clone().all(|rc| rc["change"]["actions"] == serde_json::json!(["no-op"]))
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

/// `restore local` on the deployed stack: the newest snapshot (automated or `backup`'s) into a new
/// instance under the old name, which terraform then owns and the services are bound to. Returns the
/// snapshot it was restored from.
fn restore_into_a_new_instance(sb: &Sandbox, db: &str) -> String {
    let describe = |sb: &Sandbox| {
        aws(sb, &["rds", "describe-db-instances", "--db-instance-identifier", db])["DBInstances"][0].clone()
    };
    let before = describe(sb);
    let mut all = aws(sb, &["rds", "describe-db-snapshots", "--db-instance-identifier", db])["DBSnapshots"]
        .as_array()
        .cloned()
        .unwrap();
    all.retain(|s| s["Status"] == "available");
    all.sort_by_key(|s| s["SnapshotCreateTime"].as_str().unwrap().to_string());
    let newest = all.last().unwrap()["DBSnapshotIdentifier"].as_str().unwrap().to_string();

    let out = sb.run(&["restore", "local"]);
    out.assert_code(0);
    assert!(out.stdout().contains(&format!("restore local: {db} from snapshot {newest}")), "{}", out.stdout());
    assert!(out.stdout().contains("database back in") && out.stdout().contains("services switched in"));

    // The plan made the primary from exactly that snapshot and deleted nothing.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/local.restore.plan.json")).unwrap())
            .unwrap();
    let changes = plan["resource_changes"].as_array().unwrap();
    let primary = changes
        .iter()
        .find(|rc| rc["address"] == "module.stack.module.database.aws_db_instance.primary")
        .expect("the plan has the primary");
    assert_eq!(primary["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(primary["change"]["after"]["snapshot_identifier"], newest);
    assert!(
        changes.iter().all(|rc| !rc["change"]["actions"].as_array().unwrap().contains(&serde_json::json!("delete"))),
        "the restore deletes nothing"
    );
    // terraform owns it: the state's primary is the instance made from the snapshot.
    let state = terraform(sb, &["state", "show", "-no-color", "module.stack.module.database.aws_db_instance.primary"]);
    assert!(state.contains(&format!("\"{newest}\"")) && state.contains(&format!("\"{db}\"")), "{state}");
    // A new instance (RDS gave it a new master secret); the old one is gone on the emulator, whose
    // instances all share one resource id (on AWS it is renamed aside and kept).
    let after = describe(sb);
    let secret = |i: &serde_json::Value| i["MasterUserSecret"]["SecretArn"].as_str().unwrap().to_string();
    assert_ne!(secret(&after), secret(&before), "a new instance, with a new master secret");
    let instances = aws(sb, &["rds", "describe-db-instances"])["DBInstances"].as_array().cloned().unwrap();
    assert_eq!(instances.len(), 1, "{instances:#?}");
    // The services are bound to it: the bound overlay names its master secret and its address.
    let bound = || std::fs::read_to_string(sb.work().join("k8s/local-overlay.yaml")).unwrap();
    let text = bound();
    assert!(
        text.contains(&secret(&after)) && !text.contains(&secret(&before)),
        "the setup Job reads the new master secret"
    );
    assert!(text.contains(&format!("host={}", after["Endpoint"]["Address"].as_str().unwrap())), "PgBouncer's upstream");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/local.restore.json")).unwrap()).unwrap();
    assert_eq!(record["done"], true);
    assert_eq!(record["source"]["snapshot_identifier"], newest);
    assert!(record["total_seconds"].as_f64().unwrap() >= record["database_seconds"].as_f64().unwrap());
    // A deploy after the restore binds the services to the same instance.
    std::fs::remove_file(sb.work().join("k8s/local-overlay.yaml")).unwrap();
    sb.run(&["deploy", "local", "--only", "workloads"]).assert_code(0);
    assert!(bound().contains(&secret(&after)), "a deploy after the restore points the services at the new instance");
    newest
}

/// A copy of the repository as the `local` stack was deployed from, whose EKS calendar knows the minor
/// after `local`'s (a fixture row where the real calendar does not have it yet): (local's minor, the next).
fn upgrade_root(sb: &Sandbox) -> (String, String) {
    let root = sb.path("upgrade-root");
    let mut files = crate::validate::repo_files(&["terraform", "k8s", "helm-values", "cost"]);
    files.push(("xtask.toml".into(), std::fs::read_to_string(repo_root().join("xtask.toml")).unwrap()));
    for (path, text) in &files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let main = std::fs::read_to_string(root.join("terraform/environments/local/main.tf")).unwrap();
    let tree = main.split("kubernetes_version = \"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    let (major, minor) = tree.split_once('.').unwrap();
    let next = format!("{major}.{}", minor.parse::<u32>().unwrap() + 1);
    let calendar = root.join("k8s/eks-versions.toml");
    let mut text = std::fs::read_to_string(&calendar).unwrap();
    if !text.contains(&format!("[versions.\"{next}\"]")) {
        text.push_str(&format!(
            "\n[versions.\"{next}\"]\nreleased = \"2027-01-01\"\nstandard_support_ends = \"2028-03-01\"\nextended_support_ends = \"2029-03-01\"\n"
        ));
        std::fs::write(&calendar, text).unwrap();
    }
    (tree, next)
}

/// Every environment planned in full against the emulator by `plan <env> --emulated`, as the suite's
/// one validate of the repository ran it for the contracts ([`repository`]: its log per environment;
/// the four plans are not made a second time here), and priced from that plan.
#[test]
fn every_environment_plans_in_full_against_the_emulator() {
    let (sb, first, _) = repository();
    for env in ["dev", "staging", "production", "dr"] {
        assert!(first.stdout().contains(&format!("{env}: made (")), "{env}'s plan made:\n{}", first.stdout());
        let log = std::fs::read_to_string(sb.work().join("logs/plans").join(format!("{env}-emulated.log"))).unwrap();
        let summary = log.lines().find(|l| l.starts_with(&format!("plan {env}:"))).unwrap_or_default().to_string();
        let adds: usize = summary.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!(adds > 50, "{env} plans its whole stack ({summary}):\n{log}");
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
