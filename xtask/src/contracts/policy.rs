//! Policies as the contracts read them: [`Statement`]s of a policy document (a deferred
//! `aws_iam_policy_document` read, or policy JSON), and what a role's policies refer to — the keys,
//! secrets and buckets named in the documents' configuration, or in the module source of a `locals`
//! entry the plan JSON can't show ([`Plan::local_text`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Plan, Resource};

/// A policy statement with what the plan knows of it (`None`: known only after apply).
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sid: Option<String>,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<Option<String>>,
    /// (type, identifiers): `AWS`, `Service`, `Federated`.
    pub principals: Vec<(String, Vec<Option<String>>)>,
    /// (test, variable, values).
    pub conditions: Vec<(String, Option<String>, Vec<Option<String>>)>,
}

impl Statement {
    /// Whether an allowed action pattern (`kms:*`, `kms:Decrypt`, `kms:GenerateDataKey*`) covers `action`.
    pub fn allows(&self, action: &str) -> bool {
        self.allow && self.actions.iter().any(|a| action_matches(a, action))
    }
}

/// IAM's action wildcard: `*` matches any run of characters, case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == a,
        Some((head, tail)) => {
            a.starts_with(head) && (tail.is_empty() || a.len() >= head.len() + tail.len() && a.ends_with(tail))
        }
    }
}

impl Plan {
    /// The source text of a `locals` entry in a module (`controller_policies`), or of its map entry
    /// `key` — what the plan JSON can't say of a local (it records no locals).
    pub fn local_text(&self, module: &str, name: &str, key: Option<&str>) -> Option<String> {
        let dir = self.module_dir(module);
        let memo_key = format!("local {} {name} {key:?}", dir.display());
        self.memo(memo_key, || Self::read_local(&dir, name, key))
    }

    fn read_local(dir: &std::path::Path, name: &str, key: Option<&str>) -> Option<String> {
        use hcl_edit::expr::{Expression, ObjectKey};
        use hcl_edit::structure::Structure;
        use hcl_edit::Span as _;
        for file in crate::terraform::tf_files(dir) {
            let text = std::fs::read_to_string(&file).ok()?;
            let Ok(body) = hcl_edit::parser::parse_body(&text) else { continue };
            for s in body.iter() {
                let Structure::Block(b) = s else { continue };
                if b.ident.as_str() != "locals" {
                    continue;
                }
                let Some(attr) = b.body.get_attribute(name) else { continue };
                let expr = match (key, &attr.value) {
                    (None, e) => e,
                    (Some(k), Expression::Object(obj)) => {
                        let found = obj.iter().find(|(ok, _)| match ok {
                            ObjectKey::Ident(d) => d.as_str() == k,
                            ObjectKey::Expression(Expression::String(s)) => s.as_str() == k,
                            _ => false,
                        });
                        found?.1.expr()
                    }
                    _ => return None,
                };
                return expr.span().and_then(|r| text.get(r)).map(str::to_string);
            }
        }
        None
    }

    /// The references written in HCL source text: `aws_kms_key.this["sns"].arn`, `var.alert_topic_arn`,
    /// `module.x.y`, `data.aws_x.y`.
    pub fn text_references(text: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let boundary = i == 0 || !(word(bytes[i - 1]) || bytes[i - 1] == b'.');
            let rest = &text[i..];
            let starts = ["aws_", "var.", "module.", "data.aws_", "local."].iter().any(|p| rest.starts_with(p));
            if boundary && starts {
                let mut j = i;
                while j < bytes.len() {
                    match bytes[j] {
                        c if word(c) || c == b'.' => j += 1,
                        b'[' => match text[j..].find(']') {
                            Some(end) => j += end + 1,
                            None => break,
                        },
                        _ => break,
                    }
                }
                let found = text[i..j].trim_end_matches('.').to_string();
                if found.contains('.') {
                    out.push(found);
                }
                i = j.max(i + 1);
            } else {
                i += 1;
            }
        }
        out
    }

    /// The statements of a policy: a deferred `aws_iam_policy_document` read (its known arguments), or
    /// a resource attribute holding policy JSON (`policy`, `assume_role_policy`) when it is known, or
    /// else the document the attribute refers to.
    pub fn statements(&self, r: &Resource, attr: &str) -> Vec<Statement> {
        if r.data && r.kind == "aws_iam_policy_document" {
            return document_statements(r);
        }
        if let Some(text) = r.text(attr) {
            return json_statements(text);
        }
        self.referenced(r, attr)
            .into_iter()
            .filter(|d| d.data && d.kind == "aws_iam_policy_document")
            .flat_map(document_statements)
            .collect()
    }
}

/// One policy of a role and what it refers to.
pub struct Grant<'a> {
    /// The `aws_iam_role_policy` or attached `aws_iam_policy`.
    pub policy: &'a Resource,
    /// Every action it allows (as written: `kms:Decrypt`, `secretsmanager:*`).
    pub actions: Vec<String>,
    /// The resources its documents or source name (keys, secrets, buckets, other documents).
    pub refers: Vec<&'a Resource>,
    /// Resource ARNs as written (known values, or the source text of a `locals` entry: `arn:…`).
    pub patterns: Vec<String>,
}

impl Grant<'_> {
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|a| action_matches(a, action))
    }
}

/// `"kms:Decrypt"`-like strings and `"arn:…"` strings in HCL source text.
fn quoted(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

impl Plan {
    /// The policies of a role (inline, and customer-managed ones attached to it) and what each refers to.
    pub fn grants<'a>(&'a self, role: &Resource) -> Vec<Grant<'a>> {
        let is_role = |list: Vec<&Resource>| list.iter().any(|r| r.address == role.address);
        let names = |r: &Resource, attr: &str| self.attribute_sources(r, attr);
        let mut policies: Vec<&Resource> =
            self.of_type("aws_iam_role_policy").filter(|p| is_role(names(p, "role"))).collect();
        for a in self.of_type("aws_iam_role_policy_attachment").filter(|a| is_role(names(a, "role"))) {
            policies.extend(names(a, "policy_arn").into_iter().filter(|p| p.kind == "aws_iam_policy"));
        }
        policies.into_iter().map(|p| self.grant(p)).collect()
    }

    fn grant<'a>(&'a self, policy: &'a Resource) -> Grant<'a> {
        let mut g = Grant { policy, actions: Vec::new(), refers: Vec::new(), patterns: Vec::new() };
        let add = |g: &mut Grant<'a>, r: &'a Resource| {
            if !g.refers.iter().any(|x| x.address == r.address) {
                g.refers.push(r);
            }
        };
        for s in self.statements(policy, "policy").into_iter().filter(|s| s.allow) {
            g.actions.extend(s.actions);
            g.patterns.extend(s.resources.into_iter().flatten());
        }
        // A `jsonencode` in a `locals` entry: the plan JSON records no locals, the module source does.
        let refs = self.references(policy, "policy");
        let each = refs.iter().any(|r| r == "each.key");
        for local in refs.iter().filter_map(|r| r.strip_prefix("local.")) {
            let name = local.split(['.', '[']).next().unwrap_or(local);
            let Some(text) = self.local_text(&policy.module, name, each.then_some(policy.index.as_deref()).flatten())
            else {
                continue;
            };
            for q in quoted(&text) {
                if q.starts_with("arn:") || q == "*" {
                    g.patterns.push(q);
                } else if q.split_once(':').is_some_and(|(svc, act)| {
                    !svc.is_empty()
                        && svc.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && svc != "aws"
                        && !act.is_empty()
                        && !act.contains(' ')
                }) {
                    g.actions.push(q);
                }
            }
        }
        // What the policy names (through locals too); a policy document's own statements and what
        // they name.
        for r in self.attribute_sources(policy, "policy") {
            add(&mut g, r);
            if r.data && r.kind == "aws_iam_policy_document" {
                for s in self.statements(r, "policy").into_iter().filter(|s| s.allow) {
                    g.actions.extend(s.actions);
                    g.patterns.extend(s.resources.into_iter().flatten());
                }
                self.attribute_sources(r, "statement").into_iter().for_each(|x| add(&mut g, x));
            }
        }
        g
    }
}

/// A string or a list, as IAM writes `Action`, `Resource`, a principal's identifiers and a
/// condition's values; an element that is not a string (null: known only after apply) is `None`.
#[derive(Debug, Default)]
struct Texts(Vec<Option<String>>);

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Texts, D::Error> {
        Ok(Texts(match Value::deserialize(d)? {
            Value::Array(a) => a.into_iter().map(|x| x.as_str().map(str::to_string)).collect(),
            Value::String(s) => vec![Some(s)],
            _ => Vec::new(),
        }))
    }
}

impl Texts {
    fn known(self) -> Vec<String> {
        self.0.into_iter().flatten().collect()
    }
}

/// A deferred `aws_iam_policy_document`'s known arguments (the provider's schema: blocks are lists).
#[derive(Deserialize, Default)]
struct DocumentArgs {
    #[serde(default)]
    statement: Option<Vec<DocumentStatement>>,
}

#[derive(Deserialize)]
struct DocumentStatement {
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    effect: Option<String>,
    #[serde(default)]
    actions: Texts,
    #[serde(default)]
    resources: Texts,
    #[serde(default)]
    principals: Option<Vec<DocumentPrincipal>>,
    #[serde(default)]
    condition: Option<Vec<DocumentCondition>>,
}

#[derive(Deserialize)]
struct DocumentPrincipal {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    identifiers: Texts,
}

#[derive(Deserialize)]
struct DocumentCondition {
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    variable: Option<String>,
    #[serde(default)]
    values: Texts,
}

/// A deferred `aws_iam_policy_document`'s statements from its known arguments.
fn document_statements(r: &Resource) -> Vec<Statement> {
    let args = DocumentArgs::deserialize(&r.after).unwrap_or_default();
    let statement = |s: DocumentStatement| Statement {
        sid: s.sid,
        allow: s.effect.is_none_or(|e| e == "Allow"),
        actions: s.actions.known(),
        resources: s.resources.0,
        principals: s.principals.into_iter().flatten().map(|p| (p.kind.unwrap_or_default(), p.identifiers.0)).collect(),
        conditions: (s.condition.into_iter().flatten())
            .map(|c| (c.test.unwrap_or_default(), c.variable, c.values.0))
            .collect(),
    };
    args.statement.into_iter().flatten().map(statement).collect()
}

/// IAM policy JSON: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>,
/// as far as the contracts read it (`NotAction` and `NotPrincipal` are not).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyJson {
    #[serde(default)]
    statement: Option<OneOrMany<JsonStatement>>,
}

/// IAM allows one statement in place of the list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonStatement {
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    effect: Option<String>,
    #[serde(default)]
    action: Texts,
    #[serde(default)]
    resource: Texts,
    #[serde(default)]
    principal: Option<Principal>,
    /// test → variable → values.
    #[serde(default)]
    condition: Option<BTreeMap<String, BTreeMap<String, Texts>>>,
}

/// `{"AWS": [...], "Service": ...}`, or `"*"` (anyone: read as the `AWS` type).
#[derive(Deserialize)]
#[serde(untagged)]
enum Principal {
    Typed(BTreeMap<String, Texts>),
    Anyone(String),
}

/// IAM policy JSON (`{"Statement": [...]}`) as statements.
pub fn json_statements(text: &str) -> Vec<Statement> {
    let Ok(policy) = serde_json::from_str::<PolicyJson>(text) else { return Vec::new() };
    let list = match policy.statement {
        None => Vec::new(),
        Some(OneOrMany::Many(list)) => list,
        Some(OneOrMany::One(one)) => vec![one],
    };
    list.into_iter()
        .map(|s| Statement {
            sid: s.sid,
            allow: s.effect.as_deref() == Some("Allow"),
            actions: s.action.known(),
            resources: s.resource.0,
            principals: match s.principal {
                Some(Principal::Typed(map)) => map.into_iter().map(|(k, v)| (k, v.0)).collect(),
                Some(Principal::Anyone(star)) => vec![("AWS".to_string(), vec![Some(star)])],
                None => Vec::new(),
            },
            conditions: (s.condition.into_iter().flatten())
                .flat_map(|(test, vars)| vars.into_iter().map(move |(var, values)| (test.clone(), Some(var), values.0)))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_wildcards_match_like_iam() {
        assert!(action_matches("kms:*", "kms:Decrypt"));
        assert!(action_matches("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext"));
        assert!(action_matches("KMS:decrypt", "kms:Decrypt"));
        assert!(!action_matches("kms:Encrypt", "kms:Decrypt"));
        assert!(!action_matches("s3:*", "kms:Decrypt"));
    }

    #[test]
    fn policy_json_reads_principals_and_conditions() {
        let s = json_statements(
            r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Principal":{"AWS":"arn:aws:iam::1:root"},"Resource":"*","Condition":{"StringEquals":{"a:sub":["x"]}}}}"#,
        );
        assert_eq!(s.len(), 1);
        assert!(s[0].allows("kms:Decrypt"));
        assert_eq!(s[0].principals, vec![("AWS".to_string(), vec![Some("arn:aws:iam::1:root".to_string())])]);
        assert_eq!(s[0].conditions[0].1.as_deref(), Some("a:sub"));
        let two = json_statements(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Deny","Action":["s3:*"],"Principal":"*","Resource":["x",null]},
                {"Effect":"Allow","Action":"kms:Decrypt","Condition":{"StringLike":{"k:v":"p*"},"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        );
        assert_eq!(two.len(), 2);
        assert!(!two[0].allow && two[0].sid.as_deref() == Some("a"));
        assert_eq!(two[0].principals, vec![("AWS".to_string(), vec![Some("*".to_string())])]);
        assert_eq!(two[0].resources, [Some("x".to_string()), None]);
        let tests: Vec<_> = two[1].conditions.iter().map(|c| (c.0.as_str(), c.1.as_deref().unwrap())).collect();
        assert_eq!(tests, [("Bool", "aws:SecureTransport"), ("StringLike", "k:v")]);
        assert!(json_statements("not json").is_empty() && json_statements("{}").is_empty());
    }

    #[test]
    fn a_policy_documents_known_arguments_are_its_statements() {
        let r = Resource {
            address: "data.aws_iam_policy_document.d".into(),
            module: String::new(),
            data: true,
            kind: "aws_iam_policy_document".into(),
            name: "d".into(),
            index: None,
            after: serde_json::json!({"statement": [
                {"sid": "trust", "effect": null, "actions": ["sts:AssumeRoleWithWebIdentity"], "resources": null,
                 "principals": [{"type": "Federated", "identifiers": [null]}],
                 "condition": [{"test": "StringEquals", "variable": "x:sub", "values": ["system:serviceaccount:a:b"]}]},
                {"effect": "Deny", "actions": "s3:*", "resources": ["arn:aws:s3:::b/*"]}]}),
            unknown: Value::Null,
        };
        let s = document_statements(&r);
        assert_eq!(s.len(), 2);
        assert!(s[0].allows("sts:AssumeRoleWithWebIdentity"), "no effect is Allow");
        assert_eq!(s[0].principals, vec![("Federated".to_string(), vec![None])]);
        assert_eq!(
            s[0].conditions,
            vec![(
                "StringEquals".to_string(),
                Some("x:sub".to_string()),
                vec![Some("system:serviceaccount:a:b".to_string())]
            )]
        );
        assert!(!s[1].allow && s[1].actions == ["s3:*"] && s[1].resources == [Some("arn:aws:s3:::b/*".to_string())]);
        let none = Resource { after: serde_json::json!({"statement": null}), ..r };
        assert!(document_statements(&none).is_empty());
    }
}
