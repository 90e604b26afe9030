//! The serde types of terraform's JSON plan representation (`terraform show -json <saved plan>`,
//! format 1.x): <https://developer.hashicorp.com/terraform/internals/json-format>. Resource attribute
//! values stay `serde_json::Value` (their shape is each provider schema's); everything around them is
//! typed. Fields this crate does not read are kept in `rest`, so a plan written back (masked) is the
//! plan terraform showed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::Configuration;

/// A saved plan, as `terraform show -json` prints it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform_version: Option<String>,
    /// The root module's input variables as planned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Variable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_values: Option<Values>,
    /// What changed outside terraform since the last run (a refresh-only plan's whole content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_drift: Vec<ResourceChange>,
    /// `None` when the document has no `resource_changes` at all: then it is not a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_changes: Option<Vec<ResourceChange>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output_changes: BTreeMap<String, Change>,
    /// The state the plan was made against (values only: no lineage or serial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_state: Option<State>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// False when the plan changes nothing. Older terraform omits it: then it is taken as applyable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applyable: Option<bool>,
    /// True when planning stopped at an error: such a plan can't be applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub errored: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Variable {
    #[serde(default)]
    pub value: Value,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One resource instance's planned change (or, in `resource_drift`, the change found outside terraform).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceChange {
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_address: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    /// The `count` index (a number) or `for_each` key (a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub change: Change,
    /// Why terraform chose the actions (`replace_because_tainted`, `delete_because_no_resource_config`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Managed,
    Data,
}

/// A change of a value (a resource's attributes, or an output): before and after, what is unknown
/// until apply, and what is sensitive — in the `*_sensitive` trees (`true` at a path), which terraform
/// writes next to values it leaves in clear.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub before: Value,
    #[serde(default)]
    pub after: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub after_unknown: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub before_sensitive: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub after_sensitive: Value,
    /// The attribute paths whose change forces the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<Vec<Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    Forget,
    /// An action a newer terraform added: read as "something happens".
    #[serde(other)]
    Other,
}

/// What a resource change amounts to, as a person reads a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// Deleted and created again (either order).
    Replace,
    Delete,
    Update,
    Create,
    Read,
    Forget,
    NoOp,
}

impl Change {
    pub fn effect(&self) -> Effect {
        let has = |a: Action| self.has(a);
        match (has(Action::Create), has(Action::Delete)) {
            (true, true) => Effect::Replace,
            (false, true) => Effect::Delete,
            (true, false) => Effect::Create,
            _ if has(Action::Update) || has(Action::Other) => Effect::Update,
            _ if has(Action::Read) => Effect::Read,
            _ if has(Action::Forget) => Effect::Forget,
            _ => Effect::NoOp,
        }
    }

    /// `delete+create`, as terraform orders them.
    pub fn actions_text(&self) -> String {
        let name = |a: &Action| match a {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Forget => "forget",
            Action::Other => "other",
        };
        self.actions.iter().map(name).collect::<Vec<_>>().join("+")
    }

    /// The actions include `action` (`create` is in a replacement's too).
    pub fn has(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Only deletions (nothing of the resource is left after apply).
    pub fn deletes_only(&self) -> bool {
        !self.actions.is_empty() && self.actions.iter().all(|a| *a == Action::Delete)
    }
}

impl ResourceChange {
    pub fn managed(&self) -> bool {
        self.mode == Mode::Managed
    }

    /// The `for_each` key or `count` index as text.
    pub fn index_text(&self) -> Option<String> {
        match &self.index {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    }
}

/// `planned_values` and a state's `values`: outputs and the module tree of resources.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Values {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, OutputValue>,
    #[serde(default)]
    pub root_module: ModuleValues,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutputValue {
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModuleValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceValues>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub child_modules: Vec<ModuleValues>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceValues {
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub values: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub sensitive_values: Value,
    /// In a state: made, but not finished (the next apply replaces it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `prior_state`, and `terraform show -json` of a state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Values>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ModuleValues {
    /// Every resource of this module and its children.
    pub fn all(&self) -> Vec<&ResourceValues> {
        let mut out: Vec<&ResourceValues> = self.resources.iter().collect();
        for child in &self.child_modules {
            out.extend(child.all());
        }
        out
    }
}
