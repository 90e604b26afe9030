//! The workflow reader the CI contracts share: each job of a workflow (its OIDC permission, GitHub
//! environment, `runs-on`, `needs`, `if`, steps, the `role-to-assume`s and the `cargo xtask` calls,
//! each with its line) and the ways it runs ([`Job::runs`]): one [`Run`] per trigger and per value of
//! the `matrix.*` and `inputs.*` its templates name, under which every template of the job is
//! evaluated ([`Run::eval`]: literals, `inputs.X`, `github.event.inputs.X`, `matrix.X` and `||`).
//!
//! What a run is to GitHub's OIDC provider ([`Run::subject`]): the subject customised to
//! `repo`, `context` and `job_workflow_ref` (docs/SECURITY.md) —
//! `repo:<repo>:<context>:job_workflow_ref:<repo>/.github/workflows/<file>@<ref>`, the context being
//! `environment:<name>` in a GitHub environment, else `pull_request` on a pull request, else
//! `ref:<ref>`. The ref is the one the run is meant to have: `refs/heads/main` for a push to main, a
//! schedule (the default branch) and a dispatch (GitHub lets a person pick another branch; no role
//! trusts those), `refs/pull/<n>/merge` on a pull request.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

use super::Workflow;

/// One job of a workflow, as the contracts read it.
pub struct Job<'a> {
    pub workflow: &'a Workflow,
    pub id: String,
    pub line: usize,
    /// Whether it asks for an OIDC token (`id-token: write` at the job or the workflow level, `write-all`).
    pub oidc: bool,
    /// Its `environment:` (the name, unexpanded) and the line it is on.
    pub environment: Option<(String, usize)>,
    /// Each `role-to-assume:` of a configure-aws-credentials step, with its line.
    pub roles: Vec<(String, usize)>,
    /// `runs-on:` (a single label) and its line.
    pub runs_on: Option<(String, usize)>,
    pub needs: Vec<String>,
    /// The job's `if:`, as written.
    pub condition: Option<String>,
    pub steps: Vec<JobStep>,
    value: &'a Value,
}

/// A step: what it uses or runs, with its line.
pub struct JobStep {
    /// The line of its `run:` (its `- ` item's line when it has none).
    pub run_line: usize,
    pub uses: Option<String>,
    pub run: Option<String>,
}

impl JobStep {
    /// The `cargo xtask` calls of a `run:` (`["deploy", "$ENVIRONMENT", "--plan", …]`, quotes removed).
    pub fn xtask_calls(&self) -> Vec<Vec<String>> {
        let Some(run) = &self.run else { return Vec::new() };
        let joined = run.replace("\\\n", " ");
        let mut out = Vec::new();
        for part in joined.split(['\n', ';', '&', '|']) {
            let words: Vec<String> = part.split_whitespace().map(|w| w.trim_matches(['"', '\'']).to_string()).collect();
            if let Some(at) = words.windows(2).position(|w| w[0] == "cargo" && w[1] == "xtask") {
                out.push(words[at + 2..].iter().take_while(|w| !w.starts_with('>')).cloned().collect());
            }
        }
        out
    }
}

/// One way a job runs: the event that starts it, the GitHub environment it then runs in, and the
/// value each `matrix.*` / `inputs.*` its templates name takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Run {
    pub trigger: String,
    pub environment: Option<String>,
    pub values: BTreeMap<String, String>,
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
pub fn on(v: &Value) -> Option<&Value> {
    v.get("on").or_else(|| v.get(Value::Bool(true)))
}

/// Whether a push runs only for `main` (a reviewed merge: docs/INFRASTRUCTURE.md "First apply").
pub fn push_is_main_only(w: &Workflow) -> bool {
    let push = on(&w.value).and_then(|o| o.get("push")).and_then(Value::as_mapping);
    push.is_some_and(|p| {
        let branches = p.get("branches").and_then(Value::as_sequence);
        branches.is_some_and(|b| b.len() == 1 && b[0].as_str() == Some("main"))
            && p.keys().all(|k| matches!(k.as_str(), Some("branches" | "paths" | "paths-ignore")))
    })
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
        let at = |key: &str| key_line(&w.text, &["jobs", id, key]).unwrap_or(line);
        // A job's own permissions replace the workflow's.
        let oidc =
            asks_for_token(job.get("permissions").or_else(|| w.value.get("permissions")).unwrap_or(&Value::Null));
        let environment = match job.get("environment") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(m @ Value::Mapping(_)) => m.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
        .map(|e| (e, at("environment")));
        let runs_on = job.get("runs-on").and_then(Value::as_str).map(|r| (r.to_string(), at("runs-on")));
        let needs = match job.get("needs") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let condition = job.get("if").map(|c| match c {
            Value::String(s) => s.clone(),
            other => serde_norway::to_string(other).unwrap_or_default(),
        });
        let mut steps = Vec::new();
        let mut roles = Vec::new();
        let steps_line = at("steps");
        for (i, step) in job.get("steps").and_then(Value::as_sequence).into_iter().flatten().enumerate() {
            let line = nth_item_line(&w.text, steps_line, i).unwrap_or(steps_line);
            let uses = step.get("uses").and_then(Value::as_str).map(str::to_string);
            let run = step.get("run").and_then(Value::as_str).map(str::to_string);
            if uses.as_deref().is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials")) {
                if let Some(role) = step.get("with").and_then(|w| w.get("role-to-assume")).and_then(Value::as_str) {
                    let at = line_in_block(&w.text, line, "role-to-assume:", 0).unwrap_or(line);
                    roles.push((role.to_string(), at));
                }
            }
            let item = w.text.lines().nth(line - 1).unwrap_or("");
            let run_line =
                if item.contains("run:") { line } else { line_in_block(&w.text, line, "run:", 0).unwrap_or(line) };
            steps.push(JobStep { run_line, uses, run });
        }
        out.push(Job {
            workflow: w,
            id: id.to_string(),
            line,
            oidc,
            environment,
            roles,
            runs_on,
            needs,
            condition,
            steps,
            value: job,
        });
    }
    out
}

impl Job<'_> {
    /// The job as written.
    pub fn value(&self) -> &Value {
        self.value
    }

    /// `deploy.yml` job `deploy`
    pub fn label(&self) -> String {
        format!("{} job `{}`", self.workflow.file_name(), self.id)
    }

    /// Every template of the job whose values make its runs: the environment, the roles, `runs-on`,
    /// the job's `env:` values.
    fn templates(&self) -> Vec<String> {
        let mut t: Vec<String> = self.environment.iter().map(|(e, _)| e.clone()).collect();
        t.extend(self.roles.iter().map(|(r, _)| r.clone()));
        t.extend(self.runs_on.iter().map(|(r, _)| r.clone()));
        for env in [self.value.get("env"), self.workflow.value.get("env")].into_iter().flatten() {
            t.extend(env.as_mapping().into_iter().flatten().filter_map(|(_, v)| v.as_str()).map(str::to_string));
        }
        t
    }

    /// Every way the job can run, or why its runs can't be told.
    pub fn runs(&self) -> Result<Vec<Run>, String> {
        let mut names = BTreeSet::new();
        for t in self.templates() {
            for expr in expressions(&t) {
                names.extend(variables(expr));
            }
        }
        let mut runs = BTreeSet::new();
        for trigger in triggers(self.workflow) {
            let mut assignments = vec![BTreeMap::new()];
            for name in &names {
                let values = self.values_of(name, &trigger)?;
                assignments = assignments
                    .into_iter()
                    .flat_map(|a| {
                        values.iter().map(move |v| {
                            let mut a = a.clone();
                            a.insert(name.clone(), v.clone());
                            a
                        })
                    })
                    .collect();
            }
            for values in assignments {
                let mut run = Run { trigger: trigger.clone(), environment: None, values };
                if let Some((template, _)) = &self.environment {
                    run.environment = Some(run.eval(template)?).filter(|e| !e.is_empty());
                }
                runs.insert(run);
            }
        }
        Ok(runs.into_iter().collect())
    }

    /// The values `matrix.X` or `inputs.X` takes under `trigger`: a matrix's values and `include`s
    /// less single-key `exclude`s; a choice's options, a boolean's two values; empty where the trigger
    /// has no such input.
    fn values_of(&self, name: &str, trigger: &str) -> Result<Vec<String>, String> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        if let Some(input) = name.strip_prefix("inputs.") {
            let w = &self.workflow.value;
            let Some(spec) =
                on(w).and_then(|o| o.get(trigger)).and_then(|t| t.get("inputs")).and_then(|i| i.get(input))
            else {
                return Ok(vec![String::new()]);
            };
            let options: Vec<String> =
                spec.get("options").and_then(Value::as_sequence).into_iter().flatten().filter_map(scalar).collect();
            return match spec.get("type").and_then(Value::as_str).unwrap_or("string") {
                "choice" if !options.is_empty() => Ok(options),
                "boolean" => Ok(vec!["true".into(), "false".into()]),
                kind => Err(format!("input `{input}` is of type {kind} without options: its values can't be listed")),
            };
        }
        let key = name.strip_prefix("matrix.").unwrap_or(name);
        let matrix = self.value.get("strategy").and_then(|s| s.get("matrix")).and_then(Value::as_mapping);
        let Some(matrix) = matrix else { return Err(format!("`{name}` but the job has no matrix")) };
        let mut values: Vec<String> = match matrix.get(key) {
            Some(Value::Sequence(list)) => list.iter().filter_map(scalar).collect(),
            Some(other) => {
                return Err(format!("matrix `{key}` is `{}`, not a list", scalar(other).unwrap_or_default()))
            }
            None => Vec::new(),
        };
        for entry in matrix.get("include").and_then(Value::as_sequence).into_iter().flatten() {
            values.extend(entry.get(key).and_then(scalar));
        }
        for entry in matrix.get("exclude").and_then(Value::as_sequence).into_iter().flatten() {
            if entry.as_mapping().is_some_and(|m| m.len() == 1) {
                let gone = entry.get(key).and_then(scalar);
                values.retain(|v| Some(v) != gone.as_ref());
            }
        }
        values.sort();
        values.dedup();
        if values.is_empty() {
            return Err(format!("matrix has no values for `{key}`"));
        }
        Ok(values)
    }

    /// A variable of the job's (or the workflow's) `env:`, as written.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        [self.value.get("env"), self.workflow.value.get("env")]
            .into_iter()
            .flatten()
            .find_map(|e| e.get(name))
            .and_then(Value::as_str)
    }

    /// The environment a `cargo xtask` call's first argument names in `run`: a literal, or
    /// `$ENVIRONMENT` (or `${ENVIRONMENT}`) from the job's `env:`.
    pub fn call_env(&self, call: &[String], run: &Run) -> Option<String> {
        const SUBCOMMANDS: &[&str] = &["certs", "install", "check", "rotate-issuer", "down", "up"];
        let arg = call.iter().skip(1).find(|a| !a.starts_with('-') && !SUBCOMMANDS.contains(&a.as_str()))?;
        let var = arg.strip_prefix("${").and_then(|a| a.strip_suffix('}')).or_else(|| arg.strip_prefix('$'));
        match var {
            Some(var) => run.eval(self.env_var(var)?).ok(),
            None => Some(arg.clone()),
        }
    }

    /// Every `cargo xtask` call of the job, with the line of its `run:`.
    pub fn xtask_calls(&self) -> Vec<(Vec<String>, usize)> {
        self.steps.iter().flat_map(|s| s.xtask_calls().into_iter().map(|c| (c, s.run_line))).collect()
    }
}

impl Workflow {
    /// `deploy.yml`
    pub fn file_name(&self) -> String {
        self.path.file_name().unwrap_or_default().to_string_lossy().into_owned()
    }

    /// Whether another workflow can call it (`workflow_call`): then any branch can run its jobs.
    pub fn callable(&self) -> bool {
        triggers(self).iter().any(|t| t == "workflow_call")
    }
}

impl Run {
    /// The value of a template in this run (`operations-${{ matrix.env }}` → `operations-dev`).
    pub fn eval(&self, template: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${{") {
            let end = rest[start..].find("}}").ok_or_else(|| format!("`{template}` has an unclosed `${{{{`"))?;
            out.push_str(&rest[..start]);
            out.push_str(&self.value(rest[start + 3..start + end].trim())?);
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// An expression: `a || b` (the first non-empty), `'literal'`, `inputs.X`, `matrix.X`.
    pub fn value(&self, expr: &str) -> Result<String, String> {
        for alternative in expr.split("||").map(str::trim) {
            let v = if let Some(lit) = alternative.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
                lit.to_string()
            } else if matches!(alternative, "github.run_id" | "github.run_attempt") {
                // Known only when the run starts: kept, so a runner label can be read whole.
                format!("${{{{ {alternative} }}}}")
            } else if let Some(name) = variable(alternative) {
                self.values.get(&name).cloned().unwrap_or_default()
            } else {
                return Err(format!(
                    "`${{{{ {alternative} }}}}` can't be expanded (literals, inputs.*, matrix.* and || only)"
                ));
            };
            if !v.is_empty() {
                return Ok(v);
            }
        }
        Ok(String::new())
    }

    /// The ref the run is meant to have (see the module's note).
    pub fn git_ref(&self) -> &'static str {
        match self.trigger.as_str() {
            "pull_request" | "pull_request_target" => "refs/pull/1/merge",
            _ => "refs/heads/main",
        }
    }

    /// The OIDC subject of the run of `w` (customised: repo, context, job_workflow_ref).
    pub fn subject(&self, repo: &str, w: &Workflow) -> String {
        let context = match (&self.environment, self.trigger.as_str()) {
            (Some(e), _) => format!("environment:{e}"),
            (None, "pull_request") => "pull_request".to_string(),
            (None, _) => format!("ref:{}", self.git_ref()),
        };
        format!("repo:{repo}:{context}:job_workflow_ref:{repo}/.github/workflows/{}@{}", w.file_name(), self.git_ref())
    }
}

/// The `${{ … }}` expressions of a template.
fn expressions(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        let Some(end) = rest[start..].find("}}") else { break };
        out.push(rest[start + 3..start + end].trim());
        rest = &rest[start + end + 2..];
    }
    out
}

/// The `matrix.X` / `inputs.X` an expression reads (also inside `fromJSON(…)[…]`).
fn variables(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).filter_map(variable).collect()
}

/// `matrix.env` → `matrix.env`; `inputs.x` and `github.event.inputs.x` → `inputs.x`.
fn variable(word: &str) -> Option<String> {
    if let Some(m) = word.strip_prefix("matrix.") {
        return Some(format!("matrix.{m}"));
    }
    word.strip_prefix("inputs.").or_else(|| word.strip_prefix("github.event.inputs.")).map(|i| format!("inputs.{i}"))
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

/// The line of the `nth` `- ` item of the sequence under the key on line `start`.
fn nth_item_line(text: &str, start: usize, nth: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let head = lines.get(start.checked_sub(1)?)?;
    let indent = head.len() - head.trim_start().len();
    let items: Vec<usize> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| {
            l.trim().is_empty() || l.trim_start().starts_with('#') || l.len() - l.trim_start().len() > indent
        })
        .filter(|(_, l)| l.trim_start().starts_with("- "))
        .map(|(i, l)| (i, l.len() - l.trim_start().len()))
        .scan(None, |first: &mut Option<usize>, (i, ind)| {
            let f = *first.get_or_insert(ind);
            Some((i, ind == f))
        })
        .filter(|(_, top)| *top)
        .map(|(i, _)| i + 1)
        .collect();
    items.get(nth).copied()
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

    const DEPLOY: &str = "on:\n  workflow_dispatch:\n    inputs:\n      environment:\n        type: choice\n        options: [staging, production]\npermissions: {}\njobs:\n  plan:\n    runs-on: ubuntu-24.04\n    permissions:\n      id-token: write\n    env:\n      ENVIRONMENT: ${{ inputs.environment }}\n    steps:\n      - uses: actions/checkout@v4\n      # a comment\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[inputs.environment] }}\n      - run: cargo xtask plan \"$ENVIRONMENT\"\n  apply:\n    needs: plan\n    runs-on: codebuild-authorworks-${{ inputs.environment }}-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}\n    environment: ${{ inputs.environment }}\n    steps:\n      - run: |\n          cargo xtask deploy \"$ENVIRONMENT\" --plan \"target/xtask/plans/$ENVIRONMENT.tfplan\" --yes\n";

    #[test]
    fn the_reader_expands_each_run_and_finds_lines_and_calls() {
        let w = workflow(Path::new(".github/workflows/deploy.yml"), DEPLOY);
        let js = jobs(&w);
        let plan = &js[0];
        assert_eq!((plan.id.as_str(), plan.line, plan.oidc), ("plan", 9, true));
        assert_eq!(plan.roles, [("${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[inputs.environment] }}".to_string(), 20)]);
        assert_eq!(plan.steps.iter().map(|s| s.run_line).collect::<Vec<_>>(), [16, 18, 21]);
        assert_eq!(plan.xtask_calls(), [(vec!["plan".to_string(), "$ENVIRONMENT".to_string()], 21)]);
        let runs = plan.runs().unwrap();
        let envs: Vec<String> = runs.iter().map(|r| r.eval("${{ inputs.environment }}").unwrap()).collect();
        assert_eq!(envs, ["production", "staging"]);
        assert_eq!(plan.call_env(&plan.xtask_calls()[0].0, &runs[1]).as_deref(), Some("staging"));
        assert_eq!(
            runs[1].subject("o/r", &w),
            "repo:o/r:ref:refs/heads/main:job_workflow_ref:o/r/.github/workflows/deploy.yml@refs/heads/main"
        );
        let apply = &js[1];
        assert_eq!(apply.needs, ["plan"]);
        let runs = apply.runs().unwrap();
        assert_eq!(runs[0].environment.as_deref(), Some("production"));
        assert_eq!(
            runs[0].subject("o/r", &w),
            "repo:o/r:environment:production:job_workflow_ref:o/r/.github/workflows/deploy.yml@refs/heads/main"
        );
        assert_eq!(
            runs[0].eval(&apply.runs_on.as_ref().unwrap().0).unwrap(),
            "codebuild-authorworks-production-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}"
        );
        assert_eq!(
            apply.xtask_calls()[0].0[..4],
            ["deploy", "$ENVIRONMENT", "--plan", "target/xtask/plans/$ENVIRONMENT.tfplan"]
        );
        let free = workflow(Path::new("x.yml"), &DEPLOY.replace("type: choice", "type: string"));
        assert!(jobs(&free)[0].runs().unwrap_err().contains("input `environment` is of type string without options"));
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
