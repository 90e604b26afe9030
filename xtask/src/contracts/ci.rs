//! The CI identity contract: every workflow job that asks GitHub for an OIDC token (`id-token: write`,
//! at the job or the workflow level, or `write-all`) runs in a GitHub environment that a role in the
//! target environment's plan trusts, and no job that runs unattended can get the deploy role.
//!
//! How a job is read ([`jobs`], [`Job::runs`]): `environment:` expanded per trigger from the matrix
//! and the dispatch/call inputs' options (`${{ inputs.environment || 'dev' }}` is `dev` under a push).
//! A GitHub environment `<env>` or `<purpose>-<env>` targets terraform environment `<env>`.
//! `role-to-assume: ${{ vars.AWS_<NAME>_ROLE_ARN }}` is that environment's stack output
//! `github_<name>_role_arn` (the workflows' headers say so), followed to the role resource; a literal
//! ARN is the role of that name. A role trusts a GitHub environment when its trust document has
//! `token.actions.githubusercontent.com:sub` = `repo:<github_repository>:environment:<name>`.
//!
//! Unattended: a run not started by a person (`workflow_dispatch`, `workflow_call`, or a push filtered
//! to exactly `main`, a reviewed merge: docs/INFRASTRUCTURE.md "First apply") — a schedule, another
//! branch or a tag, another workflow — in a GitHub environment without required reviewers: those are
//! the ones named after a `protected` environment of xtask.toml. No unattended run may be able to
//! assume the deploy role (stack output `github_deploy_role_arn`).

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use super::{Inputs, Plan, Resource, Workflow};
use crate::finding::Finding;

/// The claim GitHub's OIDC token carries the repository and environment in.
pub const SUBJECT: &str = "token.actions.githubusercontent.com:sub";
/// The stack output naming the role that deploys (applies terraform, installs everything).
pub const DEPLOY_ROLE_OUTPUT: &str = "github_deploy_role_arn";
/// Triggers a person starts.
const ATTENDED: &[&str] = &["workflow_dispatch", "workflow_call"];

/// Whether `trigger` is a person's: a dispatch, a call, or a push filtered to exactly `main`.
fn attended(w: &Workflow, trigger: &str) -> bool {
    let push = on(&w.value).and_then(|o| o.get("push")).and_then(Value::as_mapping).filter(|_| trigger == "push");
    let only_main = push.is_some_and(|p| {
        let branches = p.get("branches").and_then(Value::as_sequence);
        branches.is_some_and(|b| b.len() == 1 && b[0].as_str() == Some("main"))
            && p.keys().all(|k| matches!(k.as_str(), Some("branches" | "paths" | "paths-ignore")))
    });
    ATTENDED.contains(&trigger) || only_main
}

/// One job of a workflow, as the contract reads it.
pub struct Job<'a> {
    pub workflow: &'a Workflow,
    pub id: String,
    pub line: usize,
    /// Whether it asks for an OIDC token.
    pub oidc: bool,
    /// Its `environment:` (the name, unexpanded) and the line it is on.
    pub environment: Option<(String, usize)>,
    /// Each `role-to-assume:` of a configure-aws-credentials step, with its line.
    pub roles: Vec<(String, usize)>,
    value: &'a Value,
}

/// One way a job runs: the event that starts it and the GitHub environment it then runs in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Run {
    pub trigger: String,
    pub environment: Option<String>,
}

/// The events that start a workflow (`on:` as a name, a list or a mapping).
pub fn triggers(w: &Workflow) -> Vec<String> {
    match on(&w.value) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::Mapping(m)) => m.keys().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// `on:` (YAML 1.1 readers take a bare `on` for `true`; GitHub and this reader don't).
fn on(v: &Value) -> Option<&Value> {
    v.get("on").or_else(|| v.get(Value::Bool(true)))
}

fn asks_for_token(permissions: &Value) -> bool {
    match permissions {
        Value::String(s) => s == "write-all",
        Value::Mapping(_) => permissions.get("id-token").and_then(Value::as_str) == Some("write"),
        _ => false,
    }
}

/// The jobs of a workflow.
pub fn jobs(w: &Workflow) -> Vec<Job<'_>> {
    let mut out = Vec::new();
    let Some(jobs) = w.value.get("jobs").and_then(Value::as_mapping) else { return out };
    for (id, job) in jobs {
        let Some(id) = id.as_str() else { continue };
        let line = key_line(&w.text, &["jobs", id]).unwrap_or(1);
        // A job's own permissions replace the workflow's.
        let oidc =
            asks_for_token(job.get("permissions").or_else(|| w.value.get("permissions")).unwrap_or(&Value::Null));
        let environment = match job.get("environment") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(m @ Value::Mapping(_)) => m.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
        .map(|e| (e, key_line(&w.text, &["jobs", id, "environment"]).unwrap_or(line)));
        let mut roles = Vec::new();
        for step in job.get("steps").and_then(Value::as_sequence).into_iter().flatten() {
            let uses = step.get("uses").and_then(Value::as_str).unwrap_or("");
            if !uses.starts_with("aws-actions/configure-aws-credentials") {
                continue;
            }
            if let Some(role) = step.get("with").and_then(|w| w.get("role-to-assume")).and_then(Value::as_str) {
                let at = line_in_block(&w.text, line, "role-to-assume:", roles.len()).unwrap_or(line);
                roles.push((role.to_string(), at));
            }
        }
        out.push(Job { workflow: w, id: id.to_string(), line, oidc, environment, roles, value: job });
    }
    out
}

impl Job<'_> {
    /// `deploy.yml` job `deploy`
    pub fn label(&self) -> String {
        let file = self.workflow.path.file_name().unwrap_or_default().to_string_lossy();
        format!("{file} job `{}`", self.id)
    }

    /// Every (trigger, GitHub environment) the job can run with, or why its environment can't be told.
    pub fn runs(&self) -> Result<Vec<Run>, String> {
        let mut runs = BTreeSet::new();
        for trigger in triggers(self.workflow) {
            match &self.environment {
                None => {
                    runs.insert(Run { trigger, environment: None });
                }
                Some((template, _)) => {
                    for name in expand(template, &trigger, self.workflow, self.value)? {
                        runs.insert(Run { trigger: trigger.clone(), environment: Some(name) });
                    }
                }
            }
        }
        Ok(runs.into_iter().collect())
    }
}

/// The values a `${{ … }}` template can take under `trigger`: literals, `inputs.X` /
/// `github.event.inputs.X` (a choice's options, a boolean's two values, an input's default when the
/// trigger has inputs; empty otherwise), `matrix.X` (its values and `include`s, less single-key
/// `exclude`s), joined with `||`.
pub fn expand(template: &str, trigger: &str, w: &Workflow, job: &Value) -> Result<Vec<String>, String> {
    let mut values = vec![String::new()];
    let mut rest = template;
    while !rest.is_empty() {
        let (literal, expr, tail) = match rest.find("${{") {
            Some(start) => {
                let end = rest[start..].find("}}").ok_or_else(|| format!("`{template}` has an unclosed `${{{{`"))?;
                (&rest[..start], Some(rest[start + 3..start + end].trim()), &rest[start + end + 2..])
            }
            None => (rest, None, ""),
        };
        let mut parts = vec![literal.to_string()];
        if let Some(expr) = expr {
            parts = alternatives(expr, trigger, w, job)?.into_iter().map(|p| format!("{literal}{p}")).collect();
        }
        values = values.iter().flat_map(|v| parts.iter().map(move |p| format!("{v}{p}"))).collect();
        rest = tail;
    }
    values.sort();
    values.dedup();
    Ok(values)
}

fn alternatives(expr: &str, trigger: &str, w: &Workflow, job: &Value) -> Result<Vec<String>, String> {
    let (first, rest) = match expr.split_once("||") {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (expr, None),
    };
    let mut out = Vec::new();
    for v in operand(first, trigger, w, job)? {
        match (v.is_empty(), rest) {
            (true, Some(rest)) => out.extend(alternatives(rest, trigger, w, job)?),
            _ => out.push(v),
        }
    }
    Ok(out)
}

fn operand(x: &str, trigger: &str, w: &Workflow, job: &Value) -> Result<Vec<String>, String> {
    if let Some(lit) = x.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
        return Ok(vec![lit.to_string()]);
    }
    if let Some(name) = x.strip_prefix("inputs.").or_else(|| x.strip_prefix("github.event.inputs.")) {
        let Some(input) =
            on(&w.value).and_then(|o| o.get(trigger)).and_then(|t| t.get("inputs")).and_then(|i| i.get(name))
        else {
            return Ok(vec![String::new()]);
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let options: Vec<String> =
            input.get("options").and_then(Value::as_sequence).into_iter().flatten().filter_map(text).collect();
        return match input.get("type").and_then(Value::as_str).unwrap_or("string") {
            "choice" if !options.is_empty() => Ok(options),
            "boolean" => Ok(vec!["true".into(), "false".into()]),
            kind => Err(format!("input `{name}` is of type {kind} without options: its values can't be listed")),
        };
    }
    if let Some(name) = x.strip_prefix("matrix.") {
        let matrix = job.get("strategy").and_then(|s| s.get("matrix")).and_then(Value::as_mapping);
        let Some(matrix) = matrix else { return Err(format!("`{x}` but the job has no matrix")) };
        let scalar = |v: &Value| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string()));
        let mut values: Vec<String> = match matrix.get(name) {
            Some(Value::Sequence(list)) => list.iter().filter_map(scalar).collect(),
            Some(other) => {
                return Err(format!("matrix `{name}` is `{}`, not a list", scalar(other).unwrap_or_default()))
            }
            None => Vec::new(),
        };
        for entry in matrix.get("include").and_then(Value::as_sequence).into_iter().flatten() {
            values.extend(entry.get(name).and_then(scalar));
        }
        for entry in matrix.get("exclude").and_then(Value::as_sequence).into_iter().flatten() {
            if entry.as_mapping().is_some_and(|m| m.len() == 1) {
                let gone = entry.get(name).and_then(scalar);
                values.retain(|v| Some(v) != gone.as_ref());
            }
        }
        if values.is_empty() {
            return Err(format!("matrix has no values for `{name}`"));
        }
        return Ok(values);
    }
    Err(format!("`${{{{ {x} }}}}` can't be expanded (literals, inputs.*, matrix.* and || only)"))
}

/// The environment a GitHub environment is for: `dev` for `dev` and `operations-dev`.
pub fn target<'e>(github_environment: &str, envs: &'e [String]) -> Option<&'e String> {
    envs.iter().find(|e| github_environment == e.as_str() || github_environment.ends_with(&format!("-{e}")))
}

/// The stack output a `role-to-assume` names: `${{ vars.AWS_DEPLOY_ROLE_ARN }}` → `github_deploy_role_arn`.
pub fn role_output(role_to_assume: &str) -> Option<String> {
    let var = role_to_assume.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim().strip_prefix("vars.")?;
    let middle = var.strip_prefix("AWS_")?.strip_suffix("_ROLE_ARN")?;
    Some(format!("github_{}_role_arn", middle.to_ascii_lowercase()))
}

/// The GitHub subjects (`repo:…:environment:…`) each role of the plan trusts, by role address.
pub fn github_trusts(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for role in plan.of_type("aws_iam_role") {
        let subjects: Vec<String> = plan
            .statements(role, "assume_role_policy")
            .iter()
            .filter(|s| s.allow && s.actions.iter().any(|a| a == "sts:AssumeRoleWithWebIdentity"))
            .flat_map(|s| s.conditions.iter())
            .filter(|(test, var, _)| {
                var.as_deref() == Some(SUBJECT) && (test == "StringEquals" || test == "StringLike")
            })
            .flat_map(|(_, _, values)| values.iter().flatten().cloned())
            .collect();
        if !subjects.is_empty() {
            out.insert(role.address.clone(), subjects);
        }
    }
    out
}

/// Whether a trust's subjects admit `subject` (IAM's StringLike wildcards `*` and `?` included).
fn trusts(subjects: &[String], subject: &str) -> bool {
    subjects.iter().any(|s| glob(s.as_bytes(), subject.as_bytes()))
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The role resource a `role-to-assume` names in the plan: the output's source, or the role of the
/// ARN's name.
pub fn assumed_role<'p>(plan: &'p Plan, role_to_assume: &str) -> Result<&'p Resource, String> {
    if let Some(name) = role_to_assume.strip_prefix("arn:").and_then(|a| a.split_once(":role/")).map(|(_, n)| n) {
        let name = name.rsplit('/').next().unwrap_or(name);
        return plan
            .of_type("aws_iam_role")
            .find(|r| r.text("name") == Some(name))
            .ok_or_else(|| format!("`{role_to_assume}` names role `{name}`, which the plan doesn't have"));
    }
    let output = role_output(role_to_assume).ok_or_else(|| {
        format!("`{role_to_assume}` is not `${{{{ vars.AWS_<NAME>_ROLE_ARN }}}}` (the stack output github_<name>_role_arn) nor a role ARN: which role it is can't be told")
    })?;
    plan.output_sources(&output, None).into_iter().find(|r| r.kind == "aws_iam_role").ok_or_else(|| {
        format!("`{role_to_assume}` holds the stack output `{output}`, which names no aws_iam_role in the plan")
    })
}

/// What the contract needs to know of the environments: their names (terraform's), which are
/// protected (their GitHub environments have required reviewers), and the repository the roles
/// trust (`github_repository` of the environment's `module "stack"` call).
pub struct Settings {
    pub envs: Vec<String>,
    pub protected: BTreeSet<String>,
    pub repo: String,
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real {
        return Vec::new();
    }
    let envs: Vec<String> = crate::terraform::environment_dirs(&inputs.root)
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let config = crate::config::Config::load(&inputs.root.join(crate::config::FILE_NAME)).ok();
    let protected =
        config.iter().flat_map(|c| c.environments()).filter(|e| e.protected).map(|e| e.name.clone()).collect();
    let repo = crate::terraform::stack_argument(&inputs.root, &inputs.env.name, "github_repository")
        .ok()
        .flatten()
        .and_then(|e| e.as_str().map(str::to_string))
        .unwrap_or_default();
    check_with(&inputs.workflows, &inputs.env.name, &inputs.plan, &Settings { envs, protected, repo })
}

/// The contract for environment `env` over `workflows` and `env`'s plan.
pub fn check_with(workflows: &[Workflow], env: &str, plan: &Plan, settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    let repo = &settings.repo;
    let trusted = github_trusts(plan);
    let deploy_role = plan.output_sources(DEPLOY_ROLE_OUTPUT, None).into_iter().find(|r| r.kind == "aws_iam_role");
    for w in workflows {
        for job in jobs(w).into_iter().filter(|j| j.oidc) {
            let at =
                |line: usize, message: String| Finding::new(&w.path, Some(line), format!("{}: {message}", job.label()));
            let runs = match job.runs() {
                Ok(runs) => runs,
                Err(why) => {
                    let line = job.environment.as_ref().map_or(job.line, |(_, l)| *l);
                    findings.push(at(line, format!("asks for an OIDC token but its GitHub environment can't be told, so no role in `{env}` can be checked to trust it: {why}")));
                    continue;
                }
            };
            let mut reported = BTreeSet::new();
            for run in runs {
                let Some(gh) = run.environment.as_deref() else {
                    if reported.insert(String::new()) {
                        findings.push(at(job.line, format!("asks for an OIDC token but runs in no GitHub environment: the roles of `{env}` trust only `repo:{repo}:environment:<name>`")));
                    }
                    continue;
                };
                let env_line = job.environment.as_ref().map_or(job.line, |(_, l)| *l);
                let Some(target_env) = target(gh, &settings.envs) else {
                    if reported.insert(gh.to_string()) {
                        findings.push(at(env_line, format!("runs in GitHub environment `{gh}` (on {}), which is for no environment of terraform/environments (name it `<env>` or `<purpose>-<env>`)", run.trigger)));
                    }
                    continue;
                };
                if target_env != env {
                    continue;
                }
                let subject = format!("repo:{repo}:environment:{gh}");
                let trusting: Vec<&String> =
                    trusted.iter().filter(|(_, s)| trusts(s, &subject)).map(|(a, _)| a).collect();
                for (role, line) in &job.roles {
                    if !reported.insert(format!("{gh} {role}")) {
                        continue;
                    }
                    match assumed_role(plan, role) {
                        Err(why) => findings
                            .push(at(*line, format!("in GitHub environment `{gh}`: {why} ({})", plan.path.display()))),
                        Ok(r) if !trusting.contains(&&r.address) => {
                            let trusts = trusted
                                .get(&r.address)
                                .map(|s| s.join(", "))
                                .unwrap_or_else(|| "no GitHub environment".into());
                            findings.push(at(*line, format!("runs in GitHub environment `{gh}` and assumes {role} = {}, whose trust allows {trusts}, not {subject}", r.address)));
                        }
                        Ok(_) => {}
                    }
                }
                if job.roles.is_empty() && trusting.is_empty() && reported.insert(gh.to_string()) {
                    findings.push(at(env_line, format!("asks for an OIDC token in GitHub environment `{gh}`, but no role in `{env}`'s plan trusts {subject}")));
                }
                let reviewed = settings.protected.contains(gh);
                if attended(job.workflow, &run.trigger) || reviewed {
                    continue;
                }
                if let Some(deploy) = deploy_role.filter(|d| trusting.contains(&&d.address)) {
                    if reported.insert(format!("unattended {gh}")) {
                        findings.push(at(env_line, format!("runs unattended (on {}) in GitHub environment `{gh}`, which has no required reviewers (`{gh}` is no protected environment in xtask.toml), yet the deploy role {} (stack output {DEPLOY_ROLE_OUTPUT}) trusts {subject}", run.trigger, deploy.address)));
                    }
                }
            }
        }
    }
    findings
}

/// The 1-based line of a key path in block-style YAML (`["jobs", "deploy", "environment"]`).
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    let mut depth = 0;
    let mut parent: isize = -1;
    let mut child: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
            continue;
        }
        let indent = line.len() - content.len();
        if depth > 0 && indent as isize <= parent {
            return None;
        }
        if *child.get_or_insert(indent) != indent {
            continue;
        }
        let key = content.split(':').next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if content.contains(':') && key == path[depth] {
            depth += 1;
            if depth == path.len() {
                return Some(i + 1);
            }
            parent = indent as isize;
            child = None;
        }
    }
    None
}

/// The line of the `nth` occurrence of `needle` inside the block that starts on `start` (1-based).
pub fn line_in_block(text: &str, start: usize, needle: &str, nth: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let head = lines.get(start.checked_sub(1)?)?;
    let indent = head.len() - head.trim_start().len();
    lines
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// A workflow parsed from text.
#[cfg(test)]
pub fn workflow(path: &std::path::Path, text: &str) -> Workflow {
    Workflow {
        path: path.to_path_buf(),
        text: text.to_string(),
        value: serde_norway::from_str(text).unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A plan with a deploy role trusting `dev` and an operations role trusting `operations-dev`.
    pub(crate) fn plan() -> Plan {
        let role = |name: &str| {
            format!(
                r#"{{"address":"module.stack.aws_iam_role.{name}","module_address":"module.stack","mode":"managed","type":"aws_iam_role","name":"{name}",
                "change":{{"actions":["create"],"after":{{"name":"authorworks-dev-github-{name}"}},"after_unknown":{{"assume_role_policy":true}}}}}},
                {{"address":"module.stack.data.aws_iam_policy_document.trust[\"{name}\"]","module_address":"module.stack","mode":"data","type":"aws_iam_policy_document","name":"trust","index":"{name}",
                "change":{{"actions":["read"],"after":{{"statement":[{{"actions":["sts:AssumeRoleWithWebIdentity"],"condition":[{{"test":"StringEquals","variable":"{SUBJECT}","values":["repo:o/r:environment:{}"]}}]}}]}},"after_unknown":{{}}}}}}"#,
                if name == "deploy" { "dev" } else { "operations-dev" }
            )
        };
        let config = |name: &str| {
            format!(
                r#"{{"address":"aws_iam_role.{name}","expressions":{{"assume_role_policy":{{"references":["data.aws_iam_policy_document.trust[\"{name}\"].json","data.aws_iam_policy_document.trust[\"{name}\"]"]}}}}}}"#
            )
        };
        let output = |name: &str| {
            format!(
                r#""github_{name}_role_arn":{{"expression":{{"references":["aws_iam_role.{name}.arn","aws_iam_role.{name}"]}}}}"#
            )
        };
        let json = format!(
            r#"{{"resource_changes":[{},{}],"configuration":{{"root_module":{{"module_calls":{{"stack":{{"module":{{"outputs":{{{},{}}},"resources":[{},{}]}}}}}}}}}}}}"#,
            role("deploy"),
            role("operations"),
            output("deploy"),
            output("operations"),
            config("deploy"),
            config("operations")
        );
        Plan::from_json(&json, Path::new("dev.plan.json"), Path::new("terraform/environments/dev")).unwrap()
    }

    fn settings() -> Settings {
        Settings {
            envs: vec!["dev".into(), "production".into(), "staging".into()],
            protected: ["staging".to_string(), "production".to_string()].into(),
            repo: "o/r".into(),
        }
    }

    const DEPLOY: &str = "on:\n  push:\n    branches: [main]\n  workflow_dispatch:\n    inputs:\n      environment:\n        type: choice\n        options: [dev, staging, production]\n        default: dev\npermissions:\n  contents: read\njobs:\n  deploy:\n    runs-on: ubuntu-24.04\n    environment: ${{ inputs.environment || 'dev' }}\n    permissions:\n      id-token: write\n    steps:\n      - uses: actions/checkout@v4\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n";

    const OPS: &str = "on:\n  schedule:\n    - cron: \"0 3 * * *\"\njobs:\n  run:\n    strategy:\n      matrix:\n        env: [dev, staging]\n    environment: operations-${{ matrix.env }}\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}\n";

    fn messages(text: &str) -> Vec<String> {
        let w = workflow(Path::new(".github/workflows/x.yml"), text);
        check_with(&[w], "dev", &plan(), &settings()).iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn the_reader_expands_environments_per_trigger() {
        let w = workflow(Path::new("deploy.yml"), DEPLOY);
        assert_eq!(triggers(&w), ["push", "workflow_dispatch"]);
        let js = jobs(&w);
        assert_eq!((js[0].id.as_str(), js[0].line, js[0].oidc), ("deploy", 13, true));
        assert_eq!(js[0].roles, [("${{ vars.AWS_DEPLOY_ROLE_ARN }}".to_string(), 22)]);
        let runs: Vec<String> = js[0]
            .runs()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.trigger, r.environment.as_deref().unwrap()))
            .collect();
        assert_eq!(
            runs,
            ["push dev", "workflow_dispatch dev", "workflow_dispatch production", "workflow_dispatch staging"]
        );
        let ops = workflow(Path::new("operations.yml"), OPS);
        let envs: Vec<String> = jobs_envs(&ops);
        assert_eq!(envs, ["operations-dev", "operations-staging"]);
        let free = workflow(Path::new("x.yml"), &DEPLOY.replace("type: choice", "type: string"));
        assert!(jobs(&free)[0].runs().unwrap_err().contains("input `environment` is of type string without options"));
        assert_eq!(role_output("${{ vars.AWS_OPERATIONS_ROLE_ARN }}").as_deref(), Some("github_operations_role_arn"));
        assert_eq!(target("operations-staging", &settings().envs).map(String::as_str), Some("staging"));
    }

    fn jobs_envs(w: &Workflow) -> Vec<String> {
        jobs(w)[0].runs().unwrap().into_iter().filter_map(|r| r.environment).collect()
    }

    #[test]
    fn a_push_deploy_to_an_unreviewed_environment_gets_the_deploy_role_unless_it_is_a_merge_to_main() {
        assert_eq!(messages(DEPLOY), Vec::<String>::new(), "a push to main is a reviewed pull request merged");
        let any_branch = DEPLOY.replace("  push:\n    branches: [main]\n", "  push:\n    branches: ['**']\n");
        assert_eq!(
            messages(&any_branch),
            [".github/workflows/x.yml:15: x.yml job `deploy`: runs unattended (on push) in GitHub environment `dev`, which has no required reviewers (`dev` is no protected environment in xtask.toml), yet the deploy role module.stack.aws_iam_role.deploy (stack output github_deploy_role_arn) trusts repo:o/r:environment:dev"]
        );
        assert_eq!(messages(&DEPLOY.replace("[main]\n", "[main]\n    tags: ['v*']\n")).len(), 1, "a tag: no merge");
        let by_hand = DEPLOY.replace("  push:\n    branches: [main]\n", "");
        assert_eq!(messages(&by_hand), Vec::<String>::new());
    }

    #[test]
    fn each_way_a_token_goes_unclaimed_is_named() {
        assert_eq!(messages(OPS), Vec::<String>::new(), "scheduled, but only the operations role trusts it");
        let wrong_role = OPS.replace("AWS_OPERATIONS_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN");
        assert_eq!(
            messages(&wrong_role),
            [".github/workflows/x.yml:15: x.yml job `run`: runs in GitHub environment `operations-dev` and assumes ${{ vars.AWS_DEPLOY_ROLE_ARN }} = module.stack.aws_iam_role.deploy, whose trust allows repo:o/r:environment:dev, not repo:o/r:environment:operations-dev"]
        );
        let no_env = OPS.replace("    environment: operations-${{ matrix.env }}\n", "");
        assert!(messages(&no_env)[0]
            .contains(":5: x.yml job `run`: asks for an OIDC token but runs in no GitHub environment"));
        let unknown = OPS.replace("AWS_OPERATIONS_ROLE_ARN", "OPS_ROLE");
        assert!(messages(&unknown)[0].contains("`${{ vars.OPS_ROLE }}` is not `${{ vars.AWS_<NAME>_ROLE_ARN }}`"));
        let missing = OPS.replace("AWS_OPERATIONS_ROLE_ARN", "AWS_BACKUP_ROLE_ARN");
        assert!(messages(&missing)[0]
            .contains("holds the stack output `github_backup_role_arn`, which names no aws_iam_role"));
        let sandbox = OPS.replace("operations-${{ matrix.env }}", "sandbox");
        assert!(messages(&sandbox)[0].contains(
            ":9: x.yml job `run`: runs in GitHub environment `sandbox` (on schedule), which is for no environment"
        ));
        let untrusted = OPS.replace("operations-${{ matrix.env }}", "nightly-${{ matrix.env }}");
        assert!(messages(&untrusted)[0].contains("assumes ${{ vars.AWS_OPERATIONS_ROLE_ARN }} = module.stack.aws_iam_role.operations, whose trust allows repo:o/r:environment:operations-dev, not repo:o/r:environment:nightly-dev"));
        let no_step = OPS.replace("      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}\n", "      - run: true\n");
        assert_eq!(messages(&no_step), Vec::<String>::new());
        let no_step_untrusted = no_step.replace("operations-${{ matrix.env }}", "nightly-${{ matrix.env }}");
        assert!(messages(&no_step_untrusted)[0].contains("asks for an OIDC token in GitHub environment `nightly-dev`, but no role in `dev`'s plan trusts repo:o/r:environment:nightly-dev"));
        let no_token = wrong_role.replace("      id-token: write\n", "      contents: read\n");
        assert_eq!(messages(&no_token), Vec::<String>::new(), "no token, no role");
    }

    #[test]
    fn key_lines_follow_indentation() {
        let text = "a:\n  b:\n    c: 1\n  c: 2\nc:\n  # note\n  d: 3\n";
        assert_eq!(key_line(text, &["a", "c"]), Some(4));
        assert_eq!(key_line(text, &["a", "b", "c"]), Some(3));
        assert_eq!(key_line(text, &["c", "d"]), Some(7));
        assert_eq!(key_line(text, &["a", "d"]), None);
        assert_eq!(line_in_block(text, 1, "c:", 1), Some(4));
    }
}
