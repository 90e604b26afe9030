//! Which attributes a change touches: every path (`tags.Team`, `scaling_config[0].min_size`) whose value
//! differs between `before` and `after`, with both values as short text — `(sensitive value)` where
//! either side is marked sensitive, so a drift report never shows one.

use serde_json::Value;

use super::model::Change;
use super::sensitive::MASK;

/// One changed attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrChange {
    pub path: String,
    /// `None` when the attribute is absent on that side.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Values longer than this are cut (policies, user data): the path says where to look.
const SHOWN: usize = 80;

impl Change {
    /// The attributes whose values differ between `before` and `after`, in path order.
    pub fn changed_paths(&self) -> Vec<AttrChange> {
        let mut out = Vec::new();
        walk(
            String::new(),
            Side { value: Some(&self.before), sensitive: &self.before_sensitive },
            Side { value: Some(&self.after), sensitive: &self.after_sensitive },
            &mut out,
        );
        out
    }
}

#[derive(Clone, Copy)]
struct Side<'a> {
    value: Option<&'a Value>,
    sensitive: &'a Value,
}

static FALSE: Value = Value::Bool(false);

impl<'a> Side<'a> {
    fn key(self, key: &str) -> Side<'a> {
        Side {
            value: self.value.and_then(|v| v.get(key)),
            sensitive: match self.sensitive {
                Value::Bool(true) => self.sensitive,
                s => s.get(key).unwrap_or(&FALSE),
            },
        }
    }
    fn item(self, i: usize) -> Side<'a> {
        Side {
            value: self.value.and_then(|v| v.get(i)),
            sensitive: match self.sensitive {
                Value::Bool(true) => self.sensitive,
                s => s.get(i).unwrap_or(&FALSE),
            },
        }
    }
    fn shown(self) -> Option<String> {
        let v = self.value.filter(|v| !v.is_null())?;
        if self.sensitive == &Value::Bool(true) {
            return Some(MASK.into());
        }
        let text = match v {
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            other => other.to_string(),
        };
        Some(if text.chars().count() > SHOWN {
            format!("{}…", text.chars().take(SHOWN).collect::<String>())
        } else {
            text
        })
    }
}

/// Absent, null, `""`, `[]` and `{}` are one "nothing": providers read an unset argument back as an
/// empty collection, which no one changed.
fn empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

fn walk(path: String, before: Side, after: Side, out: &mut Vec<AttrChange>) {
    if before.value == after.value || (empty(before.value) && empty(after.value)) {
        return;
    }
    match (before.value, after.value) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(join(&path, k), before.key(k), after.key(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(format!("{path}[{i}]"), before.item(i), after.item(i), out);
            }
        }
        _ => out.push(AttrChange {
            path: if path.is_empty() { "(the whole object)".into() } else { path },
            before: before.shown(),
            after: after.shown(),
        }),
    }
}

fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", serde_json::to_string(key).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(before: Value, after: Value, sensitive: Value) -> Change {
        Change { before, after, before_sensitive: sensitive.clone(), after_sensitive: sensitive, ..Change::default() }
    }

    #[test]
    fn every_changed_leaf_is_named_by_its_path() {
        let c = change(
            json!({"tags": {"Name": "vpc"}, "scaling_config": [{"min_size": 1, "desired_size": 2}], "arn": "a"}),
            json!({"tags": {"Name": "vpc", "Drift": "yes"}, "scaling_config": [{"min_size": 0, "desired_size": 0}], "arn": "a"}),
            json!({}),
        );
        let paths: Vec<String> =
            c.changed_paths().iter().map(|a| format!("{}: {:?} → {:?}", a.path, a.before, a.after)).collect();
        assert_eq!(
            paths,
            [
                "scaling_config[0].desired_size: Some(\"2\") → Some(\"0\")",
                "scaling_config[0].min_size: Some(\"1\") → Some(\"0\")",
                "tags.Drift: None → Some(\"\\\"yes\\\"\")",
            ]
        );
    }

    #[test]
    fn sensitive_values_are_never_shown() {
        let c = change(json!({"value": "old-secret"}), json!({"value": "new-secret"}), json!({"value": true}));
        let changed = c.changed_paths();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].before.as_deref(), Some(MASK));
        assert_eq!(changed[0].after.as_deref(), Some(MASK));
        let odd = change(json!({"tags": {"a.b": "1"}}), json!({"tags": {"a.b": "2"}}), json!(false));
        assert_eq!(odd.changed_paths()[0].path, "tags[\"a.b\"]");
        let unset =
            change(json!({"actions": null, "ips": [], "name": ""}), json!({"actions": [], "ips": null}), json!({}));
        assert!(unset.changed_paths().is_empty(), "null, absent, empty: nothing changed");
    }
}
