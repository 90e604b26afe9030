//! What the provider says about a resource type's attributes (`terraform providers schema -json`),
//! as much as drift needs: which top-level attributes are plain arguments — terraform sets them back
//! when the real value differs, written in the configuration or not — and which the provider computes
//! or other resources fill (a security group's `ingress` when its rules are separate resources, a
//! role's `inline_policy` block, `tags_all`).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Schemas {
    #[serde(default)]
    provider_schemas: BTreeMap<String, Provider>,
}

#[derive(Debug, Default, Deserialize)]
struct Provider {
    #[serde(default)]
    resource_schemas: BTreeMap<String, Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    block: Block,
}

#[derive(Debug, Default, Deserialize)]
struct Block {
    #[serde(default)]
    attributes: BTreeMap<String, Attribute>,
    #[serde(default)]
    block_types: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct Attribute {
    #[serde(default)]
    computed: bool,
}

impl Schemas {
    pub fn parse(text: &str) -> Result<Schemas> {
        serde_json::from_str(text).context("`terraform providers schema -json` did not print provider schemas")
    }

    /// Whether terraform enforces the top-level `name` of a resource type even where the configuration
    /// doesn't write it: a plain (not computed) attribute. `false` for computed attributes and nested
    /// blocks (the provider, or other resources, fill those); `None` when the schema doesn't know it.
    pub fn enforced_when_unset(&self, provider: Option<&str>, kind: &str, name: &str) -> Option<bool> {
        let resource = match provider.and_then(|p| self.provider_schemas.get(p)) {
            Some(p) => p.resource_schemas.get(kind)?,
            None => self.provider_schemas.values().find_map(|p| p.resource_schemas.get(kind))?,
        };
        if let Some(a) = resource.block.attributes.get(name) {
            return Some(!a.computed);
        }
        resource.block.block_types.contains_key(name).then_some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_attributes_and_blocks_are_not_enforced_when_unset() {
        let s = Schemas::parse(
            r#"{"format_version":"1.0","provider_schemas":{"registry.terraform.io/hashicorp/aws":{"resource_schemas":{
                "aws_vpc":{"version":1,"block":{"attributes":{"tags":{"type":["map","string"],"optional":true},
                    "tags_all":{"type":["map","string"],"optional":true,"computed":true}}}},
                "aws_iam_role":{"block":{"attributes":{"name":{"type":"string","required":true}},
                    "block_types":{"inline_policy":{"nesting_mode":"set","block":{}}}}}}}}}"#,
        )
        .unwrap();
        let aws = Some("registry.terraform.io/hashicorp/aws");
        assert_eq!(s.enforced_when_unset(aws, "aws_vpc", "tags"), Some(true));
        assert_eq!(s.enforced_when_unset(aws, "aws_vpc", "tags_all"), Some(false));
        assert_eq!(s.enforced_when_unset(None, "aws_iam_role", "inline_policy"), Some(false));
        assert_eq!(s.enforced_when_unset(aws, "aws_iam_role", "nothing"), None);
    }
}
