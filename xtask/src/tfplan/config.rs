//! The plan's `configuration`: the module tree as written (resources, module calls, outputs, variables)
//! with each argument's expression — its constant value or the references it makes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Configuration {
    #[serde(default)]
    pub root_module: ConfigModule,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigModule {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, ConfigOutput>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ConfigResource>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub module_calls: BTreeMap<String, ModuleCall>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, ConfigVariable>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigResource {
    /// The address inside its module: `aws_iam_role.controller`, `data.aws_iam_policy_document.trust`.
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    /// `aws`, `aws.dr`, or `<module>:aws.dr` for a provider passed into a module.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider_config_key: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expressions: BTreeMap<String, Expr>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModuleCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What the call passes for each of the module's variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expressions: BTreeMap<String, Expr>,
    #[serde(default)]
    pub module: ConfigModule,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<Expr>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigVariable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An argument's expression: a leaf (`{"constant_value": …}` or `{"references": […]}`), a nested block
/// (an object of its arguments' expressions), or a list of such blocks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expr {
    Leaf(Leaf),
    Blocks(Vec<BTreeMap<String, Expr>>),
    Block(BTreeMap<String, Expr>),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant_value: Option<Value>,
}

impl Expr {
    /// Every reference in the expression and its nested blocks, as terraform lists them
    /// (`data.aws_iam_policy_document.trust["x"].json`, `data.aws_iam_policy_document.trust["x"]`, …).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Expr::Leaf(leaf) => out.extend(leaf.references.iter().cloned()),
            Expr::Blocks(blocks) => blocks.iter().flat_map(|b| b.values()).for_each(|e| e.collect(out)),
            Expr::Block(block) => block.values().for_each(|e| e.collect(out)),
        }
    }
}

impl ConfigModule {
    /// The references of one argument of a module call (`None` when the call passes nothing for it).
    pub fn call_argument(&self, call: &str, argument: &str) -> Vec<String> {
        self.module_calls.get(call).and_then(|c| c.expressions.get(argument)).map(Expr::references).unwrap_or_default()
    }
}

impl ConfigResource {
    pub fn argument(&self, name: &str) -> Vec<String> {
        self.expressions.get(name).map(Expr::references).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_leaves_and_nested_blocks() {
        let text = r#"{"statement": [{"principals": [{"identifiers": {"references": ["aws_iam_role.a.arn", "aws_iam_role.a"]}}],
                       "effect": {"constant_value": "Allow"}}], "json": {"references": ["local.x"]}, "empty": {}}"#;
        let block: BTreeMap<String, Expr> = serde_json::from_str(text).unwrap();
        let mut refs: Vec<String> = block.values().flat_map(Expr::references).collect();
        refs.sort();
        assert_eq!(refs, ["aws_iam_role.a", "aws_iam_role.a.arn", "local.x"]);
        assert!(matches!(block["statement"], Expr::Blocks(_)), "{:?}", block["statement"]);
    }
}
