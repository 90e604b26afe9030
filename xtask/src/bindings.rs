//! Deploy-time bindings: overlay files may say `${terraform:NAME}` or `${terraform:NAME.KEY}` (KEY
//! selects an entry of the map output NAME of the `stack` output), and `deploy` replaces each in the
//! rendered overlay from the recorded terraform outputs before it applies it. A binding that names
//! no output (or no key) is one error naming the object it is in and the output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::target::Outputs;

const OPEN: &str = "${terraform:";

/// One `${terraform:…}` in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The whole reference as written, `${terraform:db_secret_names.user-service}`.
    pub text: String,
    pub name: String,
    pub key: Option<String>,
}

impl Binding {
    /// `db_secret_names.user-service`
    pub fn target(&self) -> String {
        match &self.key {
            Some(k) => format!("{}.{k}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What an environment running another's overlay (dr runs production's) must not find spelled out in it:
/// the owner's resource-name prefix (`<project>-<owner>-`), and its region and account where the
/// runner's differ. The runner's own come only through bindings. `(literal, what it is)` for each word
/// of `text` outside YAML comments.
pub fn foreign_literals(
    text: &str,
    project: &str,
    owner: &crate::config::Environment,
    runner: &crate::config::Environment,
) -> Vec<(usize, String, &'static str)> {
    let mut words = vec![(format!("{project}-{}-", owner.name), "its resources' name prefix")];
    if owner.region != runner.region {
        words.push((owner.region.clone(), "its region"));
    }
    if owner.account_id != runner.account_id {
        words.push((owner.account_id.clone(), "its account"));
    }
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        // A comment: `#` at the line's start or after a space.
        let code = match line.find('#').filter(|&i| i == 0 || line[..i].ends_with([' ', '\t'])) {
            Some(i) => &line[..i],
            None => line,
        };
        for (word, what) in &words {
            for (i, _) in code.match_indices(word.as_str()) {
                found.push((offset + i, word.clone(), *what));
            }
        }
        offset += line.len();
    }
    found.sort();
    found
}

/// Every binding in `text`, in order.
pub fn references(text: &str) -> Vec<Binding> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        let (name, key) = match inner.split_once('.') {
            Some((n, k)) => (n.to_string(), Some(k.to_string())),
            None => (inner.to_string(), None),
        };
        out.push(Binding { text: format!("{OPEN}{inner}}}"), name, key });
        rest = &after[end + 1..];
    }
    out
}

/// What the recorded outputs say of one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Value(String),
    /// The output exists and is null (what sets it is switched off in the environment).
    Null,
    /// No such output or key: why, in words.
    Missing(String),
}

/// Looks a binding up in `terraform output -json` of an environment root (each root exports the
/// stack's outputs as one object, `stack`).
pub fn lookup(outputs: &Outputs, name: &str, key: Option<&str>) -> Lookup {
    let value = match (outputs.root(name), outputs.in_stack(name)) {
        (Some(top), _) => top,
        (None, Some(v)) => v,
        (None, None) => return Lookup::Missing(format!("terraform has no output `{name}`")),
    };
    let value = match key {
        None => value,
        Some(k) => match value {
            Value::Null => return Lookup::Null,
            Value::Object(map) => match map.get(k) {
                Some(v) => v,
                None => {
                    let keys: BTreeSet<&String> = map.keys().collect();
                    let keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
                    return Lookup::Missing(format!(
                        "terraform output `{name}` has no key `{k}` (it has: {})",
                        keys.join(", ")
                    ));
                }
            },
            _ => return Lookup::Missing(format!("terraform output `{name}` is not a map, so `.{k}` selects nothing")),
        },
    };
    match value {
        Value::Null => Lookup::Null,
        Value::String(s) => Lookup::Value(s.clone()),
        other => Lookup::Value(other.to_string()),
    }
}

/// `Kind namespace/name` of the YAML document a render's line belongs to.
fn object_of(doc: &str) -> String {
    serde_norway::from_str::<serde_norway::Value>(doc)
        .ok()
        .map(|v| crate::k8s::object_name(&v))
        .unwrap_or_else(|| "a document".into())
}

/// The render with every binding replaced by `resolve`'s answer (`Err` is the reason it has none);
/// the first binding without one is the error, naming its object and the output.
pub fn bind(render: &str, resolve: &mut dyn FnMut(&Binding) -> std::result::Result<String, String>) -> Result<String> {
    let mut out = String::with_capacity(render.len());
    for (i, doc) in render.split("\n---\n").enumerate() {
        if i > 0 {
            out.push_str("\n---\n");
        }
        let mut bound = doc.to_string();
        for b in references(doc) {
            match resolve(&b) {
                Ok(value) => bound = bound.replace(&b.text, &value),
                Err(why) => bail!("{}: {} can't be bound: {why}", object_of(doc), b.text),
            }
        }
        out.push_str(&bound);
    }
    Ok(out)
}

/// `yaml` with every binding replaced from the outputs `deploy` recorded at `outputs` (environment
/// `env`); with `stand_ins` (the emulator) an output that is null there gets a marked stand-in, and
/// the outputs that did are returned.
pub fn bind_outputs(yaml: &str, outputs: &Path, env: &str, stand_ins: bool) -> Result<(String, Vec<String>)> {
    if references(yaml).is_empty() {
        return Ok((yaml.to_string(), Vec::new()));
    }
    let recorded = Outputs::read(outputs)?;
    let mut stood_in = Vec::new();
    let bound = bind(yaml, &mut |b| match lookup(&recorded, &b.name, b.key.as_deref()) {
        Lookup::Value(v) => Ok(v),
        Lookup::Null if stand_ins => {
            if !stood_in.contains(&b.target()) {
                stood_in.push(b.target());
            }
            Ok(stand_in(b))
        }
        Lookup::Null => Err(format!(
            "terraform output `{}` is null in `{env}` (what sets it is switched off in {})",
            b.name,
            crate::env_files::shown_main_tf(env)
        )),
        Lookup::Missing(why) => Err(format!("{why} (see {})", outputs.display())),
    })?;
    Ok((bound, stood_in))
}

/// `yaml` bound from the recorded outputs (no stand-ins: a real cluster).
pub fn bound(yaml: &str, outputs: &Path, env: &str) -> Result<String> {
    Ok(bind_outputs(yaml, outputs, env, false)?.0)
}

/// Each binding `yaml` names (`db_secret_names.user-service`) with its value from the recorded
/// outputs; the same errors as [`bound`].
pub fn resolved(yaml: &str, outputs: &Path, env: &str) -> Result<BTreeMap<String, String>> {
    // The same errors as binding it: an output missing or null is named with its object.
    bound(yaml, outputs, env)?;
    let recorded = Outputs::read(outputs)?;
    let mut values = BTreeMap::new();
    for b in references(yaml) {
        if let Lookup::Value(v) = lookup(&recorded, &b.name, b.key.as_deref()) {
            values.insert(b.target(), v);
        }
    }
    Ok(values)
}

/// Whether a reference is one `deploy` binds in a Helm values file: an output name (lower case,
/// digits, `_`) and an optional key. A values file may also carry text that only looks like one —
/// Argo CD's terraform-bindings plugin script writes `${terraform:%s}` — which is left as it is.
pub fn is_output_reference(b: &Binding) -> bool {
    let name = !b.name.is_empty() && b.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let key = b
        .key
        .as_deref()
        .is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)));
    name && key
}

/// A Helm values file's text with each output reference ([`is_output_reference`]) replaced from the
/// outputs `deploy` recorded at `outputs` (environment `env`); an output missing or null is the error,
/// naming the file — with `stand_ins` (the emulator) a null one gets a marked stand-in, and the outputs
/// that did are returned.
pub fn bind_values(
    text: &str,
    file: &Path,
    outputs: &Path,
    env: &str,
    stand_ins: bool,
) -> Result<(String, Vec<String>)> {
    let refs: Vec<Binding> = references(text).into_iter().filter(is_output_reference).collect();
    if refs.is_empty() {
        return Ok((text.to_string(), Vec::new()));
    }
    let recorded = Outputs::read(outputs)?;
    let mut bound = text.to_string();
    let mut stood_in = Vec::new();
    for b in refs {
        let value = match lookup(&recorded, &b.name, b.key.as_deref()) {
            Lookup::Value(v) => v,
            Lookup::Null if stand_ins => {
                if !stood_in.contains(&b.target()) {
                    stood_in.push(b.target());
                }
                stand_in(&b)
            }
            Lookup::Null => bail!(
                "{}: {} can't be bound: terraform output `{}` is null in `{env}` (what sets it is switched off in {})",
                file.display(),
                b.text,
                b.name,
                crate::env_files::shown_main_tf(env)
            ),
            Lookup::Missing(why) => {
                bail!("{}: {} can't be bound: {why} (see {})", file.display(), b.text, outputs.display())
            }
        };
        bound = bound.replace(&b.text, &value);
    }
    Ok((bound, stood_in))
}

/// What `local` puts where an output is null because the emulator leaves its resource out.
pub fn stand_in(b: &Binding) -> String {
    format!("xtask-stand-in.{}.emulator-omits.invalid", b.target().replace(['.', '_'], "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_literals_are_the_owner_s_names_region_and_account_outside_comments() {
        let env = |name: &str, account: &str, region: &str| crate::config::Environment {
            name: name.into(),
            account_id: account.into(),
            region: region.into(),
            dr_region: None,
            protected: true,
            emulator: false,
            overlay: "production".into(),
            promote_from: None,
        };
        let (owner, runner) = (env("production", "432109876543", "us-east-1"), env("dr", "432109876543", "us-west-2"));
        let text = "# us-east-1 in a comment\nsg: authorworks-production-alb\nregion: us-east-1 # us-east-1\nacct: 432109876543\nok: ${terraform:region}\n";
        let found: Vec<(String, &str)> =
            foreign_literals(text, "authorworks", &owner, &runner).into_iter().map(|(_, w, what)| (w, what)).collect();
        assert_eq!(
            found,
            [
                ("authorworks-production-".to_string(), "its resources' name prefix"),
                ("us-east-1".to_string(), "its region"),
            ],
            "the account is shared (same account), comments are not read"
        );
        let elsewhere = env("dr", "111122223333", "us-east-1");
        let found: Vec<String> =
            foreign_literals(text, "authorworks", &owner, &elsewhere).into_iter().map(|(_, w, _)| w).collect();
        assert_eq!(found, ["authorworks-production-", "432109876543"]);
    }

    const RENDER: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: media-service\n  namespace: authorworks\n  annotations:\n    eks.amazonaws.com/role-arn: ${terraform:workload_role_arns.media-service}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: platform\ndata:\n  REGION: ${terraform:region}\n  CACHE: ${terraform:cache_endpoint}\n";

    fn outputs() -> Outputs {
        serde_json::from_value(serde_json::json!({"stack": {"value": {
            "region": "us-east-1",
            "cache_endpoint": null,
            "workload_role_arns": {"media-service": "arn:aws:iam::1:role/authorworks-dev-media-service"}
        }}}))
        .unwrap()
    }

    fn resolve_from(outputs: &Outputs) -> impl FnMut(&Binding) -> std::result::Result<String, String> + '_ {
        move |b| match lookup(outputs, &b.name, b.key.as_deref()) {
            Lookup::Value(v) => Ok(v),
            Lookup::Null => Err(format!("terraform output `{}` is null", b.name)),
            Lookup::Missing(why) => Err(why),
        }
    }

    #[test]
    fn references_are_found_with_their_keys() {
        let refs = references(RENDER);
        assert_eq!(refs.len(), 3);
        assert_eq!(refs[0].name, "workload_role_arns");
        assert_eq!(refs[0].key.as_deref(), Some("media-service"));
        assert_eq!(refs[1], Binding { text: "${terraform:region}".into(), name: "region".into(), key: None });
    }

    #[test]
    fn every_binding_is_replaced_from_the_outputs() {
        let json = outputs();
        let mut resolve = resolve_from(&json);
        let mut with_stand_in = |b: &Binding| resolve(b).or_else(|_| Ok(stand_in(b)));
        let bound = bind(RENDER, &mut with_stand_in).unwrap();
        assert!(bound.contains("role-arn: arn:aws:iam::1:role/authorworks-dev-media-service"), "{bound}");
        assert!(bound.contains("REGION: us-east-1"));
        assert!(bound.contains("CACHE: xtask-stand-in.cache-endpoint.emulator-omits.invalid"));
        assert!(!bound.contains("${terraform:"));
        assert_eq!(bound.matches("\n---\n").count(), 1);
    }

    #[test]
    fn a_missing_output_or_key_names_the_object_and_the_output() {
        let json = outputs();
        let err = bind(&RENDER.replace("media-service}", "export-service}"), &mut resolve_from(&json)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ServiceAccount authorworks/media-service: ${terraform:workload_role_arns.export-service} can't be bound: terraform output `workload_role_arns` has no key `export-service` (it has: media-service)"
        );
        let err = bind(RENDER, &mut resolve_from(&json)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap platform: ${terraform:cache_endpoint} can't be bound: terraform output `cache_endpoint` is null"
        );
        let err = bind("kind: X\nmetadata: {name: y}\nv: ${terraform:nope}\n", &mut resolve_from(&json)).unwrap_err();
        assert!(err.to_string().ends_with("terraform has no output `nope`"), "{err}");
    }

    #[test]
    fn a_values_file_binds_output_references_and_leaves_look_alikes() {
        let dir = std::env::temp_dir().join(format!("xtask-bind-values-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let outputs = dir.join("outputs.json");
        std::fs::write(
            &outputs,
            r#"{"stack": {"value": {"registry_host": "1.dkr.ecr.us-east-1.amazonaws.com", "cache_endpoint": null}}}"#,
        )
        .unwrap();
        let file = Path::new("helm-values/x/values.yaml");
        let text = "image:\n  registry: \"${terraform:registry_host}/quay\"\nscript: printf 's|${terraform:%s}|%s|g' # ${terraform:NAME[.KEY]}\n";
        let (bound, stood_in) = bind_values(text, file, &outputs, "dev", false).unwrap();
        assert!(stood_in.is_empty());
        assert_eq!(
            bound,
            "image:\n  registry: \"1.dkr.ecr.us-east-1.amazonaws.com/quay\"\nscript: printf 's|${terraform:%s}|%s|g' # ${terraform:NAME[.KEY]}\n"
        );
        let err =
            bind_values("a: ${terraform:cache_endpoint}\n", file, &outputs, "dev", false).unwrap_err().to_string();
        assert!(err.starts_with("helm-values/x/values.yaml: ${terraform:cache_endpoint} can't be bound: terraform output `cache_endpoint` is null in `dev`"), "{err}");
        let err = bind_values("a: ${terraform:nope}\n", file, &outputs, "dev", true).unwrap_err().to_string();
        assert!(err.contains("terraform has no output `nope`"), "{err}");
        // On the emulator a null output gets the marked stand-in, and is named.
        let (bound, stood_in) = bind_values("a: ${terraform:cache_endpoint}\n", file, &outputs, "local", true).unwrap();
        assert_eq!(bound, "a: xtask-stand-in.cache-endpoint.emulator-omits.invalid\n");
        assert_eq!(stood_in, ["cache_endpoint"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn top_level_outputs_are_read_too() {
        let json = Outputs::parse(r#"{"name_servers": {"value": ["a", "b"]}}"#).unwrap();
        assert_eq!(lookup(&json, "name_servers", None), Lookup::Value("[\"a\",\"b\"]".into()));
    }
}
