//! What a plan does, as people read it: counts (terraform's own "N to add, N to change, N to destroy"),
//! and each resource that is replaced, destroyed, changed or added — the data resources among the
//! replaced and destroyed first — and the markdown a pull request and a job summary show.

use std::fmt::Write as _;

use super::model::{Effect, Plan, ResourceChange};

/// Resource types whose loss loses data or the platform itself: a protected environment's plan may
/// not delete or replace them without `--allow-destroy`, and every summary lists them first.
pub const DATA_RESOURCES: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_s3_bucket",
    "aws_kms_key",
    "aws_eks_cluster",
    "aws_elasticache_replication_group",
    "aws_elasticache_cluster",
    "aws_dynamodb_table",
    "aws_secretsmanager_secret",
];

/// One resource the plan does something to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub address: String,
    pub kind: String,
    pub effect: Effect,
    /// terraform's actions, `delete+create`.
    pub actions: String,
    /// Why: the attributes that force a replacement, or terraform's action reason.
    pub why: Option<String>,
}

impl Entry {
    pub fn data(&self) -> bool {
        DATA_RESOURCES.contains(&self.kind.as_str())
    }
}

/// What a saved plan does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    /// False when the plan changes nothing (no resources, no outputs).
    pub applyable: bool,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Replacements (counted in `add` and `destroy` too, as terraform counts them).
    pub replace: usize,
    /// Every managed resource the plan does something to, in plan order.
    pub entries: Vec<Entry>,
    /// Root outputs whose value changes.
    pub outputs: Vec<String>,
}

impl PlanSummary {
    pub fn of(plan: &Plan) -> PlanSummary {
        let mut s = PlanSummary { applyable: plan.applyable.unwrap_or(true), ..PlanSummary::default() };
        for rc in plan.changes().iter().filter(|rc| rc.managed()) {
            let effect = rc.change.effect();
            match effect {
                Effect::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                    s.replace += 1;
                }
                Effect::Create => s.add += 1,
                Effect::Delete => s.destroy += 1,
                Effect::Update => s.change += 1,
                _ => continue,
            }
            s.entries.push(entry(rc, effect));
        }
        s.outputs = plan
            .output_changes
            .iter()
            .filter(|(_, c)| c.effect() != Effect::NoOp)
            .map(|(name, _)| name.clone())
            .collect();
        s
    }

    pub fn line(&self) -> String {
        format!("{} to add, {} to change, {} to destroy", self.add, self.change, self.destroy)
    }

    /// (address, type, actions) of every resource the plan deletes (replacements included).
    pub fn deletions(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| matches!(e.effect, Effect::Replace | Effect::Delete))
    }

    /// The data resources the plan deletes or replaces.
    pub fn data_losses(&self) -> Vec<&Entry> {
        self.deletions().filter(|e| e.data()).collect()
    }

    /// The markdown a pull request comment and a job summary show: a heading with the counts, `facts`
    /// (commit, state, cost) as a list, then the data resources replaced or destroyed, and every
    /// replacement, deletion, change and addition by address (additions by type when there are many).
    pub fn markdown(&self, title: &str, facts: &[String]) -> String {
        let mut out = format!("### {title}: {}", self.line());
        if self.replace > 0 {
            let _ = write!(out, " ({} replaced)", self.replace);
        }
        out.push_str("\n\n");
        for f in facts {
            let _ = writeln!(out, "- {f}");
        }
        if !facts.is_empty() {
            out.push('\n');
        }
        if !self.applyable || self.entries.is_empty() {
            out.push_str("No resource changes.\n");
        }
        let losses = self.data_losses();
        if !losses.is_empty() {
            let _ = writeln!(out, "**⚠ Data resources replaced or destroyed ({}):**\n", losses.len());
            for e in &losses {
                let _ = writeln!(out, "- {}", line(e));
            }
            out.push('\n');
        }
        let others = |effect: Effect| -> Vec<&Entry> {
            self.entries.iter().filter(|e| e.effect == effect && !(e.data() && losses.contains(e))).collect()
        };
        for (effect, heading, limit) in [
            (Effect::Replace, "Replaced", usize::MAX),
            (Effect::Delete, "Destroyed", usize::MAX),
            (Effect::Update, "Changed", 50),
            (Effect::Create, "Added", 30),
        ] {
            let list = others(effect);
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "<details><summary>{heading} ({})</summary>\n", list.len());
            if list.len() > limit {
                let mut by_type: std::collections::BTreeMap<&str, usize> = Default::default();
                list.iter().for_each(|e| *by_type.entry(e.kind.as_str()).or_default() += 1);
                for (kind, n) in by_type {
                    let _ = writeln!(out, "- `{kind}` × {n}");
                }
            } else {
                for e in list {
                    let _ = writeln!(out, "- {}", line(e));
                }
            }
            out.push_str("\n</details>\n\n");
        }
        if !self.outputs.is_empty() {
            let _ = writeln!(
                out,
                "Outputs changed: {}\n",
                self.outputs.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
            );
        }
        out
    }
}

fn line(e: &Entry) -> String {
    let why = e.why.as_ref().map(|w| format!(" — {w}")).unwrap_or_default();
    format!("`{}` ({}){why}", e.address.replace('`', "'"), e.actions)
}

fn entry(rc: &ResourceChange, effect: Effect) -> Entry {
    let paths: Vec<String> = rc
        .change
        .replace_paths
        .iter()
        .map(|p| {
            p.iter()
                .map(|s| match s {
                    serde_json::Value::String(s) => s.clone(),
                    other => format!("[{other}]"),
                })
                .collect::<Vec<_>>()
                .join(".")
                .replace(".[", "[")
        })
        .collect();
    let why = if effect == Effect::Replace && !paths.is_empty() {
        Some(format!("forced by {}", paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")))
    } else {
        rc.action_reason.as_ref().map(|r| r.replace('_', " "))
    };
    Entry { address: rc.address.clone(), kind: rc.kind.clone(), effect, actions: rc.change.actions_text(), why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        let rc = |address: &str, kind: &str, actions: &[&str], extra: serde_json::Value| {
            let mut v = json!({"address": address, "mode": "managed", "type": kind, "name": "x",
                "change": {"actions": actions, "before": {}, "after": {}}});
            for (k, x) in extra.as_object().into_iter().flatten() {
                v["change"][k] = x.clone();
            }
            v
        };
        serde_json::from_value(json!({"applyable": true, "resource_changes": [
            rc("aws_vpc.a", "aws_vpc", &["create"], json!({})),
            rc("aws_db_instance.main", "aws_db_instance", &["delete", "create"], json!({"replace_paths": [["engine"], ["storage", 0]]})),
            rc("aws_instance.web", "aws_instance", &["create", "delete"], json!({})),
            rc("aws_s3_bucket.logs", "aws_s3_bucket", &["delete"], json!({})),
            rc("aws_iam_role.r", "aws_iam_role", &["update"], json!({})),
            rc("aws_iam_role.same", "aws_iam_role", &["no-op"], json!({})),
            {"address": "data.aws_iam_policy_document.d", "mode": "data", "type": "aws_iam_policy_document", "name": "d", "change": {"actions": ["read"]}}
        ], "output_changes": {"a": {"actions": ["update"]}, "b": {"actions": ["no-op"]}}}))
        .unwrap()
    }

    #[test]
    fn counts_are_terraforms_and_replacements_are_told_apart() {
        let s = PlanSummary::of(&plan());
        assert_eq!(s.line(), "3 to add, 1 to change, 3 to destroy");
        assert_eq!(s.replace, 2);
        let losses: Vec<&str> = s.data_losses().iter().map(|e| e.address.as_str()).collect();
        assert_eq!(losses, ["aws_db_instance.main", "aws_s3_bucket.logs"]);
        assert_eq!(s.outputs, ["a"]);
    }

    #[test]
    fn the_markdown_lists_data_losses_first_by_address() {
        let md = PlanSummary::of(&plan()).markdown("Plan `dev`", &["commit `abc`".into()]);
        let data = md.find("Data resources replaced or destroyed (2)").expect(&md);
        let db = md.find("`aws_db_instance.main` (delete+create) — forced by `engine`, `storage[0]`").expect(&md);
        let replaced = md.find("Replaced (1)").expect(&md);
        assert!(data < db && db < replaced, "{md}");
        assert!(
            md.starts_with("### Plan `dev`: 3 to add, 1 to change, 3 to destroy (2 replaced)\n\n- commit `abc`\n"),
            "{md}"
        );
        assert!(md.contains("`aws_instance.web` (create+delete)") && md.contains("Changed (1)"), "{md}");
        assert!(!md.contains("aws_iam_role.same") && !md.contains("policy_document"), "{md}");
    }
}
