//! An environment's sizing: the arguments of its `module "stack"` call that say how big it is. Two
//! environments run another's overlay, and each is that one's shape: `dr` is production rebuilt in
//! another region, `local` is dev's shape on the AWS emulator. Each root carries a copy of the owner's
//! sizing (terraform has no include across roots); this is the check that the copy is the owner's. A
//! production that grew its database or node groups while dr kept the old figures would fail over onto
//! less than it ran on (a cluster fit only notices what the overlay asks for); a local left behind
//! would stop rehearsing dev's shape. `kubernetes_version` is not held here: dr's is held to
//! production's with the upgrade's advice (`lifecycle::borrowed_version_finding`), and local's is its
//! own (`upgrade local` rehearses an upgrade against the emulator without touching dev).

use serde_json::Value;

use crate::env_files::EnvFiles;
use crate::finding::Finding;

/// The stack's sizing arguments (terraform/stack/variables.tf) an environment of another's shape sets
/// as that one does. What is the environment's own (its names, its restore source, which account-wide
/// singletons it makes, its Kubernetes version) is not sizing.
pub const ARGUMENTS: &[&str] = &[
    "vpc_cidr",
    "az_count",
    "single_nat_gateway",
    "node_groups",
    "db_instance_class",
    "db_allocated_storage_gb",
    "db_max_allocated_storage_gb",
    "db_multi_az",
    "db_read_replica",
    "backup_retention_days",
    "cache_node_type",
    "cache_nodes",
    "cache_cluster_mode",
    "cache_shards",
    "cache_replicas_per_shard",
];

/// Every sizing argument in which `env`, running another environment's overlay, differs from that
/// environment: one finding each, at the copy's line. None for an environment running its own overlay,
/// or when the owner has no terraform root (the overlay's own check says that). `emulator`: `env` is
/// applied to the AWS emulator (local), not rebuilt from the owner in AWS (dr).
pub fn copy_findings(env: EnvFiles<'_>, emulator: bool) -> Vec<Finding> {
    let Some(owner) = env.overlay_owner() else { return Vec::new() };
    let (own_args, their_args) = match (sized(env), sized(owner)) {
        (Ok(own), Ok(theirs)) => (own, theirs),
        (Err(e), _) | (_, Err(e)) => return vec![Finding::new(&env.main_tf(), None, format!("{e:#}"))],
    };
    let text = std::fs::read_to_string(env.main_tf()).unwrap_or_default();
    let mut findings = Vec::new();
    for name in ARGUMENTS {
        let (own, theirs) = (own_args.get(*name).cloned(), their_args.get(*name).cloned());
        if own == theirs {
            continue;
        }
        let shown = |v: &Option<Value>| {
            v.as_ref().map_or_else(|| "nothing (the stack's default)".to_string(), |v| format!("{name} = {v}"))
        };
        let (is, consequence) = if emulator {
            (
                format!("is `{}`'s shape on the emulator", env.overlay()),
                format!(
                    "the emulator would apply another shape than `{}`'s, and `{}` would stop rehearsing it",
                    env.overlay(),
                    env.name()
                ),
            )
        } else {
            (
                format!("runs `{}`'s overlay as `{}` rebuilt", env.overlay(), env.overlay()),
                format!("a failover would put `{}`'s load on other resources than it runs on", env.overlay()),
            )
        };
        findings.push(Finding::new(
            &env.main_tf(),
            crate::terraform::argument_lines(&text, name).next().map(|(i, _)| i + 1),
            format!(
                "`{}` {is} but sets {} where {} sets {}: {consequence}; set it as `{}` does, in the same commit",
                env.name(),
                shown(&own),
                owner.shown_main_tf(),
                shown(&theirs),
                env.overlay(),
            ),
        ));
    }
    findings
}

/// The sizing arguments the stack call sets, each as JSON where it is a literal (so layout and comments
/// don't count), its expression's text otherwise.
fn sized(env: EnvFiles<'_>) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
    let mut args = env.stack_arguments()?;
    Ok(ARGUMENTS.iter().filter_map(|name| Some((name.to_string(), literal(&args.remove(*name)?)))).collect())
}

fn literal(expr: &hcl_edit::expr::Expression) -> Value {
    use hcl_edit::expr::{Expression, ObjectKey};
    match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => {
            n.value().as_i64().map(Value::from).or_else(|| n.value().as_f64().map(Value::from)).unwrap_or(Value::Null)
        }
        Expression::String(s) => Value::String(s.as_str().to_string()),
        Expression::Array(a) => Value::Array(a.iter().map(literal).collect()),
        Expression::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(e) => match literal(e) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    };
                    (key, literal(v.expr()))
                })
                .collect(),
        ),
        other => {
            let mut bare = other.clone();
            hcl_edit::Decorate::decor_mut(&mut bare).clear();
            Value::String(format!("${{{}}}", bare.to_string().split_whitespace().collect::<Vec<_>>().join(" ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    const OWNER: &str = "module \"stack\" {\n  source = \"../../stack\"\n  vpc_cidr = \"10.0.0.0/16\"\n  node_groups = {\n    app = { instance_types = [\"t3.large\"], min_size = 3 }\n  }\n  db_instance_class = \"db.r5.large\"\n  cache_shards = 2\n}\n";

    fn tree(borrower: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (env, text) in [("production", OWNER), ("dr", borrower)] {
            let root = dir.path().join("terraform/environments").join(env);
            std::fs::create_dir_all(&root).unwrap();
            std::fs::write(root.join("main.tf"), text).unwrap();
        }
        dir
    }

    fn findings(borrower: &str, overlay: &str, emulator: bool) -> Vec<String> {
        let dir = tree(borrower);
        let env = Environment {
            name: "dr".into(),
            account_id: "432109876543".into(),
            region: "us-west-2".into(),
            dr_region: None,
            protected: true,
            emulator,
            overlay: overlay.into(),
            promote_from: None,
        };
        copy_findings(EnvFiles::of(dir.path(), &env), emulator)
            .iter()
            .map(|f| f.to_string().replace(&format!("{}/", dir.path().display()), ""))
            .collect()
    }

    #[test]
    fn the_owner_s_sizing_laid_out_otherwise_is_the_same() {
        let same = "module \"stack\" {\n  source = \"../../stack\"\n  # production's shape\n  vpc_cidr = \"10.0.0.0/16\"\n  node_groups = {\n    app = {\n      instance_types = [\"t3.large\"] # one type\n      min_size       = 3\n    }\n  }\n  db_instance_class = \"db.r5.large\"\n  cache_shards      = 2\n  domain_name       = \"elsewhere\"\n}\n";
        assert_eq!(findings(same, "production", false), Vec::<String>::new());
    }

    #[test]
    fn each_sizing_argument_that_differs_is_named_at_its_line() {
        let behind = "module \"stack\" {\n  source = \"../../stack\"\n  vpc_cidr = \"10.0.0.0/16\"\n  node_groups = {\n    app = { instance_types = [\"t3.large\"], min_size = 2 }\n  }\n  db_instance_class = \"db.r5.medium\"\n}\n";
        assert_eq!(
            findings(behind, "production", false),
            [
                "terraform/environments/dr/main.tf:4: `dr` runs `production`'s overlay as `production` rebuilt but sets node_groups = {\"app\":{\"instance_types\":[\"t3.large\"],\"min_size\":2}} where terraform/environments/production/main.tf sets node_groups = {\"app\":{\"instance_types\":[\"t3.large\"],\"min_size\":3}}: a failover would put `production`'s load on other resources than it runs on; set it as `production` does, in the same commit",
                "terraform/environments/dr/main.tf:7: `dr` runs `production`'s overlay as `production` rebuilt but sets db_instance_class = \"db.r5.medium\" where terraform/environments/production/main.tf sets db_instance_class = \"db.r5.large\": a failover would put `production`'s load on other resources than it runs on; set it as `production` does, in the same commit",
                "terraform/environments/dr/main.tf: `dr` runs `production`'s overlay as `production` rebuilt but sets nothing (the stack's default) where terraform/environments/production/main.tf sets cache_shards = 2: a failover would put `production`'s load on other resources than it runs on; set it as `production` does, in the same commit",
            ]
        );
    }

    #[test]
    fn an_emulator_copy_left_behind_is_named_as_such() {
        let behind = OWNER.replace("cache_shards = 2", "cache_shards = 3");
        assert_eq!(
            findings(&behind, "production", true),
            ["terraform/environments/dr/main.tf:8: `dr` is `production`'s shape on the emulator but sets cache_shards = 3 where terraform/environments/production/main.tf sets cache_shards = 2: the emulator would apply another shape than `production`'s, and `dr` would stop rehearsing it; set it as `production` does, in the same commit"]
        );
    }

    /// A renamed stack variable would leave its old name unset on both sides, equal, and unchecked.
    #[test]
    fn every_sizing_argument_is_a_variable_of_the_stack() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let file = crate::terraform::TfFile::read(&crate::terraform::tf_dir(root).join("stack/variables.tf")).unwrap();
        let variables: Vec<String> = file.blocks("variable").map(|(name, ..)| name).collect();
        let missing: Vec<&&str> = ARGUMENTS.iter().filter(|a| !variables.iter().any(|v| v == *a)).collect();
        assert!(missing.is_empty(), "not variables of terraform/stack: {missing:?}");
    }

    #[test]
    fn an_environment_running_its_own_overlay_is_sized_as_it_says() {
        assert_eq!(
            findings("module \"stack\" {\n  db_instance_class = \"db.t3.micro\"\n}\n", "dr", false),
            Vec::<String>::new()
        );
    }
}
