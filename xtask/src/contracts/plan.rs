//! [`Plan`]: an environment's plan JSON (`terraform show -json` of a saved plan) as the contracts read
//! it — every resource instance by address with its planned values (`after`) and what is not known
//! until apply (`after_unknown`), the deferred data sources (`aws_iam_policy_document` reads, whose
//! known arguments are in `after`), the configuration's references (which document a role's
//! `assume_role_policy` is, per `each.key`; what a module variable was given), where each resource is
//! written (file:line in terraform/), and the `stack` output with the keys of its map outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::tfplan::{self, ConfigModule, ConfigResource};

/// One resource instance (managed, or a data source read at apply).
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: String,
    /// `module.stack.module.security` (empty for the root module).
    pub module: String,
    pub data: bool,
    pub kind: String,
    pub name: String,
    /// The `for_each` key or `count` index, as text.
    pub index: Option<String>,
    pub after: Value,
    /// What is known only after apply (`true` at a path), from `after_unknown`.
    pub unknown: Value,
}

impl Resource {
    /// A known planned value (`None` when it is unknown until apply or absent).
    pub fn known(&self, attr: &str) -> Option<&Value> {
        let unknown = self.unknown.get(attr) == Some(&Value::Bool(true));
        self.after.get(attr).filter(|v| !v.is_null() && !unknown)
    }

    pub fn text(&self, attr: &str) -> Option<&str> {
        self.known(attr).and_then(Value::as_str)
    }

    /// `aws_iam_role.controller` (the configuration address inside its module).
    pub fn config_address(&self) -> String {
        let mode = if self.data { "data." } else { "" };
        format!("{mode}{}.{}", self.kind, self.name)
    }
}

pub struct Plan {
    pub path: PathBuf,
    /// terraform/environments/<env>: where the configuration's module sources are relative to.
    env_dir: PathBuf,
    pub resources: BTreeMap<String, Resource>,
    configuration: ConfigModule,
    outputs_after: Value,
    outputs_unknown: Value,
    /// The plan itself, for its root variables as planned (`aws_account_id`, `region`).
    plan: tfplan::Plan,
    /// Source text read from terraform/ (the locals it follows), read once per plan.
    memo: std::cell::RefCell<BTreeMap<String, Option<String>>>,
    /// Each module directory's `resource` and `data` blocks, read once: (block, type, name) → file, line.
    blocks: std::cell::RefCell<BTreeMap<PathBuf, BlockIndex>>,
}

/// Where a module's blocks are written: (`resource` or `data`, type, name) → (file, line).
type BlockIndex = BTreeMap<(String, String, String), (PathBuf, usize)>;

impl Plan {
    pub fn load(path: &Path, env_dir: &Path) -> Result<Plan> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the plan {}", path.display()))?;
        Plan::from_json(&text, path, env_dir)
    }

    pub fn from_json(text: &str, path: &Path, env_dir: &Path) -> Result<Plan> {
        let mut plan: tfplan::Plan =
            serde_json::from_str(text).with_context(|| format!("{} is not terraform's plan JSON", path.display()))?;
        let mut resources = BTreeMap::new();
        for rc in plan.resource_changes.take().unwrap_or_default() {
            if rc.change.deletes_only() {
                continue;
            }
            let r = Resource {
                module: rc.module_address.clone().unwrap_or_default(),
                data: !rc.managed(),
                index: rc.index_text(),
                kind: rc.kind,
                name: rc.name,
                after: rc.change.after,
                unknown: rc.change.after_unknown,
                address: rc.address.clone(),
            };
            resources.insert(rc.address, r);
        }
        let stack = plan.output_changes.remove("stack").unwrap_or_default();
        let configuration = plan.configuration.take().map(|c| c.root_module).unwrap_or_default();
        Ok(Plan {
            path: path.to_path_buf(),
            env_dir: env_dir.to_path_buf(),
            resources,
            configuration,
            outputs_after: stack.after,
            outputs_unknown: stack.after_unknown,
            plan,
            memo: Default::default(),
            blocks: Default::default(),
        })
    }

    /// A root variable's planned value as text (`aws_account_id`).
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.plan.variable(name)
    }

    /// `make`'s answer for `key`, computed once per plan.
    pub fn memo(&self, key: String, make: impl FnOnce() -> Option<String>) -> Option<String> {
        if let Some(v) = self.memo.borrow().get(&key) {
            return v.clone();
        }
        let v = make();
        self.memo.borrow_mut().insert(key, v.clone());
        v
    }

    /// Managed resources of a type.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.values().filter(move |r| !r.data && r.kind == kind)
    }

    // --- outputs --------------------------------------------------------------------------------

    /// Whether the `stack` output has a key `name` (known, null, or unknown until apply).
    pub fn has_output(&self, name: &str) -> bool {
        self.outputs_after.get(name).is_some() || self.outputs_unknown.get(name).is_some()
    }

    /// The keys of a map output: those known and those whose values are known only after apply.
    /// `None` when the whole output is unknown (its keys can't be told) or it is not a map.
    pub fn output_keys(&self, name: &str) -> Option<BTreeSet<String>> {
        let mut keys = BTreeSet::new();
        let mut map = false;
        for v in [self.outputs_after.get(name), self.outputs_unknown.get(name)].into_iter().flatten() {
            if let Some(o) = v.as_object() {
                map = true;
                keys.extend(o.keys().cloned());
            }
        }
        let wholly_unknown = self.outputs_unknown.get(name) == Some(&Value::Bool(true));
        (map && !wholly_unknown).then_some(keys)
    }

    // --- configuration --------------------------------------------------------------------------

    /// The configuration of a module (`module.stack.module.security`), or the root.
    fn module_config(&self, module: &str) -> Option<&ConfigModule> {
        let mut at = &self.configuration;
        for call in module_calls(module) {
            at = &at.module_calls.get(strip_index(call))?.module;
        }
        Some(at)
    }

    /// The configuration block of a resource.
    fn resource_config(&self, r: &Resource) -> Option<&ConfigResource> {
        let address = r.config_address();
        self.module_config(&r.module)?.resources.iter().find(|c| c.address == address)
    }

    /// Every reference in the expression of `attr` of a resource's configuration (nested blocks
    /// included), e.g. `["data.aws_iam_policy_document.irsa_trust", "each.key"]`.
    pub fn references(&self, r: &Resource, attr: &str) -> Vec<String> {
        most_specific(self.resource_config(r).map(|c| c.argument(attr)).unwrap_or_default())
    }

    /// The references of `attr`, with every `var.X` replaced by what the module's caller passed for X
    /// (recursively, up to the root), each prefixed with the module it is written in:
    /// `module.stack.module.eks.oidc_provider_arn` for the security module's `var.oidc_provider_arn`.
    pub fn reference_origins(&self, r: &Resource, attr: &str) -> Vec<String> {
        self.expand_origins(&r.module, self.references(r, attr))
    }

    /// Every security group ingress rule of the plan that admits TCP `port` (all protocols, or TCP
    /// with the port in its range), as (the groups it belongs to, the groups it admits):
    /// `aws_vpc_security_group_ingress_rule`s and `aws_security_group_rule`s of type `ingress`.
    pub fn tcp_ingress(&self, port: u16) -> Vec<(Vec<&Resource>, Vec<&Resource>)> {
        let covers = |r: &Resource, proto: &str| {
            let p = r.text(proto).unwrap_or("tcp");
            let lo = r.known("from_port").and_then(Value::as_i64).unwrap_or(-1);
            let hi = r.known("to_port").and_then(Value::as_i64).unwrap_or(-1);
            p == "-1" || (matches!(p, "tcp" | "6") && lo <= i64::from(port) && i64::from(port) <= hi)
        };
        let rules = [
            ("aws_vpc_security_group_ingress_rule", "ip_protocol", "referenced_security_group_id"),
            ("aws_security_group_rule", "protocol", "source_security_group_id"),
        ];
        let mut out = Vec::new();
        for (kind, proto, source) in rules {
            for rule in self.of_type(kind) {
                let ingress = kind != "aws_security_group_rule" || rule.text("type") == Some("ingress");
                if ingress && covers(rule, proto) {
                    out.push((self.attribute_sources(rule, "security_group_id"), self.attribute_sources(rule, source)));
                }
            }
        }
        out
    }

    /// The resources an attribute of `r` comes from, wherever they are: its own module's (an
    /// unindexed reference to a `for_each` resource is the instance of `r`'s key), and through module
    /// variables and outputs.
    pub fn attribute_sources(&self, r: &Resource, attr: &str) -> Vec<&Resource> {
        let refs = self.references(r, attr);
        let each = refs.iter().any(|x| x == "each.key" || x.starts_with("each.value"));
        let key = each.then_some(r.index.as_deref()).flatten();
        // The key carries to `r`'s own module and to a call of it (`module.irsa.names[each.key]`: a
        // building block keyed like its caller).
        let child = |o: &str| {
            let (module, rest) = split_module(o);
            module.strip_prefix(r.module.as_str()).is_some_and(|m| m.starts_with(".module.")) && !rest.is_empty()
        };
        let own = |o: &str| {
            let (module, rest) = split_module(o);
            (same_module(&module, &r.module) && !rest.is_empty()) || child(o)
        };
        let mut out: Vec<&Resource> = Vec::new();
        for origin in self.expand_keyed(&r.module, refs, key) {
            let mut found = self.sources(&origin, if own(&origin) { key } else { None });
            if found.is_empty() && key.is_some() && child(&origin) {
                found = self.sources(&origin, None);
            }
            for x in found {
                if !out.iter().any(|o| o.address == x.address) {
                    out.push(x);
                }
            }
        }
        out
    }

    /// The resources an attribute of every configured resource of a type comes from — whether or not
    /// the environment has instances of it (an add-on switched off still names its role).
    pub fn configured_sources(&self, kind: &str, attr: &str) -> Vec<&Resource> {
        let mut out: Vec<&Resource> = Vec::new();
        let mut todo = vec![(String::new(), &self.configuration)];
        while let Some((module, cfg)) = todo.pop() {
            for r in cfg.resources.iter().filter(|r| r.kind == kind) {
                for origin in self.expand_origins(&module, most_specific(r.argument(attr))) {
                    out.extend(self.sources(&origin, None));
                }
            }
            for (call, c) in &cfg.module_calls {
                let path = if module.is_empty() { format!("module.{call}") } else { format!("{module}.module.{call}") };
                todo.push((path, &c.module));
            }
        }
        out
    }

    /// References written in `module`, each `var.X` replaced by what the caller passed (recursively),
    /// every one prefixed with the module it is written in.
    pub fn expand_origins(&self, module: &str, refs: Vec<String>) -> Vec<String> {
        self.expand_keyed(module, refs, None)
    }

    /// [`Plan::expand_origins`] where `each.key` is `key`: a map `local` is read at that entry.
    fn expand_keyed(&self, module: &str, refs: Vec<String>, key: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let mut todo: Vec<(String, String)> = refs.into_iter().map(|x| (module.to_string(), x)).collect();
        let mut seen = BTreeSet::new();
        while let Some((module, reference)) = todo.pop() {
            if !seen.insert((module.clone(), reference.clone())) {
                continue;
            }
            if let Some(local) = reference.strip_prefix("local.") {
                // The plan JSON records no locals: what the local's source text refers to.
                let name = local.split(['.', '[']).next().unwrap_or(local);
                let entry = self.local_text(&module, name, key);
                if let Some(text) = entry.or_else(|| self.local_text(&module, name, None)) {
                    todo.extend(most_specific(Plan::text_references(&text)).into_iter().map(|r| (module.clone(), r)));
                }
            } else if let Some(var) = reference.strip_prefix("var.") {
                let var = var.split(['.', '[']).next().unwrap_or(var);
                let Some((parent, call)) = module
                    .rsplit_once(".module.")
                    .map(|(p, c)| (p.to_string(), c.to_string()))
                    .or_else(|| module.strip_prefix("module.").map(|c| (String::new(), c.to_string())))
                else {
                    out.push(reference);
                    continue;
                };
                let given = self
                    .module_config(&parent)
                    .map(|cfg| cfg.call_argument(strip_index(&call), var))
                    .unwrap_or_default();
                todo.extend(most_specific(given).into_iter().map(|g| (parent.clone(), g)));
            } else if module.is_empty() {
                out.push(reference);
            } else {
                out.push(format!("{module}.{reference}"));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The resources an attribute of `from` refers to in its own module: `data.X.Y[each.key]` is the
    /// instance with `from`'s key, `aws_kms_key.this["sns"]` that instance, a single instance itself.
    pub fn referenced(&self, from: &Resource, attr: &str) -> Vec<&Resource> {
        let refs = self.references(from, attr);
        let each = refs.iter().any(|x| x == "each.key" || x.starts_with("each.value"));
        let mut found: Vec<&Resource> = Vec::new();
        for reference in &refs {
            for r in self.resolve(&from.module, reference, each.then_some(from.index.as_deref()).flatten()) {
                if !found.iter().any(|f| f.address == r.address) {
                    found.push(r);
                }
            }
        }
        found
    }

    /// The instances a configuration reference names in `module`.
    pub fn resolve(&self, module: &str, reference: &str, each_key: Option<&str>) -> Vec<&Resource> {
        let (data, rest) = match reference.strip_prefix("data.") {
            Some(rest) => (true, rest),
            None => (false, reference),
        };
        let mut parts = rest.splitn(2, '.');
        let (Some(kind), Some(tail)) = (parts.next(), parts.next()) else { return Vec::new() };
        if !kind.starts_with("aws_") {
            return Vec::new();
        }
        let name: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect();
        let explicit = tail[name.len()..]
            .strip_prefix('[')
            .and_then(|t| t.split_once(']'))
            .map(|(i, _)| i.trim_matches('"'))
            .filter(|i| !i.starts_with("each.") && !i.starts_with("count."));
        let instances: Vec<&Resource> = self
            .resources
            .values()
            .filter(|r| same_module(&r.module, module) && r.data == data && r.kind == kind && r.name == name)
            .collect();
        match (explicit, each_key) {
            (Some(i), _) => instances.into_iter().filter(|r| r.index.as_deref() == Some(i)).collect(),
            (None, Some(key)) if instances.len() > 1 || instances.iter().any(|r| r.index.is_some()) => {
                instances.into_iter().filter(|r| r.index.as_deref() == Some(key)).collect()
            }
            (None, _) if instances.len() == 1 => instances,
            _ => Vec::new(),
        }
    }

    /// The resources an output of the `stack` module comes from (through module outputs), e.g.
    /// `external_secrets_role_arn` → `module.stack.module.security.aws_iam_role.controller["external-secrets"]`;
    /// `key` selects the map entry of a map output.
    pub fn output_sources(&self, name: &str, key: Option<&str>) -> Vec<&Resource> {
        self.sources(&format!("module.stack.{name}"), key)
    }

    /// The resources a fully qualified reference comes from: `module.stack.module.network.aws_security_group.nodes.id`
    /// itself, or a module output (`module.stack.module.network.security_group_ids["nodes"]`) followed
    /// to the resources its expression names. A map entry (`["nodes"]`, or `key`) keeps the instance
    /// with that key, or — for an object built of several resources — the one named like it.
    pub fn sources(&self, origin: &str, key: Option<&str>) -> Vec<&Resource> {
        let mut out: Vec<&Resource> = Vec::new();
        let mut todo = vec![(origin.to_string(), key.map(str::to_string))];
        let mut seen = BTreeSet::new();
        while let Some((origin, key)) = todo.pop() {
            if !seen.insert((origin.clone(), key.clone())) || seen.len() > 200 {
                continue;
            }
            let (module, rest) = split_module(&origin);
            if (rest.starts_with("aws_") && rest.contains('.')) || rest.starts_with("data.") {
                let mut found = self.resolve(&module, rest, key.as_deref());
                if let (Some(k), true) = (&key, found.len() > 1) {
                    if found.iter().any(|r| &r.name == k) {
                        found.retain(|r| &r.name == k);
                    }
                }
                for r in found {
                    if !out.iter().any(|o| o.address == r.address) {
                        out.push(r);
                    }
                }
                continue;
            }
            // A module output: `name`, `name["key"]`, `name.attr`.
            let output: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if output.is_empty() || module.is_empty() {
                continue;
            }
            let entry = rest[output.len()..]
                .strip_prefix("[\"")
                .and_then(|t| t.split_once("\"]"))
                .map(|(k, _)| k.to_string())
                .or(key.clone());
            let Some(cfg) = self.module_config(&module) else { continue };
            let expression = cfg.outputs.get(&output).and_then(|o| o.expression.as_ref());
            let refs = most_specific(expression.map(tfplan::Expr::references).unwrap_or_default());
            let named: Vec<&String> = refs
                .iter()
                .filter(|r| {
                    // Named like the entry (`aws_security_group.nodes`) or its instance of that key
                    // (`aws_security_group.data["database"]`).
                    entry.as_ref().is_some_and(|e| {
                        r.split('.').nth(1).is_some_and(|n| n == e || n.ends_with(&format!("[\"{e}\"]")))
                    })
                })
                .collect();
            let refs: Vec<String> = if named.is_empty() { refs.clone() } else { named.into_iter().cloned().collect() };
            for r in refs {
                if r.starts_with("var.") || r.starts_with("local.") || r.starts_with("each.") {
                    continue;
                }
                todo.push((format!("{module}.{r}"), entry.clone()));
            }
        }
        out
    }

    // --- where it is written ----------------------------------------------------------------------

    /// The directory of a module's source (`module.stack.module.security` → terraform/modules/security).
    pub fn module_dir(&self, module: &str) -> PathBuf {
        let mut dir = self.env_dir.clone();
        let mut at = &self.configuration;
        for call in module_calls(module) {
            let Some(c) = at.module_calls.get(strip_index(call)) else { break };
            if let Some(source) = &c.source {
                dir = crate::terraform::normalize(&dir.join(source));
            }
            at = &c.module;
        }
        dir
    }

    /// Where a resource is written: the file and line of its `resource`/`data` block.
    pub fn location(&self, r: &Resource) -> (PathBuf, Option<usize>) {
        let dir = self.module_dir(&r.module);
        let ident = if r.data { "data" } else { "resource" };
        let mut blocks = self.blocks.borrow_mut();
        let index = blocks.entry(dir.clone()).or_insert_with(|| {
            let mut index = BlockIndex::new();
            for file in crate::terraform::tf_files(&dir) {
                let Ok(tf) = crate::terraform::TfFile::read(&file) else { continue };
                for ident in ["resource", "data"] {
                    for (kind, block, line) in tf.blocks(ident) {
                        let Some(name) = block.labels.get(1) else { continue };
                        let at = (ident.to_string(), kind, name.as_str().to_string());
                        index.entry(at).or_insert_with(|| (file.clone(), line));
                    }
                }
            }
            index
        });
        match index.get(&(ident.to_string(), r.kind.clone(), r.name.clone())) {
            Some((file, line)) => (file.clone(), Some(*line)),
            None => (dir, None),
        }
    }

    /// A finding at a resource's block, the message prefixed with its plan address.
    pub fn finding(&self, r: &Resource, message: impl AsRef<str>) -> crate::finding::Finding {
        let (file, line) = self.location(r);
        crate::finding::Finding::new(&file, line, format!("{}: {}", r.address, message.as_ref()))
    }
}

fn module_calls(module: &str) -> impl Iterator<Item = &str> {
    module
        .split('.')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|c| c.len() == 2 && c[0] == "module")
        .map(|c| c[1])
        .collect::<Vec<_>>()
        .into_iter()
}

/// terraform lists `a.b["k"].c`, `a.b["k"]` and `a.b` for one reference: the most specific stays.
fn most_specific(refs: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &refs {
        let more = refs
            .iter()
            .any(|o| o.len() > r.len() && o.starts_with(r.as_str()) && matches!(o.as_bytes()[r.len()], b'[' | b'.'));
        if !more && !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

fn strip_index(call: &str) -> &str {
    call.split('[').next().unwrap_or(call)
}

/// Module addresses equal up to instance keys (`module.cache[0]` is `module.cache`).
fn same_module(a: &str, b: &str) -> bool {
    let strip = |m: &str| m.split('.').map(strip_index).collect::<Vec<_>>().join(".");
    a == b || strip(a) == strip(b)
}

/// `module.stack.module.network.aws_security_group.nodes.id` → (`module.stack.module.network`,
/// `aws_security_group.nodes.id`); a reference inside the root has no module.
fn split_module(origin: &str) -> (String, &str) {
    let mut module = String::new();
    let mut rest = origin;
    while let Some(after) = rest.strip_prefix("module.") {
        let call_len = after.find('.').unwrap_or(after.len());
        let call = &after[..call_len];
        if module.is_empty() {
            module = format!("module.{call}");
        } else {
            module = format!("{module}.module.{call}");
        }
        rest = after.get(call_len + 1..).unwrap_or("");
    }
    (module, rest)
}
