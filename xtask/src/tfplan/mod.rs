//! terraform's plan JSON (`terraform show -json` of a saved plan), typed: the one model every reader
//! uses — the plan summary and its markdown, the gates, the cost estimate and diff, drift, and the
//! contracts. `model` holds the document's types, `config` the configuration and its expressions,
//! `sensitive` the masking of what terraform marks sensitive, `diff` the attribute paths a change
//! touches, `summary` what a plan does as people read it.

mod config;
mod diff;
mod model;
mod sensitive;
mod summary;

use std::path::Path;

use anyhow::{Context as _, Result};

pub use config::{ConfigModule, ConfigResource, Configuration, Expr};
pub use diff::AttrChange;
pub use model::{Effect, ModuleValues, Plan, ResourceChange, State};
pub use summary::{PlanSummary, DATA_RESOURCES};

use crate::error::usage;

impl Plan {
    /// A plan from `terraform show -json`'s text.
    pub fn parse(text: &str) -> Result<Plan> {
        serde_json::from_str(text).context("the plan is not terraform's JSON")
    }

    /// A plan JSON file; an unreadable or malformed one is bad input (exit 2), naming the file and line.
    pub fn read(path: &Path) -> Result<Plan> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read the plan {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            usage(format!(
                "{}:{}: not a terraform plan JSON (`terraform show -json` of a saved plan): {e}",
                path.display(),
                e.line()
            ))
        })
    }

    /// The planned resource changes (none when the document has none).
    pub fn changes(&self) -> &[ResourceChange] {
        self.resource_changes.as_deref().unwrap_or_default()
    }

    /// The plan as JSON with every sensitive value masked: what the xtask writes to disk.
    pub fn masked_json(mut self) -> String {
        self.mask();
        serde_json::to_string(&self).expect("a plan serializes")
    }

    /// A root variable's planned value, when it is a string.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).and_then(|v| v.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_plan_reads_with_defaults() {
        let plan = Plan::parse(r#"{"applyable":true,"resource_changes":[{"address":"aws_vpc.main","mode":"managed","type":"aws_vpc","change":{"actions":["create"]}}]}"#).unwrap();
        assert_eq!(plan.changes().len(), 1);
        assert_eq!(plan.changes()[0].change.effect(), Effect::Create);
        assert!(!plan.errored);
        let state = Plan::parse(r#"{"version": 4, "resources": []}"#).unwrap();
        assert!(state.resource_changes.is_none(), "a state is not a plan");
    }
}
