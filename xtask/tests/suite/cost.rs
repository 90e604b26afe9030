//! `cost-report`: the arithmetic over a plan whose resources are known, unpriced resources listed as
//! such, the budget gate, the formats, bad input (one line, exit 2), `--actual` through a recording aws
//! stand-in, and a generated 5,000-resource plan (the benchmark's input).

use crate::common::*;
use serde_json::{json, Value};

const MAIN_TF: &str = "module \"stack\" {\n  source             = \"../../stack\"\n  monthly_budget_usd = 500\n}\n";

/// A repository with the real price table, `usage` as cost/usage.toml and dev's budget at $500.
fn sandbox(usage: &str) -> Sandbox {
    let prices = std::fs::read_to_string(repo_root().join("cost/prices.toml")).unwrap();
    let mut files = fixture_files();
    files.retain(|(p, _)| *p != "terraform/environments/dev/main.tf" && !p.starts_with("cost/"));
    let prices: &'static str = Box::leak(prices.into_boxed_str());
    let usage: &'static str = Box::leak(usage.to_string().into_boxed_str());
    files.extend([
        ("terraform/environments/dev/main.tf", MAIN_TF),
        ("cost/prices.toml", prices),
        ("cost/usage.toml", usage),
    ]);
    Sandbox::new().with_root(&files)
}

const NO_INGRESS: &str = "[ingress]\nnetwork_load_balancers = 0\npublic_ipv4_addresses = 0\n";

/// A plan JSON: (address, type, after) per resource, all created; `extra` merged at the top level.
pub fn plan_json(resources: &[(String, String, Value)], extra: Value) -> String {
    let changes: Vec<Value> = resources
        .iter()
        .map(|(address, rtype, after)| {
            let (module, index) = split(address);
            json!({
                "address": address, "module_address": module, "mode": "managed", "type": rtype,
                "name": "x", "index": index, "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": ["create"], "before": null, "after": after, "after_unknown": {}}
            })
        })
        .collect();
    let mut plan = json!({"format_version": "1.2", "resource_changes": changes, "applyable": true});
    for (k, v) in extra.as_object().into_iter().flatten() {
        plan[k] = v.clone();
    }
    plan.to_string()
}

/// (module address, index key) of an address like `module.eks.aws_eks_node_group.this["app"]`.
fn split(address: &str) -> (Option<String>, Option<Value>) {
    let (base, index) = match address.find('[') {
        Some(i) => (&address[..i], Some(json!(address[i + 1..address.len() - 1].trim_matches('"')))),
        None => (address, None),
    };
    let parts: Vec<&str> = base.split('.').collect();
    let module = (parts.len() > 2).then(|| parts[..parts.len() - 2].join("."));
    (module, index)
}

fn r(address: &str, rtype: &str, after: Value) -> (String, String, Value) {
    (address.to_string(), rtype.to_string(), after)
}

fn write_plan(sb: &Sandbox, name: &str, text: &str) -> String {
    let path = sb.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn report(sb: &Sandbox, plan: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["cost-report", "dev", "--plan", plan, "--format", "json"];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    let json = serde_json::from_str(&out.stdout()).unwrap_or(Value::Null);
    (out, json)
}

fn monthly(json: &Value, address: &str, component: &str) -> f64 {
    json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["address"] == address && l["component"].as_str().unwrap().contains(component))
        .unwrap_or_else(|| panic!("no line `{component}` for {address} in {json:#}"))["monthly_usd"]
        .as_f64()
        .unwrap()
}

#[track_caller]
fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 0.01, "{actual} != {expected}");
}

fn known_plan() -> String {
    let eks = "module.stack.module.eks";
    plan_json(
        &[
            r(
                &format!("{eks}.aws_eks_cluster.this"),
                "aws_eks_cluster",
                json!({"version": "1.35", "upgrade_policy": [{"support_type": "STANDARD"}]}),
            ),
            r(
                &format!("{eks}.aws_eks_node_group.this[\"app\"]"),
                "aws_eks_node_group",
                json!({"instance_types": ["t3.medium"], "capacity_type": "ON_DEMAND", "scaling_config": [{"desired_size": 3, "min_size": 3, "max_size": 6}]}),
            ),
            r(
                &format!("{eks}.aws_launch_template.node[\"app\"]"),
                "aws_launch_template",
                json!({"block_device_mappings": [{"ebs": [{"volume_size": 50, "volume_type": "gp3"}]}]}),
            ),
            r(
                &format!("{eks}.aws_eks_node_group.this[\"batch\"]"),
                "aws_eks_node_group",
                json!({"instance_types": ["t3.small"], "capacity_type": "SPOT", "disk_size": 20, "scaling_config": [{"desired_size": 2}]}),
            ),
            r(
                "module.db.aws_db_instance.primary",
                "aws_db_instance",
                json!({"identifier": "app-db", "engine": "postgres", "instance_class": "db.t3.small", "multi_az": true, "allocated_storage": 100, "storage_type": "gp3", "replicate_source_db": null, "performance_insights_enabled": true, "performance_insights_retention_period": 7}),
            ),
            r(
                "module.db.aws_db_instance.replica[0]",
                "aws_db_instance",
                json!({"identifier": "app-db-replica", "engine": null, "instance_class": "db.t3.small", "multi_az": false, "allocated_storage": null, "replicate_source_db": "app-db"}),
            ),
            r("module.net.aws_nat_gateway.this[0]", "aws_nat_gateway", json!({"connectivity_type": "public"})),
            r("module.net.aws_eip.nat[0]", "aws_eip", json!({"domain": "vpc"})),
            r(
                "module.cache.aws_elasticache_replication_group.this",
                "aws_elasticache_replication_group",
                json!({"engine": "redis", "node_type": "cache.r5.large", "num_node_groups": 2, "replicas_per_node_group": 1, "num_cache_clusters": null}),
            ),
            r("module.sec.aws_kms_key.this[\"rds\"]", "aws_kms_key", json!({})),
            r("module.net.aws_vpc.this", "aws_vpc", json!({"cidr_block": "10.2.0.0/16"})),
        ],
        json!({}),
    )
}

#[test]
fn a_known_plan_is_priced_to_the_cent() {
    let sb = sandbox(&format!("{NO_INGRESS}[defaults.aws_nat_gateway]\nmonthly_data_processed_gb = 100\n"));
    let plan = write_plan(&sb, "plan.json", &known_plan());
    let (out, j) = report(&sb, &plan, &["--no-gate"]);
    out.assert_code(0);
    let eks = "module.stack.module.eks";
    close(monthly(&j, &format!("{eks}.aws_eks_cluster.this"), "control plane"), 730.0 * 0.10);
    let app = format!("{eks}.aws_eks_node_group.this[\"app\"]");
    close(monthly(&j, &app, "3 × t3.medium, on-demand"), 3.0 * 730.0 * 0.0416);
    close(monthly(&j, &app, "node disks: 3 × 50 GB gp3"), 3.0 * 50.0 * 0.08);
    let batch = format!("{eks}.aws_eks_node_group.this[\"batch\"]");
    close(monthly(&j, &batch, "spot, 70% off"), 2.0 * 730.0 * 0.0208 * 0.30);
    close(monthly(&j, &batch, "node disks: 2 × 20 GB gp3"), 2.0 * 20.0 * 0.08);
    // Multi-AZ doubles the instance and its storage.
    close(monthly(&j, "module.db.aws_db_instance.primary", "Multi-AZ"), 2.0 * 730.0 * 0.036);
    close(monthly(&j, "module.db.aws_db_instance.primary", "storage: 100 GB gp3 × 2"), 100.0 * 2.0 * 0.115);
    // The replica is an instance of its own, with the source's engine and storage.
    close(monthly(&j, "module.db.aws_db_instance.replica[0]", "read replica: db.t3.small postgres"), 730.0 * 0.036);
    close(monthly(&j, "module.db.aws_db_instance.replica[0]", "storage: 100 GB"), 100.0 * 0.115);
    // Usage-based: 100 GB through the NAT gateway from the usage file.
    close(monthly(&j, "module.net.aws_nat_gateway.this[0]", "NAT gateway"), 730.0 * 0.045);
    close(monthly(&j, "module.net.aws_nat_gateway.this[0]", "data processed"), 100.0 * 0.045);
    close(monthly(&j, "module.net.aws_eip.nat[0]", "public IPv4"), 730.0 * 0.005);
    // Cluster mode: 2 shards × (1 primary + 1 replica).
    close(
        monthly(&j, "module.cache.aws_elasticache_replication_group.this", "4 × cache.r5.large"),
        4.0 * 730.0 * 0.216,
    );
    close(monthly(&j, "module.sec.aws_kms_key.this[\"rds\"]", "key"), 1.0);
    let sum: f64 = j["lines"].as_array().unwrap().iter().map(|l| l["monthly_usd"].as_f64().unwrap()).sum();
    close(j["total_monthly_usd"].as_f64().unwrap(), sum);
    assert_eq!(j["free"]["aws_vpc"], 1);
    assert_eq!(j["unpriced"], json!([]));
    assert_eq!(j["budget_monthly_usd"], 500.0);
    assert_eq!(j["within_budget"], false);
}

#[test]
fn the_table_is_sorted_and_the_gate_fails_over_budget() {
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(&sb, "plan.json", &known_plan());
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(1);
    let text = out.stdout();
    let first = text.lines().find(|l| l.starts_with("module.")).unwrap();
    assert!(first.contains("aws_elasticache_replication_group"), "most expensive first:\n{text}");
    assert!(text.contains("budget: $500.00/month"), "{text}");
    assert!(text.contains("OVER BUDGET by"), "{text}");
    let err = out.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("over the budget $500.00/month (monthly_budget_usd in terraform/environments/dev/main.tf)"),
        "{err}"
    );
    sb.run(&["cost-report", "dev", "--plan", &plan, "--no-gate"]).assert_code(0);
}

#[test]
fn deploy_stops_before_apply_when_the_plan_is_over_budget() {
    let sb = sandbox(NO_INGRESS);
    std::fs::create_dir_all(sb.root.as_ref().unwrap().join("helm-values")).unwrap();
    std::fs::write(sb.root.as_ref().unwrap().join("helm-values/releases.toml"), "release = []\n").unwrap();
    let plan = write_plan(&sb, "plan.json", &known_plan());
    let sb = happy_standins(sb).standin(
        "terraform",
        &format!(
            r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) cat "{plan}" ;;
esac"#
        ),
    );
    let out = sb.run(&["deploy", "dev"]);
    out.assert_code(1);
    assert!(
        out.stderr().contains("over the budget $500.00/month") && out.stderr().contains("--no-cost-gate"),
        "{}",
        out.stderr()
    );
    assert!(!sb.calls().iter().any(|c| c.starts_with("terraform apply")), "nothing applied: {:#?}", sb.calls());

    // --no-cost-gate: reported in the run's summary, and the apply goes ahead.
    let out = sb.run(&["deploy", "dev", "--no-cost-gate", "--resume"]);
    assert!(out.stdout().contains("cost: estimate $"), "{}", out.stdout());
    assert!(sb.calls().iter().any(|c| c.starts_with("terraform apply")), "{:#?}", sb.calls());
}

#[test]
fn a_resource_without_a_price_is_listed_as_unpriced_never_as_free() {
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(
        &sb,
        "plan.json",
        &plan_json(
            &[
                r("aws_vpc.main", "aws_vpc", json!({})),
                r("aws_mq_broker.queue", "aws_mq_broker", json!({"host_instance_type": "mq.t3.micro"})),
                r("aws_instance.odd", "aws_instance", json!({"instance_type": "x9.mega"})),
            ],
            json!({}),
        ),
    );
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(text.contains("unpriced: aws_mq_broker — no price in cost/prices.toml (aws_mq_broker.queue)"), "{text}");
    assert!(text.contains("unpriced: aws_instance — no price for EC2 x9.mega in us-east-1"), "{text}");
    assert!(text.contains("1 resources cost nothing by themselves: aws_vpc ×1"), "{text}");
    assert!(!text.contains("aws_mq_broker ×"), "not counted as free:\n{text}");
    assert!(out.stderr().contains("2 resource(s) could not be priced"), "{}", out.stderr());
    let (out, j) = report(&sb, &plan, &["--no-gate"]);
    out.assert_code(0);
    assert_eq!(j["unpriced"].as_array().unwrap().len(), 2);
}

#[test]
fn every_resource_type_in_the_stack_is_priced_or_known_to_be_free() {
    let mut types = std::collections::BTreeSet::new();
    let mut dirs = vec![repo_root().join("terraform")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "tf") {
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    if let Some(rest) = line.strip_prefix("resource \"") {
                        types.insert(rest.split('"').next().unwrap().to_string());
                    }
                }
            }
        }
    }
    assert!(types.len() > 30, "{types:?}");
    let resources: Vec<_> = types.iter().map(|t| r(&format!("{t}.x"), t, json!({}))).collect();
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(&sb, "plan.json", &plan_json(&resources, json!({})));
    let (out, j) = report(&sb, &plan, &["--no-gate"]);
    out.assert_code(0);
    let unknown: Vec<&Value> = j["unpriced"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"].as_str().unwrap().starts_with("no price in cost/prices.toml"))
        .collect();
    assert!(unknown.is_empty(), "resource types of the stack the report does not know: {unknown:#?}");
}

#[test]
fn a_cluster_past_standard_support_pays_extended_support_and_says_so() {
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(
        &sb,
        "plan.json",
        &plan_json(&[r("aws_eks_cluster.old", "aws_eks_cluster", json!({"version": "1.29"}))], json!({})),
    );
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(0);
    assert!(out.stdout().contains("EXTENDED support"), "{}", out.stdout());
    assert!(out
        .stdout()
        .contains("warning: aws_eks_cluster.old: Kubernetes 1.29 left EKS standard support on 2025-03-23"));
    assert!(out.stdout().contains("total:  $438.00/month"), "{}", out.stdout());
}

/// The month priced is the 730 hours from today: the hours from the day the version leaves EKS standard
/// support (k8s/eks-versions.toml) are extended support, unless the upgrade policy is STANDARD, with which
/// AWS upgrades the control plane that day instead — each said.
#[test]
fn extended_support_is_priced_from_the_day_standard_support_ends() {
    let sb = sandbox(NO_INGRESS);
    let today = time::OffsetDateTime::now_utc().date();
    let date = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let calendar = |end: time::Date| {
        let text = format!(
            "[source]\nurl = \"https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html\"\nchecked = \"{}\"\n\n[versions.\"1.35\"]\nreleased = \"{}\"\nstandard_support_ends = \"{}\"\nextended_support_ends = \"{}\"\n",
            date(today),
            date(end - time::Duration::days(425)),
            date(end),
            date(end + time::Duration::days(365))
        );
        std::fs::write(sb.root.as_ref().unwrap().join("k8s/eks-versions.toml"), text).unwrap();
    };
    let cluster = |policy: &str| {
        let after = match policy {
            "" => json!({"version": "1.35"}),
            p => json!({"version": "1.35", "upgrade_policy": [{"support_type": p}]}),
        };
        write_plan(&sb, "plan.json", &plan_json(&[r("aws_eks_cluster.this", "aws_eks_cluster", after)], json!({})))
    };

    // Ended five days ago: the whole month at the extended rate, and why.
    let end = today - time::Duration::days(5);
    calendar(end);
    let (out, j) = report(&sb, &cluster("EXTENDED"), &[]);
    out.assert_code(0);
    close(monthly(&j, "aws_eks_cluster.this", &format!("EXTENDED support from {}", date(end))), 730.0 * 0.60);
    let notes = j["notes"].to_string();
    assert!(notes.contains(&format!("Kubernetes 1.35 left EKS standard support on {}", date(end))), "{notes}");
    assert!(notes.contains("for 730 of the 730 hours priced") && notes.contains("upgrade <env> --to 1.36"), "{notes}");

    // Ends in ten days: 240 hours standard, the rest extended.
    let end = today + time::Duration::days(10);
    calendar(end);
    let (_, j) = report(&sb, &cluster(""), &[]);
    close(monthly(&j, "aws_eks_cluster.this", "standard support until"), 240.0 * 0.10);
    close(monthly(&j, "aws_eks_cluster.this", "EXTENDED support from"), 490.0 * 0.60);
    assert!(j["notes"].to_string().contains(&format!("leaves EKS standard support on {}", date(end))), "{j:#}");

    // With upgrade policy STANDARD, AWS upgrades the control plane that day: the standard rate, said.
    let (_, j) = report(&sb, &cluster("STANDARD"), &[]);
    close(monthly(&j, "aws_eks_cluster.this", "control plane (Kubernetes 1.35)"), 73.0);
    assert!(j["notes"].to_string().contains("AWS upgrades the control plane to 1.36 itself that day"), "{j:#}");

    // Far from the end: the standard rate, nothing to say.
    calendar(today + time::Duration::days(200));
    let (_, j) = report(&sb, &cluster("EXTENDED"), &[]);
    close(monthly(&j, "aws_eks_cluster.this", "control plane (Kubernetes 1.35)"), 73.0);
    assert_eq!(j["notes"], json!([]), "{j:#}");
}

#[test]
fn dr_resources_are_priced_in_the_dr_region_and_a_region_without_prices_is_bad_input() {
    let config = json!({"root_module": {"module_calls": {"storage": {"module": {"resources": [
        {"address": "aws_kms_key.replica", "provider_config_key": "aws.dr"}
    ]}}}}});
    let text = plan_json(
        &[r("module.storage.aws_kms_key.replica", "aws_kms_key", json!({}))],
        json!({"configuration": config, "variables": {"region": {"value": "us-east-1"}, "dr_region": {"value": "us-west-2"}}}),
    );
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(&sb, "plan.json", &text);
    let (out, j) = report(&sb, &plan, &[]);
    out.assert_code(0);
    assert_eq!(j["regions"], json!(["us-east-1", "us-west-2"]));

    let prices = std::fs::read_to_string(sb.root.as_ref().unwrap().join("cost/prices.toml")).unwrap();
    let cut = prices.find("# US West (Oregon)").unwrap();
    std::fs::write(sb.root.as_ref().unwrap().join("cost/prices.toml"), &prices[..cut]).unwrap();
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(2);
    assert_eq!(
        out.stderr().trim(),
        "error: cost/prices.toml has no prices for region us-west-2 (it has us-east-1): add a [regions.us-west-2] table"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let sb = sandbox(NO_INGRESS);
    let not_json = write_plan(&sb, "not-json.json", "Terraform will perform the following actions:\n");
    let out = sb.run(&["cost-report", "dev", "--plan", &not_json]);
    out.assert_code(2);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(out.stderr().contains("not-json.json:1: not a terraform plan JSON"), "{}", out.stderr());

    let not_plan = write_plan(&sb, "state.json", r#"{"version": 4, "resources": []}"#);
    let out = sb.run(&["cost-report", "dev", "--plan", &not_plan]);
    out.assert_code(2);
    assert!(out.stderr().contains("it has no `resource_changes`"), "{}", out.stderr());

    let plan = write_plan(&sb, "plan.json", &known_plan());
    let usage = "[ingress]\nnetwork_load_balancers = 0\n\n[defaults.aws_nat_gateway]\nmonthly_data_procesed_gb = 100\n";
    std::fs::write(sb.root.as_ref().unwrap().join("cost/usage.toml"), usage).unwrap();
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(2);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("cost/usage.toml:5: unknown usage key `monthly_data_procesed_gb` for aws_nat_gateway, expected one of: monthly_data_processed_gb"),
        "{}",
        out.stderr()
    );

    let usage = "[resources.\"module.vpc.aws_vpc.this\"]\nstorage_gb = 1\n";
    std::fs::write(sb.root.as_ref().unwrap().join("cost/usage.toml"), usage).unwrap();
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("cost/usage.toml:1: resources.\"module.vpc.aws_vpc.this\": `aws_vpc` takes no usage"),
        "{}",
        out.stderr()
    );

    std::fs::write(sb.root.as_ref().unwrap().join("cost/usage.toml"), "[ingres]\n").unwrap();
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(2);
    assert!(out.stderr().contains("cost/usage.toml:1: unknown field `ingres`"), "{}", out.stderr());
}

#[test]
fn without_a_plan_it_says_which_command_to_run_and_an_emulated_plan_is_named_as_such() {
    let sb = sandbox(NO_INGRESS);
    let out = sb.run(&["cost-report", "dev"]);
    out.assert_code(2);
    assert!(
        out.stderr()
            .contains("run `cargo xtask plan dev` (with dev's AWS credentials) or `cargo xtask plan dev --emulated`"),
        "{}",
        out.stderr()
    );

    std::fs::create_dir_all(sb.work().join("plans")).unwrap();
    std::fs::write(sb.work().join("plans/dev-emulated.plan.json"), known_plan()).unwrap();
    let out = sb.run(&["cost-report", "dev", "--no-gate"]);
    out.assert_code(0);
    assert!(out.stdout().contains("dev-emulated.plan.json — EMULATED: no saved plan of `dev`"), "{}", out.stdout());

    std::fs::write(sb.work().join("plans/dev.plan.json"), known_plan()).unwrap();
    let out = sb.run(&["cost-report", "dev", "--no-gate"]);
    assert!(out.stdout().contains("(the saved plan of `cargo xtask plan dev`)"), "{}", out.stdout());
}

#[test]
fn markdown_for_pull_requests_and_the_step_summary() {
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(&sb, "plan.json", &known_plan());
    let out = sb.run(&["cost-report", "dev", "--plan", &plan, "--format", "markdown", "--no-gate"]);
    out.assert_code(0);
    let md = out.stdout();
    assert!(md.starts_with("### Cost estimate: `dev`"), "{md}");
    assert!(md.contains("| resource | component | quantity | unit price | monthly |"), "{md}");
    assert!(md.contains("| **total** |"), "{md}");

    let summary = sb.path("summary.md");
    let out = sb
        .command(&["cost-report", "dev", "--plan", &plan, "--no-gate"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert!(out.status.success());
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.contains("### Cost estimate: `dev`") && written.contains("| **total** |"), "{written}");
}

#[test]
fn no_budget_in_terraform_skips_the_gate_and_says_so() {
    let sb = sandbox(NO_INGRESS);
    std::fs::write(
        sb.root.as_ref().unwrap().join("terraform/environments/dev/main.tf"),
        "module \"stack\" {\n  source = \"../../stack\"\n}\n",
    )
    .unwrap();
    let plan = write_plan(&sb, "plan.json", &known_plan());
    let out = sb.run(&["cost-report", "dev", "--plan", &plan]);
    out.assert_code(0);
    assert!(out
        .stdout()
        .contains("no monthly_budget_usd in module \"stack\" of terraform/environments/dev/main.tf: gate skipped"));
}

#[test]
fn actual_spend_asks_cost_explorer_by_service_and_by_tag() {
    let sb = sandbox(NO_INGRESS).standin(
        "aws",
        r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;
  *DIMENSION,Key=SERVICE*) echo '{"ResultsByTime":[{"Groups":[{"Keys":["Amazon Elastic Compute Cloud - Compute"],"Metrics":{"UnblendedCost":{"Amount":"61.2","Unit":"USD"}}},{"Keys":["Amazon Elastic Container Service for Kubernetes"],"Metrics":{"UnblendedCost":{"Amount":"73","Unit":"USD"}}}]}]}' ;;
  *TAG,Key=Project*) echo '{"ResultsByTime":[{"Groups":[{"Keys":["Project$authorworks","Environment$dev"],"Metrics":{"UnblendedCost":{"Amount":"134.2","Unit":"USD"}}}]}]}' ;;
esac"#,
    );
    let out = sb.run(&["cost-report", "dev", "--actual"]);
    out.assert_code(0);
    let text = out.stdout();
    assert!(text.contains("Amazon Elastic Container Service for Kubernetes") && text.contains("$73.00"), "{text}");
    assert!(text.contains("$134.20"), "{text}");
    let calls = sb.calls();
    let ce: Vec<&String> = calls.iter().filter(|c| c.contains("ce get-cost-and-usage")).collect();
    assert_eq!(ce.len(), 2, "{calls:?}");
    assert!(ce[0].contains("--group-by Type=DIMENSION,Key=SERVICE --filter"), "{}", ce[0]);
    assert!(ce[0].contains(r#""Values":["dev"]"#), "{}", ce[0]);
    assert!(ce[1].contains("--group-by Type=TAG,Key=Project Type=TAG,Key=Environment"), "{}", ce[1]);

    let empty = sandbox(NO_INGRESS).standin(
        "aws",
        r#"case "$*" in *get-caller-identity*) echo 111122223333 ;; *) echo '{"ResultsByTime":[{"Groups":[]}]}' ;; esac"#,
    );
    let out = empty.run(&["cost-report", "dev", "--actual"]);
    out.assert_code(0);
    assert!(out.stdout().contains("Cost Explorer returned no cost data for this period"), "{}", out.stdout());
}

/// A plan of `n` resources across the priced and free types: the benchmark's input.
pub fn generated_plan(n: usize) -> String {
    let kinds: [(&str, Value); 10] = [
        (
            "aws_eks_node_group",
            json!({"instance_types": ["t3.large"], "capacity_type": "ON_DEMAND", "scaling_config": [{"desired_size": 1}]}),
        ),
        (
            "aws_db_instance",
            json!({"engine": "postgres", "instance_class": "db.t3.micro", "multi_az": false, "allocated_storage": 20, "storage_type": "gp3"}),
        ),
        (
            "aws_elasticache_replication_group",
            json!({"engine": "redis", "node_type": "cache.t3.micro", "num_cache_clusters": 1}),
        ),
        ("aws_nat_gateway", json!({})),
        ("aws_cloudwatch_log_group", json!({"retention_in_days": 14})),
        ("aws_s3_bucket", json!({})),
        ("aws_kms_key", json!({})),
        ("aws_cloudwatch_metric_alarm", json!({"period": 300})),
        ("aws_security_group", json!({})),
        ("aws_iam_role", json!({})),
    ];
    let resources: Vec<_> = (0..n)
        .map(|i| {
            let (t, after) = &kinds[i % kinds.len()];
            r(&format!("module.m{}.{t}.r[{}]", i % 50, i), t, after.clone())
        })
        .collect();
    plan_json(&resources, json!({}))
}

#[test]
fn a_generated_plan_of_5000_resources_is_priced_in_full() {
    let sb = sandbox(NO_INGRESS);
    let plan = write_plan(&sb, "plan-5000.json", &generated_plan(5000));
    let (out, j) = report(&sb, &plan, &["--no-gate"]);
    out.assert_code(0);
    assert_eq!(j["resources"], 5000);
    assert_eq!(j["unpriced"], json!([]));
    // 500 t3.large nodes at $0.0832/h (+ 20 GB gp3 each) among them.
    let nodes: f64 = j["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["component"].as_str().unwrap().contains("t3.large"))
        .map(|l| l["monthly_usd"].as_f64().unwrap())
        .sum();
    close(nodes, 500.0 * 730.0 * 0.0832);
}

/// Writes the benchmark's input: `cargo test --test suite -- --ignored cost::write_benchmark_plan`
/// (to $COST_BENCH_PLAN, default target/cost-bench/plan-5000.json).
#[test]
#[ignore]
fn write_benchmark_plan() {
    let path = std::env::var_os("COST_BENCH_PLAN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/cost-bench/plan-5000.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, generated_plan(5000)).unwrap();
    println!("wrote {}", path.display());
}
