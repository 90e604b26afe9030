//! The delivery path through the real binary with recording stand-ins: the plan bundle (`plan` writes
//! the masked JSON, the summary and the meta, with no secret in any of them), `deploy --plan` (applies
//! exactly the saved plan, never plans; refuses another environment's, another commit's, a changed, a
//! stale or an off-hours plan, before anything changes), `drift` (exit 3, the report, GitHub output,
//! off-hours' own changes), a state lock held by a cancelled run, and the cost change between two
//! emulated plans. (`drift local`, the plan/apply split and the off-hours deploy against the real
//! emulator are in e2e.rs.)

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::*;

/// A terraform stand-in whose `show` prints `<sandbox>/show.json` and `state pull` `<sandbox>/state.json`.
fn terraform_from_files(sb: Sandbox) -> Sandbox {
    let dir = sb.dir.path().display().to_string();
    sb.standin(
        "terraform",
        &format!(
            r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) echo "saved plan $(date +%s%N)" > "${{a#-out=}}" ;; esac; done ;;
  show) cat "{dir}/show.json" ;;
  state) [ -f "{dir}/state.json" ] && cat "{dir}/state.json" ;;
  output) echo '{{"cluster_name":{{"value":"authorworks-dev-eks"}},"cert_manager_role_arn":{{"value":"arn:aws:iam::111122223333:role/cm"}}}}' ;;
esac
exit 0"#
        ),
    )
}

fn write(sb: &Sandbox, name: &str, value: &Value) {
    std::fs::write(sb.path(name), value.to_string()).unwrap();
}

fn state(serial: u64) -> Value {
    json!({"version": 4, "terraform_version": "1.11.4", "serial": serial, "lineage": "3f1e-lineage",
           "resources": [{"type": "aws_db_instance", "instances": [{"attributes": {"password": "state-secret-Zq81"}}]}]})
}

fn rc(address: &str, kind: &str, actions: &[&str], before: Value, after: Value, sensitive: Value) -> Value {
    json!({"address": address, "mode": "managed", "type": kind, "name": "x",
           "change": {"actions": actions, "before": before, "after": after, "after_unknown": {},
                      "before_sensitive": sensitive, "after_sensitive": sensitive}})
}

/// A plan that replaces the database (a secret in its attributes), adds a VPC, has a sensitive output
/// and a sensitive variable.
fn show() -> Value {
    json!({
        "format_version": "1.2", "terraform_version": "1.11.4", "applyable": true,
        "variables": {"db_password": {"value": "var-secret-Ab12"}, "region": {"value": "us-east-1"}},
        "resource_changes": [
            rc("aws_vpc.main", "aws_vpc", &["create"], json!(null), json!({"cidr_block": "10.2.0.0/16"}), json!({})),
            rc("module.stack.aws_db_instance.main", "aws_db_instance", &["delete", "create"],
               json!({"instance_class": "db.t3.micro", "password": "old-secret-Cd34"}),
               json!({"instance_class": "db.t3.micro", "password": "new-secret-Ef56"}), json!({"password": true})),
        ],
        "output_changes": {"token": {"actions": ["create"], "before": null, "after": "out-secret-Gh78", "after_sensitive": true}},
        "configuration": {"root_module": {"variables": {"db_password": {"sensitive": true}, "region": {}}}}
    })
}

const SECRETS: &[&str] =
    &["var-secret-Ab12", "old-secret-Cd34", "new-secret-Ef56", "out-secret-Gh78", "state-secret-Zq81"];

fn plans(sb: &Sandbox) -> PathBuf {
    sb.work().join("plans")
}

#[test]
fn plan_writes_the_bundle_and_no_secret_reaches_it() {
    let sb = terraform_from_files(happy_standins(Sandbox::new().with_root(&fixture_files())));
    write(&sb, "show.json", &show());
    write(&sb, "state.json", &state(7));
    let out = sb.run(&["plan", "dev"]);
    out.assert_code(0);
    for file in ["dev.tfplan", "dev.plan.json", "dev.summary.md", "dev.plan-meta.json"] {
        assert!(plans(&sb).join(file).is_file(), "{file} written");
    }
    for file in walk(&sb.work()) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in {}", file.display());
        }
    }
    for secret in SECRETS {
        assert!(!out.all().contains(secret), "{secret} printed");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(plans(&sb).join("dev.plan.json")).unwrap()).unwrap();
    assert_eq!(json["resource_changes"][1]["change"]["after"]["password"], "(sensitive value)");
    assert_eq!(json["resource_changes"][1]["change"]["after"]["instance_class"], "db.t3.micro", "the rest is kept");
    assert_eq!(json["variables"]["region"]["value"], "us-east-1");

    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(plans(&sb).join("dev.plan-meta.json")).unwrap()).unwrap();
    assert_eq!(meta["environment"], "dev");
    assert_eq!(meta["state"], json!({"lineage": "3f1e-lineage", "serial": 7}));
    assert_eq!(meta["terraform_version"], "1.11.4");
    assert_eq!(meta["commit"], Value::Null, "the fixture is not a git checkout");
    assert_eq!(meta["tfplan_sha256"].as_str().unwrap().len(), 64);
    assert!(meta["created"].as_str().unwrap().ends_with('Z'));

    let md = std::fs::read_to_string(plans(&sb).join("dev.summary.md")).unwrap();
    assert!(md.starts_with("### Plan of `dev`: 2 to add, 0 to change, 1 to destroy (1 replaced)"), "{md}");
    let data = md.find("Data resources replaced or destroyed (1)").expect(&md);
    let db = md.find("`module.stack.aws_db_instance.main` (delete+create)").expect(&md);
    let added = md.find("`aws_vpc.main` (create)").expect(&md);
    assert!(data < db && db < added, "data resources first:\n{md}");
    assert!(md.contains("state serial 7 (lineage 3f1e-lineage), terraform 1.11.4"), "{md}");
    assert!(md.contains("- cost: estimate $"), "the cost line:\n{md}");
    assert!(out.stdout().contains("plan summary: "), "{}", out.stdout());

    // Under GitHub Actions the job summary shows it too.
    let summary = sb.path("step-summary.md");
    let out = Run(sb
        .command(&["plan", "dev"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap());
    out.assert_code(0);
    let job = std::fs::read_to_string(&summary).unwrap();
    assert!(job.contains("### cargo xtask plan dev") && job.contains("### Plan of `dev`: 2 to add"), "{job}");
}

fn git(root: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn head(root: &Path) -> String {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(root).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A refusal: exit 2, one line, and no tool ran.
#[track_caller]
fn refused(sb: &Sandbox, tfplan: &str, expect: &[&str]) {
    let before = sb.calls().len();
    let out = sb.run(&["deploy", "dev", "--plan", tfplan]);
    out.assert_code(2);
    let err = out.stderr();
    assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
    for e in expect {
        assert!(err.contains(e), "`{e}` not in:\n{err}");
    }
    assert_eq!(sb.calls().len(), before, "nothing ran: {:?}", &sb.calls()[before..]);
}

#[test]
fn deploy_plan_applies_exactly_the_saved_plan_and_refuses_any_other() {
    let sb = terraform_from_files(crate::cluster::repo());
    let root = sb.root.clone().unwrap();
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "one"]);
    let mut plan = show();
    plan["resource_changes"].as_array_mut().unwrap().truncate(1);
    write(&sb, "show.json", &plan);
    write(&sb, "state.json", &state(7));
    sb.run(&["plan", "dev"]).assert_code(0);
    let tfplan = plans(&sb).join("dev.tfplan").display().to_string();

    // --dry-run: the saved plan checked and applied, no plan made.
    let dry = sb.run(&["deploy", "dev", "--plan", &tfplan, "--dry-run"]);
    dry.assert_code(0);
    let text = dry.stdout();
    assert!(!text.contains("terraform plan") && !text.contains("] plan —"), "no plan step:\n{text}");
    for needle in [
        "] plan-check",
        "terraform state pull",
        "] gate",
        "] cost",
        &format!("terraform apply -input=false -no-color -parallelism=30 {tfplan}"),
    ] {
        assert!(text.contains(needle), "`{needle}` in:\n{text}");
    }

    // Another environment's, another commit's, a changed JSON, a missing meta: refused before anything runs.
    let meta_path = plans(&sb).join("dev.plan-meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    std::fs::write(&meta_path, meta.replace("\"environment\": \"dev\"", "\"environment\": \"prod\"")).unwrap();
    refused(&sb, &tfplan, &["is a plan of `prod`, not `dev`", "cargo xtask plan dev"]);
    std::fs::remove_file(&meta_path).unwrap();
    refused(&sb, &tfplan, &["dev.plan-meta.json", "cargo xtask plan dev"]);
    std::fs::write(&meta_path, &meta).unwrap();
    let first = head(&root);
    std::fs::write(root.join("k8s/overlays/dev/extra.txt"), "x").unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "two"]);
    refused(
        &sb,
        &tfplan,
        &[&format!("was planned at commit {}", &first[..12]), &format!("this checkout is at {}", &head(&root)[..12])],
    );
    git(&root, &["checkout", "-q", &first]);
    let json_path = plans(&sb).join("dev.plan.json");
    let json = std::fs::read_to_string(&json_path).unwrap();
    std::fs::write(&json_path, format!("{json} ")).unwrap();
    refused(&sb, &tfplan, &["dev.plan.json is not the file planned with"]);
    std::fs::write(&json_path, &json).unwrap();

    // The state moved since the plan: refused once terraform is initialised, naming both serials.
    write(&sb, "state.json", &state(8));
    let before = sb.calls().len();
    let out = sb.run(&["deploy", "dev", "--plan", &tfplan]);
    out.assert_code(2);
    let err = out.stderr();
    assert!(err.contains("is stale") && err.contains("serial 7") && err.contains("serial 8"), "{err}");
    assert!(err.contains("Plan again: `cargo xtask plan dev`") && !err.contains("--resume"), "{err}");
    assert!(!sb.calls()[before..].iter().any(|c| c.starts_with("terraform apply")), "nothing applied");

    // The plan as made: applied exactly, never planned again, then the cluster steps.
    write(&sb, "state.json", &state(7));
    let before = sb.calls().len();
    let out = sb.run(&["deploy", "dev", "--plan", &tfplan]);
    out.assert_code(0);
    let calls = sb.calls()[before..].to_vec();
    assert!(!calls.iter().any(|c| c.starts_with("terraform plan")), "{calls:#?}");
    assert!(
        calls.iter().any(|c| c == &format!("terraform apply -input=false -no-color -parallelism=30 {tfplan}")),
        "{calls:#?}"
    );
    assert!(calls.iter().any(|c| c.starts_with("helm upgrade --install cert-manager")), "{calls:#?}");
    assert!(out.stdout().lines().any(|l| l.starts_with("plan-check") && l.contains("done")), "{}", out.stdout());

    // A plan made in off-hours (a node group's minimum raised above its desired size of zero): refused.
    let mut plan = show();
    plan["resource_changes"] = json!([rc(
        "module.stack.module.eks.aws_eks_node_group.this[\"general\"]",
        "aws_eks_node_group",
        &["update"],
        json!({"scaling_config": [{"min_size": 0, "max_size": 3, "desired_size": 0}]}),
        json!({"scaling_config": [{"min_size": 1, "max_size": 3, "desired_size": 0}]}),
        json!({})
    )]);
    write(&sb, "show.json", &plan);
    sb.run(&["plan", "dev"]).assert_code(0);
    refused(&sb, &tfplan, &["desired 0 < minimum 1", "off-hours", "`cargo xtask deploy dev`"]);
}

fn drift_plan(drift: Value) -> Value {
    json!({"format_version": "1.2", "terraform_version": "1.11.4", "applyable": false, "resource_changes": [],
           "resource_drift": drift})
}

#[test]
fn drift_lists_each_resource_and_attribute_and_exits_3() {
    let sb = terraform_from_files(happy_standins(Sandbox::new().with_root(&fixture_files())));
    write(
        &sb,
        "show.json",
        &drift_plan(json!([
            rc(
                "module.stack.module.network.aws_vpc.main",
                "aws_vpc",
                &["update"],
                json!({"tags": {"Name": "vpc"}}),
                json!({"tags": {"Name": "vpc", "Team": "ops"}}),
                json!({})
            ),
            rc(
                "module.stack.aws_ssm_parameter.p",
                "aws_ssm_parameter",
                &["update"],
                json!({"value": "drift-secret-Ij90"}),
                json!({"value": "drift-secret-Kl12"}),
                json!({"value": true})
            ),
        ])),
    );
    let dry = sb.run(&["drift", "dev", "--dry-run"]);
    dry.assert_code(0);
    assert!(dry.stdout().contains("terraform plan -refresh-only -input=false -no-color -out="), "{}", dry.stdout());

    let summary = sb.path("summary.md");
    let out = Run(sb
        .command(&["drift", "dev"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap());
    out.assert_code(3);
    let text = out.stdout();
    assert!(text.contains("drift: 2 resource(s) of `dev` differ from the state"), "{text}");
    assert!(text.contains("  module.stack.module.network.aws_vpc.main\n      tags.Team: (none) → \"ops\""), "{text}");
    assert!(text.contains("value: (sensitive value) → (sensitive value)"), "{text}");
    assert!(text.contains("::error title=Drift in dev::drift: 2 resource(s)"), "{text}");
    assert!(out.stderr().contains("drift found in `dev`") && out.stderr().contains("(exit 3)"), "{}", out.stderr());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("### Drift: `dev`") && md.contains("| `module.stack.module.network.aws_vpc.main` | `tags.Team` |"),
        "{md}"
    );
    let report = std::fs::read_to_string(plans(&sb).join("dev.drift.md")).unwrap();
    assert!(report.contains("`tags.Team`"), "{report}");
    assert!(
        !plans(&sb).join("dev.drift.tfplan").exists(),
        "the saved refresh-only plan (the state's values) is removed"
    );
    for file in walk(&sb.work()) {
        let t = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!t.contains("drift-secret"), "a sensitive value in {}", file.display());
    }
    assert!(!out.all().contains("drift-secret") && !md.contains("drift-secret"));

    // In sync: exit 0.
    write(&sb, "show.json", &drift_plan(json!([])));
    let out = sb.run(&["drift", "dev"]);
    out.assert_code(0);
    assert!(out.stdout().contains("in sync: the real infrastructure of `dev` matches the state"), "{}", out.stdout());

    // In off-hours, the node groups at zero and the database stopped are expected, not drift.
    let sb = sb.standin(
        "aws",
        r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *ssm\ get-parameter*) echo '{"authorworks-dev-general":{"minSize":1,"maxSize":3,"desiredSize":2}}' ;;
esac"#,
    );
    write(
        &sb,
        "show.json",
        &drift_plan(json!([
            rc(
                "module.stack.module.eks.aws_eks_node_group.this[\"general\"]",
                "aws_eks_node_group",
                &["update"],
                json!({"scaling_config": [{"min_size": 1, "max_size": 3, "desired_size": 2}]}),
                json!({"scaling_config": [{"min_size": 0, "max_size": 3, "desired_size": 0}]}),
                json!({})
            ),
            rc(
                "module.stack.module.database.aws_db_instance.primary",
                "aws_db_instance",
                &["update"],
                json!({"status": "available"}),
                json!({"status": "stopped"}),
                json!({})
            ),
        ])),
    );
    let out = sb.run(&["drift", "dev"]);
    out.assert_code(0);
    assert!(
        out.stdout().contains("in sync") && out.stdout().contains("(2 expected from off-hours)"),
        "{}",
        out.stdout()
    );
}

/// A plan that meets a lock a cancelled run left: the lock is named, with the `unlock` command.
#[test]
fn a_lock_left_by_a_cancelled_run_is_named_with_the_way_out() {
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()))
        .standin(
            "terraform",
            r#"[ "$1" = plan ] && { printf 'Error: Error acquiring the state lock\n\nError message: operation error S3: PutObject, StatusCode: 412, PreconditionFailed\nLock Info:\n  ID:        8c1c-4e1f\n' >&2; exit 1; }
exit 0"#,
        )
        .standin(
            "aws",
            r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *list-buckets*) echo authorworks-dev-tfstate-111122223333 ;;
  *terraform.tfstate.tflock*) echo '{"ID":"8c1c-4e1f","Operation":"OperationTypeApply","Who":"runner@ci-42","Version":"1.11.4","Created":"2026-12-01T10:00:00Z"}' ;;
esac"#,
        );
    let out = sb.run(&["plan", "dev"]);
    out.assert_code(1);
    let err = out.stderr();
    assert!(
        err.contains("The state of `dev` is locked")
            && err.contains("ID 8c1c-4e1f, held by runner@ci-42 since 2026-12-01T10:00:00Z"),
        "{err}"
    );
    assert!(err.contains("remove the lock with `cargo xtask unlock dev --yes`"), "{err}");
}

/// The cost change between the repository's emulated dev plan and a copy of it with a larger node
/// group, one resource gone and one added: each changed resource with its delta, the totals, the gate
/// on the new total, and the markdown the pull request shows.
#[test]
fn the_cost_change_between_two_plans_lists_each_changed_resource_and_the_totals() {
    let shared = &repository().0;
    let base = shared.work().join("plans/dev-emulated.plan.json");
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let changes = plan["resource_changes"].as_array_mut().unwrap();
    let group = changes
        .iter_mut()
        .find(|rc| rc["type"] == "aws_eks_node_group" && rc["change"]["after"]["capacity_type"] == "ON_DEMAND")
        .expect("an on-demand node group");
    let group_address = group["address"].as_str().unwrap().to_string();
    group["change"]["after"]["scaling_config"][0]["desired_size"] = json!(4);
    let nat = changes.iter().position(|rc| rc["type"] == "aws_nat_gateway").expect("a NAT gateway");
    let nat_address = changes.remove(nat)["address"].as_str().unwrap().to_string();
    let mut key = changes.iter().find(|rc| rc["type"] == "aws_kms_key").expect("a KMS key").clone();
    key["address"] = json!("module.stack.aws_kms_key.extra");
    changes.push(key);

    let sb = Sandbox::new();
    let new = sb.path("new.plan.json");
    std::fs::write(&new, plan.to_string()).unwrap();
    let (base, new) = (base.display().to_string(), new.display().to_string());
    let out = sb.run(&["cost-report", "dev", "--plan", &new, "--compare-to", &base, "--format", "json"]);
    out.assert_code(0);
    let j: Value = serde_json::from_str(&out.stdout()).unwrap();
    let rows = j["changes"].as_array().unwrap();
    let row = |address: &str| {
        rows.iter().find(|r| r["address"] == address).unwrap_or_else(|| panic!("{address} in {rows:#?}"))
    };
    assert!(row(&group_address)["change_monthly_usd"].as_f64().unwrap() > 0.0);
    assert!(
        row(&nat_address)["after_monthly_usd"].as_f64().unwrap() == 0.0
            && row(&nat_address)["change_monthly_usd"].as_f64().unwrap() < 0.0
    );
    assert!(row("module.stack.aws_kms_key.extra")["change_monthly_usd"].as_f64().unwrap() >= 1.0, "a key is $1/month");
    assert_eq!(rows.len(), 3, "only the changed resources: {rows:#?}");
    let (before, after, change) = (
        j["base_total_monthly_usd"].as_f64().unwrap(),
        j["total_monthly_usd"].as_f64().unwrap(),
        j["change_monthly_usd"].as_f64().unwrap(),
    );
    assert!((after - before - change).abs() < 0.011, "{before} → {after}: {change}");
    let sum: f64 = rows.iter().map(|r| r["change_monthly_usd"].as_f64().unwrap()).sum();
    assert!((sum - change).abs() < 0.02, "the rows add up to the change: {sum} vs {change}");

    let md = sb.run(&["cost-report", "dev", "--plan", &new, "--compare-to", &base, "--format", "markdown"]);
    md.assert_code(0);
    let md = md.stdout();
    assert!(md.starts_with("### Cost change: `dev` "), "{md}");
    assert!(md.contains("| resource | before | after | change |") && md.contains("| **total** |"), "{md}");
    assert!(md.contains(&format!("| `{}` |", group_address.replace('`', "'"))), "{md}");

    // The gate is the new plan's: over the budget, exit 1; a base that is not a plan, exit 2.
    let mut huge = plan.clone();
    let g = huge["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|rc| rc["address"] == group_address.as_str())
        .unwrap();
    g["change"]["after"]["scaling_config"][0]["desired_size"] = json!(400);
    std::fs::write(&new, huge.to_string()).unwrap();
    let over = sb.run(&["cost-report", "dev", "--plan", &new, "--compare-to", &base]);
    over.assert_code(1);
    assert!(over.stderr().contains("is over the budget"), "{}", over.stderr());
    let not_plan = sb.path("state.json");
    std::fs::write(&not_plan, "{\"version\": 4}").unwrap();
    let bad = sb.run(&["cost-report", "dev", "--plan", &new, "--compare-to", not_plan.to_str().unwrap()]);
    bad.assert_code(2);
    assert!(bad.stderr().contains("it has no `resource_changes`"), "{}", bad.stderr());
}
