//! terraform's plan JSON (`terraform show -json` of a saved plan), typed: the one model every reader
//! uses — the plan summary and its markdown, the gates, the cost estimate and diff, drift, and the
//! contracts. `model` holds the document's types, `config` the configuration and its expressions,
//! `sensitive` the masking of what terraform marks sensitive, `diff` the attribute paths a change
//! touches, `summary` what a plan does as people read it.

mod config;
mod diff;
mod model;
mod schema;
mod sensitive;
mod summary;

use std::path::Path;

use anyhow::{Context as _, Result};

pub use config::{ConfigModule, ConfigResource, Configuration, Expr};
pub use diff::AttrChange;
pub use model::{Action, Effect, ModuleValues, Plan, ResourceChange, State};
pub use schema::Schemas;
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

    /// The configuration of a resource change: its block in its module (instance keys ignored).
    pub fn config_of(&self, rc: &ResourceChange) -> Option<&ConfigResource> {
        let mut module = &self.configuration.as_ref()?.root_module;
        let path = without_keys(rc.module_address.as_deref().unwrap_or_default());
        let mut parts = path.split('.');
        while let (Some("module"), Some(call)) = (parts.next(), parts.next()) {
            module = &module.module_calls.get(call)?.module;
        }
        let mode = if rc.managed() { "" } else { "data." };
        let address = format!("{mode}{}.{}", rc.kind, rc.name);
        module.resources.iter().find(|r| r.address == address)
    }

    /// A root variable's planned value, when it is a string.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).and_then(|v| v.value.as_str())
    }
}

/// `module.a["x.y"].module.b[0]` → `module.a.module.b`: an address without its instance keys.
pub fn without_keys(address: &str) -> String {
    let (mut out, mut depth, mut quoted) = (String::with_capacity(address.len()), 0, false);
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
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

    #[test]
    fn a_change_finds_its_configuration_through_keyed_modules() {
        let plan = Plan::parse(
            r#"{"resource_changes":[{"address":"module.stack.module.net[\"a.b\"].aws_vpc.main","module_address":"module.stack.module.net[\"a.b\"]",
                "mode":"managed","type":"aws_vpc","name":"main","change":{"actions":["update"]}}],
               "configuration":{"root_module":{"module_calls":{"stack":{"module":{"module_calls":{"net":{"module":{"resources":[
                 {"address":"aws_vpc.main","mode":"managed","type":"aws_vpc","name":"main","expressions":{"tags":{"constant_value":{"Name":"x"}}}}]}}}}}}}}}"#,
        )
        .unwrap();
        let config = plan.config_of(&plan.changes()[0]).expect("found");
        assert!(config.expressions.contains_key("tags"));
    }
}
