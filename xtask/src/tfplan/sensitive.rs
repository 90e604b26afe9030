//! Sensitive values. `terraform show -json` prints them in clear and marks them only beside the value:
//! `before_sensitive`/`after_sensitive` of a change, `sensitive_values` of a resource in a state, the
//! `sensitive` flag of an output and of a variable in the configuration. [`Plan::mask`] replaces each
//! such value with [`MASK`], so what the xtask writes (the plan JSON CI uploads, the summary, the drift
//! report) holds none of them; [`Plan::register_secrets`] also hands them to the redactor for anything
//! printed while the plan is in memory.

use serde_json::Value;

use super::config::ConfigModule;
use super::model::{Change, ModuleValues, Plan, ResourceChange, Values};

/// What a sensitive value is replaced with (terraform's own words in its human output).
pub const MASK: &str = "(sensitive value)";

/// `value` with every part that `sensitive` marks `true` replaced by [`MASK`]. `sensitive` mirrors the
/// value's shape: `true` (all of it), an object or array of the same, or `false`/absent (none of it).
pub fn mask_value(value: &mut Value, sensitive: &Value) {
    match (value, sensitive) {
        (v, Value::Bool(true)) if !v.is_null() => *v = Value::String(MASK.into()),
        (Value::Object(map), Value::Object(marks)) => {
            for (key, mark) in marks {
                if let Some(v) = map.get_mut(key) {
                    mask_value(v, mark);
                }
            }
        }
        (Value::Array(items), Value::Array(marks)) => {
            for (v, mark) in items.iter_mut().zip(marks) {
                mask_value(v, mark);
            }
        }
        _ => {}
    }
}

/// Every sensitive leaf of `value` (strings, and numbers as text), for the redactor.
fn sensitive_texts(value: &Value, sensitive: &Value, out: &mut Vec<String>) {
    match (value, sensitive) {
        (v, Value::Bool(true)) => leaves(v, out),
        (Value::Object(map), Value::Object(marks)) => {
            for (key, mark) in marks {
                if let Some(v) = map.get(key) {
                    sensitive_texts(v, mark, out);
                }
            }
        }
        (Value::Array(items), Value::Array(marks)) => {
            for (v, mark) in items.iter().zip(marks) {
                sensitive_texts(v, mark, out);
            }
        }
        _ => {}
    }
}

fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
        Value::Object(o) => o.values().for_each(|v| leaves(v, out)),
        _ => {}
    }
}

impl Change {
    fn mask(&mut self) {
        mask_value(&mut self.before, &self.before_sensitive);
        mask_value(&mut self.after, &self.after_sensitive);
    }

    fn secrets(&self, out: &mut Vec<String>) {
        sensitive_texts(&self.before, &self.before_sensitive, out);
        sensitive_texts(&self.after, &self.after_sensitive, out);
    }
}

impl ModuleValues {
    fn mask(&mut self) {
        for r in &mut self.resources {
            mask_value(&mut r.values, &r.sensitive_values);
        }
        self.child_modules.iter_mut().for_each(ModuleValues::mask);
    }
}

impl ConfigModule {
    /// A `sensitive` variable's default is written in clear in the configuration.
    fn mask_defaults(&mut self) {
        for v in self.variables.values_mut().filter(|v| v.sensitive) {
            if let Some(d) = &mut v.default {
                mask_value(d, &Value::Bool(true));
            }
        }
        self.module_calls.values_mut().for_each(|c| c.module.mask_defaults());
    }
}

impl Values {
    fn mask(&mut self) {
        for output in self.outputs.values_mut().filter(|o| o.sensitive) {
            mask_value(&mut output.value, &Value::Bool(true));
        }
        self.root_module.mask();
    }
}

impl Plan {
    /// Replaces every value terraform marks sensitive with [`MASK`]: in resource changes and drift,
    /// output changes, planned values, the prior state, and the root variables declared `sensitive`.
    pub fn mask(&mut self) {
        let changes = self.resource_changes.iter_mut().flatten().chain(self.resource_drift.iter_mut());
        changes.for_each(|rc: &mut ResourceChange| rc.change.mask());
        self.output_changes.values_mut().for_each(Change::mask);
        if let Some(v) = &mut self.planned_values {
            v.mask();
        }
        if let Some(v) = self.prior_state.as_mut().and_then(|s| s.values.as_mut()) {
            v.mask();
        }
        for name in self.sensitive_variables() {
            if let Some(v) = self.variables.get_mut(&name) {
                mask_value(&mut v.value, &Value::Bool(true));
            }
        }
        if let Some(config) = &mut self.configuration {
            config.root_module.mask_defaults();
        }
    }

    /// The root module's variables declared `sensitive = true`.
    fn sensitive_variables(&self) -> Vec<String> {
        let Some(config) = &self.configuration else { return Vec::new() };
        config.root_module.variables.iter().filter(|(_, v)| v.sensitive).map(|(k, _)| k.clone()).collect()
    }

    /// Registers every sensitive value of the plan with the redactor (call before [`Plan::mask`]).
    pub fn register_secrets(&self) {
        let mut out = Vec::new();
        for rc in self.resource_changes.iter().flatten().chain(&self.resource_drift) {
            rc.change.secrets(&mut out);
        }
        self.output_changes.values().for_each(|c| c.secrets(&mut out));
        for name in self.sensitive_variables() {
            if let Some(v) = self.variables.get(&name) {
                leaves(&v.value, &mut out);
            }
        }
        for secret in out {
            crate::redact::add(&secret);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marked_values_are_masked_at_every_depth_and_nothing_else() {
        let mut v = json!({"name": "db", "password": "hunter2hunter2", "tags": {"a": "1", "b": "s3cret-tag"}, "list": ["x", "y"]});
        mask_value(&mut v, &json!({"password": true, "tags": {"b": true}, "list": [false, true]}));
        assert_eq!(v, json!({"name": "db", "password": MASK, "tags": {"a": "1", "b": MASK}, "list": ["x", MASK]}));
        let mut whole = json!({"a": 1});
        mask_value(&mut whole, &json!(true));
        assert_eq!(whole, json!(MASK));
        let mut absent = json!({"a": 1});
        mask_value(&mut absent, &json!(false));
        assert_eq!(absent, json!({"a": 1}));
    }

    #[test]
    fn a_plan_loses_every_sensitive_value_and_keeps_the_rest() {
        let text = json!({
            "format_version": "1.2",
            "variables": {"db_password": {"value": "var-secret-1"}, "region": {"value": "us-east-1"}},
            "resource_changes": [{"address": "aws_db_instance.x", "mode": "managed", "type": "aws_db_instance", "name": "x",
                "change": {"actions": ["update"], "before": {"password": "old-secret-2", "port": 5432},
                           "after": {"password": "new-secret-3", "port": 5432},
                           "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}}],
            "resource_drift": [{"address": "aws_ssm_parameter.p", "mode": "managed", "type": "aws_ssm_parameter", "name": "p",
                "change": {"actions": ["update"], "before": {"value": "drift-secret-4"}, "after": {"value": "drift-secret-5"},
                           "before_sensitive": {"value": true}, "after_sensitive": {"value": true}}}],
            "output_changes": {"token": {"actions": ["create"], "before": null, "after": "out-secret-6", "after_sensitive": true}},
            "planned_values": {"outputs": {"token": {"sensitive": true, "value": "out-secret-6"}},
                "root_module": {"child_modules": [{"resources": [{"address": "aws_db_instance.x", "values": {"password": "new-secret-3"},
                    "sensitive_values": {"password": true}}]}]}},
            "prior_state": {"values": {"root_module": {"resources": [{"address": "aws_db_instance.x",
                "values": {"password": "old-secret-2"}, "sensitive_values": {"password": true}}]}}},
            "configuration": {"root_module": {"variables": {"db_password": {"sensitive": true, "default": "default-secret-7"}, "region": {}}}},
            "future_field": {"kept": true},
            "applyable": true
        })
        .to_string();
        let mut plan: Plan = serde_json::from_str(&text).unwrap();
        plan.mask();
        let out = serde_json::to_string(&plan).unwrap();
        for n in 1..=7 {
            assert!(!out.contains(&format!("secret-{n}")), "secret-{n} left in {out}");
        }
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["variables"]["region"]["value"], "us-east-1");
        assert_eq!(back["resource_changes"][0]["change"]["after"]["port"], 5432);
        assert_eq!(back["future_field"], json!({"kept": true}), "fields the model does not name are kept");
    }
}
