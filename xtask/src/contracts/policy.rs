//! Policies as the contracts read them: [`Statement`]s of a policy document (a deferred
//! `aws_iam_policy_document` read, or policy JSON), and what a role's policies refer to — the keys,
//! secrets and buckets named in the documents' configuration, or in the module source of a `locals`
//! entry the plan JSON can't show ([`Plan::local_text`]).

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

fn texts(v: &Value) -> Vec<Option<String>> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        Value::String(s) => vec![Some(s.clone())],
        _ => Vec::new(),
    }
}

/// A deferred `aws_iam_policy_document`'s statements from its known arguments.
fn document_statements(r: &Resource) -> Vec<Statement> {
    let mut out = Vec::new();
    for s in r.after["statement"].as_array().into_iter().flatten() {
        let principals = s["principals"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["type"].as_str().unwrap_or_default().to_string(), texts(&p["identifiers"])))
            .collect();
        let conditions = s["condition"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["test"].as_str().unwrap_or_default().to_string(),
                    c["variable"].as_str().map(str::to_string),
                    texts(&c["values"]),
                )
            })
            .collect();
        out.push(Statement {
            sid: s["sid"].as_str().map(str::to_string),
            allow: s["effect"].as_str().is_none_or(|e| e == "Allow"),
            actions: texts(&s["actions"]).into_iter().flatten().collect(),
            resources: texts(&s["resources"]),
            principals,
            conditions,
        });
    }
    out
}

/// IAM policy JSON (`{"Statement": [...]}`) as statements.
pub fn json_statements(text: &str) -> Vec<Statement> {
    let Ok(json) = serde_json::from_str::<Value>(text) else { return Vec::new() };
    let list = match &json["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    list.iter()
        .map(|s| {
            let principals = match &s["Principal"] {
                Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), texts(v))).collect(),
                Value::String(star) => vec![("AWS".to_string(), vec![Some(star.clone())])],
                _ => Vec::new(),
            };
            let mut conditions = Vec::new();
            for (test, vars) in s["Condition"].as_object().into_iter().flatten() {
                for (var, values) in vars.as_object().into_iter().flatten() {
                    conditions.push((test.clone(), Some(var.clone()), texts(values)));
                }
            }
            Statement {
                sid: s["Sid"].as_str().map(str::to_string),
                allow: s["Effect"] == "Allow",
                actions: texts(&s["Action"]).into_iter().flatten().collect(),
                resources: texts(&s["Resource"]),
                principals,
                conditions,
            }
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
    }
}
