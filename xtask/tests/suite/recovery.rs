//! `restore`, `restore-drill` and `backup` against real environments, through recording stand-ins for
//! terraform, aws, kubectl and helm (the emulator can't copy snapshots across regions, keep two instances
//! apart or restore a point in time): bad input refused before anything runs, a restore's order and
//! flags, the DR region's pruning and drill. `restore local`, end to end on the emulator, is in `e2e`.

use crate::cluster::{repo, tools_called, APP};
use crate::common::*;

#[test]
fn restore_and_drill_refuse_bad_input_before_anything_runs() {
    let mut files = fixture_files();
    files.push(("terraform/environments/local/main.tf", "# local\n"));
    let sb = Sandbox::new().with_root(&files);
    let cases: &[(&[&str], &str)] = &[
        (&["restore", "local", "--to-time", "2026-12-04T09:30:00Z"], "the emulator can't restore a point in time"),
        (&["restore", "dev", "--to-time", "yesterday"], "--to-time yesterday: not an RFC 3339 time"),
        (&["restore", "prod"], "`prod` is protected and there is no terminal to confirm the restore at"),
        (&["restore", "dev", "--snapshot", "a", "--to-time", "2026-12-04T09:30:00Z"], "cannot be used with"),
        (&["restore-drill", "dev", "--region", "dr"], "`dev` has no dr_region"),
        (&["restore-drill", "prod", "--region", "eu-west-1"], "its copies in us-west-2 (`--region dr`)"),
    ];
    for (args, says) in cases {
        let out = sb.run(args);
        out.assert_code(2);
        assert!(out.stderr().contains(says), "{args:?}: {}", out.stderr());
        assert!(!sb.work().join("emulator/state.json").exists(), "{args:?} started the emulator");
        assert!(!sb.work().join("journal").exists(), "{args:?} ran a step");
    }
}

/// The RDS answers of a production-like database: a primary with a read replica, two snapshots.
const RDS: &str = r#"
  *describe-db-snapshots*) echo '{"DBSnapshots":[
      {"DBSnapshotIdentifier":"snap-old","SnapshotCreateTime":"2026-12-01T03:00:00Z","Status":"available"},
      {"DBSnapshotIdentifier":"snap-new","SnapshotCreateTime":"2026-12-04T03:00:00Z","Status":"available"},
      {"DBSnapshotIdentifier":"snap-making","SnapshotCreateTime":"2026-12-04T09:00:00Z","Status":"creating"}]}' ;;
  *describe-db-instances*) echo '{"DBInstances":[{"DBInstanceIdentifier":"authorworks-dev-postgres","DBInstanceArn":"arn:aws:rds:us-east-1:111122223333:db:authorworks-dev-postgres","DbiResourceId":"db-ABC","ReadReplicaDBInstanceIdentifiers":["authorworks-dev-postgres-replica"]}]}' ;;"#;

#[test]
fn a_restore_renames_aside_plans_from_the_source_applies_and_switches_the_services() {
    let sb = repo();
    let root = sb.root.clone().unwrap();
    let pgbouncer = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: pgbouncer\n  namespace: authorworks\nspec:\n  selector:\n    matchLabels: {app: pgbouncer}\n  template:\n    metadata:\n      labels: {app: pgbouncer}\n    spec:\n      containers:\n        - name: pgbouncer\n          image: ghcr.io/cloudnative-pg/pgbouncer:1.25.2\n";
    std::fs::write(root.join("k8s/overlays/dev/app.yaml"), format!("{APP}{pgbouncer}")).unwrap();
    let primary = "module.stack.module.database.aws_db_instance.primary";
    let plan = format!(
        r#"{{"applyable":true,"resource_changes":[{{"address":"{primary}","mode":"managed","type":"aws_db_instance","change":{{"actions":["create"],"after":{{"snapshot_identifier":"snap-new","restore_to_point_in_time":[]}}}}}}]}}"#
    );
    let sb = sb
        .standin(
            "aws",
            &format!(
                r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;{RDS}
  *get-secret-value*) exit 1 ;;
esac"#
            ),
        )
        .standin(
            "terraform",
            &format!(
                r#"case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) echo '{plan}' ;;
  state) if [ "$2" = list ]; then printf '%s\n' {primary} module.stack.module.database.aws_db_instance.replica[0] module.stack.module.network.aws_vpc.this; fi ;;
  output) echo '{{"stack":{{"value":{{"cluster_name":"authorworks-dev-eks","db_instance_identifier":"authorworks-dev-postgres","cert_manager_role_arn":"arn:aws:iam::111122223333:role/cm"}}}}}}' ;;
esac"#
            ),
        );
    // The mesh steps read the stored trust anchor; this repository's fixture has none, so the run stops
    // there, after the restore's own steps, whose calls are what this test is about.
    let out = sb.run(&["restore", "dev"]);
    let calls = sb.calls();
    let pos = |needle: &str| {
        calls
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("`{needle}` not called: {calls:#?}\n{}", out.all()))
    };
    let order = [
        "aws rds describe-db-snapshots --db-instance-identifier authorworks-dev-postgres --output json",
        "aws rds describe-db-instances --db-instance-identifier authorworks-dev-postgres",
        "aws rds add-tags-to-resource --resource-name arn:aws:rds:us-east-1:111122223333:db:authorworks-dev-postgres-replica --tags Key=xtask:retired-by,Value=cargo-xtask-restore",
        "aws rds modify-db-instance --db-instance-identifier authorworks-dev-postgres-replica --output json --new-db-instance-identifier authorworks-dev-postgres-replica-retired-",
        "aws rds modify-db-instance --db-instance-identifier authorworks-dev-postgres --output json --new-db-instance-identifier authorworks-dev-postgres-retired-",
        "aws rds wait db-instance-deleted --db-instance-identifier authorworks-dev-postgres",
        "terraform state list",
        &format!("terraform state rm {primary}"),
        "terraform state rm module.stack.module.database.aws_db_instance.replica[0]",
        r#"-var database_restore_source={"snapshot_identifier":"snap-new"}"#,
        "terraform show -json -no-color",
        "terraform apply -input=false -no-color -parallelism=30",
    ];
    for pair in order.windows(2) {
        assert!(pos(pair[0]) < pos(pair[1]), "`{}` must come before `{}`: {calls:#?}", pair[0], pair[1]);
    }
    let outputs = calls.iter().rposition(|c| c.starts_with("terraform output -json")).unwrap();
    assert!(outputs > pos("terraform apply"), "the outputs are recorded again after the restore: {calls:#?}");
    assert!(!calls.iter().any(|c| c.contains("state rm module.stack.module.network")), "only the database's instances");
    assert!(
        !calls.iter().any(|c| c.contains("delete-db-instance")),
        "on AWS the retired instances are kept: {calls:#?}"
    );
    assert!(
        !calls.iter().any(|c| c.contains("snap-making") && c.contains("terraform")),
        "a snapshot still being made is not chosen"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/dev.restore.json")).unwrap()).unwrap();
    assert_eq!(record["source"]["snapshot_identifier"], "snap-new");
    assert_eq!(record["applied"], true);
    assert!(record["database_seconds"].as_f64().is_some(), "{record:#}");
    assert_eq!(record["retired"].as_array().unwrap().len(), 2, "{record:#}");

    // With the mesh's anchor stored, the rest runs: the deploy's cluster steps bind the services to the
    // new instance, then PgBouncer is restarted, and the times are recorded.
    let stored = anchor(&sb);
    let sb = sb.standin(
        "aws",
        &format!(
            r#"case "$*" in
  *get-caller-identity*) echo 111122223333 ;;{RDS}
  *describe-secret*) echo authorworks/dev/linkerd-identity ;;
  *get-secret-value*) cat "{}" ;;
esac"#,
            stored.display()
        ),
    );
    let resumed = sb.run(&["restore", "dev", "--resume"]);
    resumed.assert_code(0);
    let calls = sb.calls();
    let pos = |needle: &str| {
        calls.iter().rposition(|c| c.contains(needle)).unwrap_or_else(|| panic!("`{needle}`: {calls:#?}"))
    };
    assert!(pos("dev-overlay.yaml") < pos("kubectl rollout restart deployment/pgbouncer --namespace authorworks"));
    assert!(pos("rollout restart deployment/pgbouncer") < pos("kubectl rollout status deployment/pgbouncer"));
    assert_eq!(calls.iter().filter(|c| c.contains("modify-db-instance")).count(), 2, "nothing renamed twice on resume");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/dev.restore.json")).unwrap()).unwrap();
    assert_eq!(record["done"], true, "{record:#}");
    assert!(resumed.stdout().contains("services switched in"), "{}", resumed.stdout());
    assert_eq!(tools_called(&sb, "helm").iter().filter(|c| c.contains("linkerd-control-plane")).count(), 1);
}

/// A stored trust anchor for the stand-in Secrets Manager (made with openssl: a P-256 CA).
fn anchor(sb: &Sandbox) -> std::path::PathBuf {
    let (key, crt) = (sb.path("anchor.key"), sb.path("anchor.crt"));
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650"])
        .args(["-subj", "/CN=root.linkerd.cluster.local", "-addext", "basicConstraints=critical,CA:TRUE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let json = serde_json::json!({
        "trust_anchor_pem": std::fs::read_to_string(&crt).unwrap(),
        "trust_anchor_key_pem": std::fs::read_to_string(&key).unwrap(),
    });
    let path = sb.path("anchor.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// prod: a backup's copies in us-west-2 are pruned there as at home; the drill restores one there.
fn prod() -> Sandbox {
    let sb = Sandbox::new().with_root(&fixture_files());
    let old = |id: &str, at: &str| {
        format!(
            r#"{{"DBSnapshotIdentifier":"{id}","SnapshotCreateTime":"{at}","Status":"available","Encrypted":true,"TagList":[{{"Key":"xtask:made-by","Value":"cargo-xtask-backup"}}]}}"#
        )
    };
    let dr = format!(
        r#"{{"DBSnapshots":[{},{},{}]}}"#,
        old("copy-old", "2026-01-01T03:00:00Z"),
        old("copy-mid", "2026-02-01T03:00:00Z"),
        old("copy-new", "2099-01-01T03:00:00Z")
    );
    let home = format!(r#"{{"DBSnapshots":[{}]}}"#, old("home-new", "2099-01-01T03:00:00Z"));
    sb.standin(
        "aws",
        &format!(
            r#"case "$*" in
  *get-caller-identity*) echo 444455556666 ;;
  *describe-db-snapshots*us-west-2*) echo '{dr}' ;;
  *describe-db-snapshots*) echo '{home}' ;;
  *describe-db-instances*drill*) echo '{{"DBInstances":[{{"DBInstanceIdentifier":"d","DBInstanceStatus":"available","Engine":"postgres","StorageEncrypted":true,"TagList":[{{"Key":"Purpose","Value":"restore-drill"}}]}}]}}' ;;
  *describe-db-instances*) echo '{{"DBInstances":[{{"DBInstanceIdentifier":"authorworks-prod-postgres","Engine":"postgres","DBInstanceClass":"db.r5.large","DBSubnetGroup":{{"DBSubnetGroupName":"home-subnets"}}}}]}}' ;;
esac"#
        ),
    )
    .standin(
        "terraform",
        r#"[ "$1" = output ] && echo '{"stack":{"value":{"db_instance_identifier":"authorworks-prod-postgres","backup_retention_days":90,"dr_backup_kms_key_arn":"arn:aws:kms:us-west-2:444455556666:key/k","backups_bucket":"b"}}}'; exit 0"#,
    )
}

#[test]
fn backup_prunes_its_copies_in_the_dr_region_as_at_home() {
    let sb = prod();
    sb.run(&["backup", "prod"]).assert_code(0);
    let calls = sb.calls();
    let deleted: Vec<&String> = calls.iter().filter(|c| c.contains("delete-db-snapshot")).collect();
    assert_eq!(
        deleted,
        [
            "aws rds delete-db-snapshot --db-snapshot-identifier copy-mid --output json --region us-west-2",
            "aws rds delete-db-snapshot --db-snapshot-identifier copy-old --output json --region us-west-2",
        ]
        .iter()
        .collect::<Vec<_>>(),
        "the two copies past 90 days, in us-west-2; never the newest, nothing at home: {calls:#?}"
    );
    assert!(calls
        .iter()
        .any(|c| c.contains("copy-db-snapshot") && c.contains("--copy-tags") && c.contains("--region us-west-2")));
}

#[test]
fn the_drill_restores_the_newest_copy_in_the_dr_region() {
    let sb = prod();
    let out = sb.run(&["restore-drill", "prod", "--region", "dr"]);
    out.assert_code(0);
    let calls = sb.calls();
    let restore = calls.iter().find(|c| c.contains("restore-db-instance-from-db-snapshot")).unwrap();
    for flag in [
        "--db-snapshot-identifier copy-new",
        "--region us-west-2",
        "--db-instance-class db.r5.large",
        "--no-publicly-accessible",
    ] {
        assert!(restore.contains(flag), "{flag}: {restore}");
    }
    assert!(!restore.contains("home-subnets"), "the home region's subnet group does not exist there: {restore}");
    assert!(calls.iter().any(|c| c.contains("delete-db-instance") && c.contains("--region us-west-2")), "{calls:#?}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("plans/prod.restore-drill-dr.json")).unwrap())
            .unwrap();
    assert_eq!(record["region"], "us-west-2");
    assert!(out.stdout().contains("restore drill prod in us-west-2: copy-new restored in"), "{}", out.stdout());
}

/// The drill schedule DISASTER_RECOVERY.md promises is the one the operations workflow runs: each
/// `cargo xtask backup|restore-drill <env> …` of its table is a step of operations.yml whose `if:`
/// selects that environment (by name, or as every environment but dev) on a schedule the workflow has.
#[test]
fn the_documented_drill_schedule_is_the_operations_workflows() {
    let doc = std::fs::read_to_string(repo_root().join("docs/DISASTER_RECOVERY.md")).unwrap();
    let workflow = std::fs::read_to_string(repo_root().join(".github/workflows/operations.yml")).unwrap();
    let table = doc.split("## The drill schedule").nth(1).expect("DISASTER_RECOVERY.md has `## The drill schedule`");
    let table = table.split("\n## ").next().unwrap();
    let lines: Vec<&str> = workflow.lines().collect();
    let mut documented = 0;
    for row in table.lines().filter(|l| l.starts_with("| ") && l.contains("`cargo xtask")) {
        for command in
            row.split('`').filter(|c| c.starts_with("cargo xtask backup") || c.starts_with("cargo xtask restore-drill"))
        {
            documented += 1;
            let words: Vec<&str> = command.split_whitespace().collect();
            let (verb, env, rest) = (words[2], words[3], words[4..].join(" "));
            let run = format!(
                "run: cargo xtask {verb} \"$ENVIRONMENT\"{}",
                if rest.is_empty() { String::new() } else { format!(" {rest}") }
            );
            let selected = lines.windows(2).any(|w| {
                let cond = w[0].trim_start().strip_prefix("- if: ").unwrap_or("");
                let schedule = cond.split('\'').nth(1).unwrap_or("");
                w[1].trim() == run
                    && workflow.contains(&format!("- cron: \"{schedule}\""))
                    && (cond.contains(&format!("matrix.env == '{env}'"))
                        || (env != "dev" && cond.contains("matrix.env != 'dev'")))
            });
            assert!(selected, "DISASTER_RECOVERY.md promises `{command}`, but no scheduled step of operations.yml runs `{run}` for `{env}`");
        }
    }
    assert!(documented >= 4, "the drill schedule table names the backups and drills ({documented} found)");
}
