//! The CI identity contract: every role a workflow job assumes trusts exactly the OIDC subject the job
//! runs with — repository, context (its GitHub environment, `pull_request`, or its ref) and the workflow
//! file at its ref (`job_workflow_ref`), the subject format docs/SECURITY.md sets up — and nothing else
//! reaches the roles that change things. Jobs and runs come from the reader (`workflows.rs`).
//!
//! Which role a job assumes: `${{ vars.AWS_<NAME>_ROLE_ARN }}` (a GitHub environment's variable: the
//! stack output `github_<name>_role_arn` of the environment the GitHub environment `<env>` or
//! `<purpose>-<env>` is for), `${{ fromJSON(vars.AWS_<NAME>_ROLE_ARNS)[<env>] }}` (a repository
//! variable keyed by environment, for jobs in no GitHub environment: the plan jobs), or a literal ARN.
//!
//! The rules, for each real environment's plan: a job's run is trusted by the role it assumes; each
//! trusted subject is in the customised format, names a workflow of the repository, and is the
//! subject of a job that assumes the role (no trust left over); the deploy role is trusted only in a
//! GitHub environment at `refs/heads/main`, from a workflow nothing else can call, and no pull request,
//! schedule, other branch or other workflow's call can run as what it trusts; the operations role only
//! from operations.yml on main; the plan role only from plan jobs (`plan`, `drift`, `cost-report`,
//! `pr-comment`, `promotion`); a pull-request job that asks for a token excludes forks in its `if:`,
//! and a job a fork's pull request runs names no secret.

use std::collections::{BTreeMap, BTreeSet};

use super::workflows::{jobs, push_is_main_only, triggers, Job, Run};
use super::{Inputs, Plan, Resource, Workflow};
use crate::finding::Finding;

/// The claim GitHub's OIDC token carries the subject in.
pub const SUBJECT: &str = "token.actions.githubusercontent.com:sub";
/// The stack outputs naming the roles with rules of their own.
pub const DEPLOY_ROLE_OUTPUT: &str = "github_deploy_role_arn";
pub const OPERATIONS_ROLE_OUTPUT: &str = "github_operations_role_arn";
pub const PLAN_ROLE_OUTPUT: &str = "github_plan_role_arn";
/// The workflow the operations role serves.
const OPERATIONS_WORKFLOW: &str = "operations.yml";
/// What a job with the plan role may run: nothing that writes outside the state lock.
pub const PLAN_COMMANDS: &[&str] =
    &["plan", "drift", "cost-report", "pr-comment", "promotion", "tools", "doctor", "validate"];
/// A job condition that keeps forks' pull requests out.
const FORK_GUARDS: &[&str] = &[
    "github.event.pull_request.head.repo.full_name == github.repository",
    "github.event.pull_request.head.repo.fork == false",
    "!github.event.pull_request.head.repo.fork",
];

/// The environment a GitHub environment is for: `dev` for `dev` and `operations-dev`.
pub fn target<'e>(github_environment: &str, envs: &'e [String]) -> Option<&'e String> {
    envs.iter().find(|e| github_environment == e.as_str() || github_environment.ends_with(&format!("-{e}")))
}

/// A `role-to-assume`: the stack output it holds and, for a repository variable keyed by environment,
/// the key's expression; or a literal ARN.
#[derive(Debug, PartialEq)]
pub enum RoleRef {
    Output { output: String, key: Option<String> },
    Arn(String),
}

pub fn role_ref(text: &str) -> Result<RoleRef, String> {
    let text = text.trim();
    if text.starts_with("arn:") {
        return Ok(RoleRef::Arn(text.to_string()));
    }
    let bad = || {
        format!("`{text}` is not `${{{{ vars.AWS_<NAME>_ROLE_ARN }}}}`, `${{{{ fromJSON(vars.AWS_<NAME>_ROLE_ARNS)[<env>] }}}}` (the stack output github_<name>_role_arn) nor a role ARN: which role it is can't be told")
    };
    let expr = text.strip_prefix("${{").and_then(|t| t.strip_suffix("}}")).map(str::trim).ok_or_else(bad)?;
    let name = |var: &str, suffix: &str| {
        var.strip_prefix("vars.AWS_")
            .and_then(|v| v.strip_suffix(suffix))
            .map(|m| format!("github_{}_role_arn", m.to_ascii_lowercase()))
    };
    if let Some(inner) = expr.strip_prefix("fromJSON(").or_else(|| expr.strip_prefix("fromJson(")) {
        let (var, rest) = inner.split_once(')').ok_or_else(bad)?;
        let key = rest.trim().strip_prefix('[').and_then(|k| k.strip_suffix(']')).ok_or_else(bad)?;
        let output = name(var.trim(), "_ROLE_ARNS").ok_or_else(bad)?;
        return Ok(RoleRef::Output { output, key: Some(key.trim().to_string()) });
    }
    Ok(RoleRef::Output { output: name(expr, "_ROLE_ARN").ok_or_else(bad)?, key: None })
}

/// The environment whose role a run of `job` assumes with `role`: the key of a keyed variable, else the
/// environment the run's GitHub environment is for.
pub fn role_target(run: &Run, role: &str, envs: &[String]) -> Result<Option<String>, String> {
    match role_ref(role)? {
        RoleRef::Output { key: Some(key), .. } => Ok(Some(run.value(&key)?)),
        _ => match &run.environment {
            Some(gh) => Ok(target(gh, envs).cloned()),
            None => Err(format!(
                "`{role}` is a GitHub environment's variable, but the job runs in no GitHub environment (on {}): read a repository variable keyed by environment instead, `fromJSON(vars.AWS_<NAME>_ROLE_ARNS)[<env>]`",
                run.trigger
            )),
        },
    }
}

/// The GitHub subjects each role of the plan trusts, by role address.
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

/// Whether a trusted subject admits `subject` (IAM's StringLike wildcards `*` and `?` included).
pub fn admits(pattern: &str, subject: &str) -> bool {
    glob(pattern.as_bytes(), subject.as_bytes())
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
    match role_ref(role_to_assume)? {
        RoleRef::Arn(arn) => {
            let name = arn.split_once(":role/").map_or(arn.as_str(), |(_, n)| n);
            let name = name.rsplit('/').next().unwrap_or(name);
            plan.of_type("aws_iam_role")
                .find(|r| r.text("name") == Some(name))
                .ok_or_else(|| format!("`{role_to_assume}` names role `{name}`, which the plan doesn't have"))
        }
        RoleRef::Output { output, .. } => output_role(plan, &output).ok_or_else(|| {
            format!("`{role_to_assume}` holds the stack output `{output}`, which names no aws_iam_role in the plan")
        }),
    }
}

fn output_role<'p>(plan: &'p Plan, output: &str) -> Option<&'p Resource> {
    plan.output_sources(output, None).into_iter().find(|r| r.kind == "aws_iam_role")
}

/// A trusted subject in the customised format.
struct Trusted<'s> {
    context: &'s str,
    file: &'s str,
    git_ref: &'s str,
}

/// A subject of another, exactly named repository: that repository's CI (a service's image push role),
/// whose workflows are not here to check it against. A wildcard in the repository is not one.
fn other_repository(pattern: &str, repo: &str) -> bool {
    let named = pattern.strip_prefix("repo:").and_then(|p| p.split(':').next()).unwrap_or(repo);
    named != repo && !named.contains(['*', '?'])
}

fn parse_subject<'s>(subject: &'s str, repo: &str) -> Option<Trusted<'s>> {
    let (left, right) = subject.split_once(":job_workflow_ref:")?;
    let context = left.strip_prefix(&format!("repo:{repo}:"))?;
    let (path, git_ref) = right.strip_prefix(&format!("{repo}/.github/workflows/"))?.split_once('@')?;
    Some(Trusted { context, file: path, git_ref })
}

/// The triggers a job runs on: the workflow's, less those its `if:` rules out
/// (`github.event_name == 'push'`, `!= 'pull_request'`), less those a job it needs never runs on.
pub fn job_triggers(all: &[Job<'_>], job: &Job<'_>) -> Vec<String> {
    let mut out = triggers(job.workflow);
    let condition = job.condition.clone().unwrap_or_default().replace('"', "'");
    let only: Vec<&str> =
        out.iter().map(String::as_str).filter(|t| condition.contains(&format!("github.event_name == '{t}'"))).collect();
    if !only.is_empty() && !condition.contains("||") {
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        out.retain(|t| only.contains(t));
    }
    out.retain(|t| !condition.contains(&format!("github.event_name != '{t}'")));
    let runs_anyway = ["always()", "failure()", "cancelled()"].iter().any(|c| condition.contains(c));
    if !runs_anyway {
        for need in &job.needs {
            if let Some(n) = all.iter().find(|j| &j.id == need && j.id != job.id) {
                let theirs = job_triggers(all, n);
                out.retain(|t| theirs.contains(t));
            }
        }
    }
    out
}

/// The runs of a job on the triggers it runs on.
fn live_runs(all: &[Job<'_>], job: &Job<'_>) -> Result<Vec<Run>, String> {
    let live = job_triggers(all, job);
    Ok(job.runs()?.into_iter().filter(|r| live.contains(&r.trigger)).collect())
}

/// Whether a run happens without a reviewed merge to main behind it: a pull request, a schedule,
/// another workflow's run or call, a push to another branch or a tag.
fn unattended(run: &Run, w: &Workflow) -> bool {
    match run.trigger.as_str() {
        "workflow_dispatch" => false,
        "push" => !push_is_main_only(w),
        _ => true,
    }
}

/// What the contract needs to know of the environments: their names (terraform's), and the repository
/// the roles trust (`github_repository` of the environment's `module "stack"` call).
pub struct Settings {
    pub envs: Vec<String>,
    pub repo: String,
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real() {
        return Vec::new();
    }
    let envs: Vec<String> = crate::terraform::environment_dirs(&inputs.root)
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let repo = inputs
        .files()
        .stack_argument("github_repository")
        .ok()
        .flatten()
        .and_then(|e| e.as_str().map(str::to_string))
        .unwrap_or_default();
    check_with(&inputs.workflows, inputs.env.name(), &inputs.plan, &Settings { envs, repo })
}

/// The contract for environment `env` over `workflows` and `env`'s plan.
pub fn check_with(workflows: &[Workflow], env: &str, plan: &Plan, settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    let repo = &settings.repo;
    let trusted = github_trusts(plan);
    let [deploy, operations, plan_role] = [DEPLOY_ROLE_OUTPUT, OPERATIONS_ROLE_OUTPUT, PLAN_ROLE_OUTPUT]
        .map(|o| output_role(plan, o).map(|r| &r.address));
    // role address → the subjects of the runs that assume it, and where.
    let mut assumed: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for w in workflows {
        let all = jobs(w);
        for job in &all {
            let at =
                |line: usize, message: String| Finding::new(&w.path, Some(line), format!("{}: {message}", job.label()));
            let mut once = |key: String, f: Finding| {
                if reported.insert((w.file_name(), job.id.clone(), key)) {
                    findings.push(f);
                }
            };
            let runs = match live_runs(&all, job) {
                Ok(runs) => runs,
                Err(why) if job.oidc => {
                    let line = job.environment.as_ref().map_or(job.line, |(_, l)| *l);
                    once(why.clone(), at(line, format!("asks for an OIDC token but how it runs can't be told, so no role in `{env}` can be checked to trust it: {why}")));
                    continue;
                }
                Err(_) => continue,
            };
            let fork_runs = runs.iter().any(|r| r.trigger == "pull_request") && !fork_guarded(job);
            if fork_runs && serde_norway::to_string(job.value()).unwrap_or_default().contains("secrets.") {
                once("secrets".into(), at(job.line, "runs for pull requests from forks too (its `if:` doesn't exclude them), yet names a secret: a fork's job gets none, and must not ask".into()));
            }
            if !job.oidc {
                continue;
            }
            for run in &runs {
                let env_line = job.environment.as_ref().map_or(job.line, |(_, l)| *l);
                if let Some(gh) = &run.environment {
                    if target(gh, &settings.envs).is_none() {
                        once(format!("gh {gh}"), at(env_line, format!("runs in GitHub environment `{gh}` (on {}), which is for no environment of terraform/environments (name it `<env>` or `<purpose>-<env>`)", run.trigger)));
                        continue;
                    }
                }
                if run.trigger == "pull_request" && fork_runs {
                    once("fork".into(), at(job.line, format!("asks for an OIDC token on pull requests without excluding forks: guard it with `if: {}` (a fork's pull request gets the emulated plan instead, with no token)", FORK_GUARDS[0])));
                }
                if matches!(run.trigger.as_str(), "pull_request_target" | "workflow_run") {
                    once(run.trigger.clone(), at(job.line, format!("asks for an OIDC token on {}, which runs with the base repository's rights for a change nobody reviewed", run.trigger)));
                    continue;
                }
                let subject = run.subject(repo, w);
                if job.roles.is_empty() {
                    let for_env = run.environment.as_deref().and_then(|gh| target(gh, &settings.envs));
                    if for_env.is_some_and(|e| e == env) && !trusted.values().flatten().any(|p| admits(p, &subject)) {
                        once(
                            format!("none {subject}"),
                            at(
                                env_line,
                                format!("asks for an OIDC token as {subject}, but no role in `{env}`'s plan trusts it"),
                            ),
                        );
                    }
                    continue;
                }
                for (role, line) in &job.roles {
                    let for_env = match role_target(run, role, &settings.envs) {
                        Ok(e) => e,
                        Err(why) => {
                            once(format!("target {role}"), at(*line, why));
                            continue;
                        }
                    };
                    if for_env.as_deref() != Some(env) {
                        continue;
                    }
                    let r = match assumed_role(plan, role) {
                        Ok(r) => r,
                        Err(why) => {
                            once(format!("role {role}"), at(*line, format!("{why} ({})", plan.path.display())));
                            continue;
                        }
                    };
                    if Some(&r.address) == operations && w.file_name() != OPERATIONS_WORKFLOW {
                        once("ops".into(), at(*line, format!("assumes the operations role {} (stack output {OPERATIONS_ROLE_OUTPUT}), which only {OPERATIONS_WORKFLOW} may", r.address)));
                    }
                    if Some(&r.address) == plan_role {
                        for (call, call_line) in job.xtask_calls() {
                            let verb = call.first().map(String::as_str).unwrap_or("");
                            if !PLAN_COMMANDS.contains(&verb) {
                                once(format!("plan {call_line}"), at(call_line, format!("runs `cargo xtask {}` with the read-only plan role {} (stack output {PLAN_ROLE_OUTPUT}), which only plan jobs ({}) may assume", verb, r.address, PLAN_COMMANDS.join(", "))));
                            }
                        }
                    }
                    let patterns = trusted.get(&r.address).cloned().unwrap_or_default();
                    let allowed = patterns.iter().any(|p| admits(p, &subject));
                    if !allowed {
                        let trusts =
                            if patterns.is_empty() { "no GitHub subject".to_string() } else { patterns.join(", ") };
                        once(format!("untrusted {role} {subject}"), at(*line, format!("runs as {subject} (on {}) and assumes {role} = {}, whose trust allows {trusts}, not that subject: AWS refuses it", run.trigger, r.address)));
                        continue;
                    }
                    assumed
                        .entry(r.address.clone())
                        .or_default()
                        .push((subject.clone(), format!("{}:{line}", w.path.display())));
                    if Some(&r.address) == deploy && (unattended(run, w) || w.callable()) {
                        let why = if w.callable() {
                            format!("{} can be called by any branch's workflow (workflow_call)", w.file_name())
                        } else {
                            format!("a run on {} has no reviewed merge behind it", run.trigger)
                        };
                        once(format!("deploy {}", run.trigger), at(*line, format!("can get the deploy role {} (stack output {DEPLOY_ROLE_OUTPUT}) as {subject}: {why}", r.address)));
                    }
                }
            }
        }
    }
    findings.extend(trust_findings(workflows, plan, settings, &trusted, &assumed, [deploy, operations, plan_role]));
    findings
}

fn fork_guarded(job: &Job<'_>) -> bool {
    let condition = job.condition.clone().unwrap_or_default().replace('"', "'");
    FORK_GUARDS.iter().any(|g| condition.contains(g))
}

/// The trust side: every subject a role trusts is in the customised format, exact, names a workflow of
/// the repository, fits what the role is for, and is the subject of a job that assumes the role.
fn trust_findings(
    workflows: &[Workflow],
    plan: &Plan,
    settings: &Settings,
    trusted: &BTreeMap<String, Vec<String>>,
    assumed: &BTreeMap<String, Vec<(String, String)>>,
    [deploy, operations, plan_role]: [Option<&String>; 3],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let repo = &settings.repo;
    for (address, patterns) in trusted {
        let Some(role) = plan.of_type("aws_iam_role").find(|r| &r.address == address) else { continue };
        let what = if Some(address) == deploy {
            "the deploy role"
        } else if Some(address) == operations {
            "the operations role"
        } else if Some(address) == plan_role {
            "the plan role"
        } else {
            "this role"
        };
        for pattern in patterns {
            if other_repository(pattern, repo) {
                continue;
            }
            let Some(t) = parse_subject(pattern, repo) else {
                findings.push(plan.finding(role, format!("{what} trusts `{pattern}`, which names no workflow file and ref: every workflow of every branch that gets that context gets the role. Trust `repo:{repo}:<context>:job_workflow_ref:{repo}/.github/workflows/<file>@<ref>` (the OIDC subject customised to repo, context and job_workflow_ref: docs/SECURITY.md)")));
                continue;
            };
            let file = workflows.iter().find(|w| w.file_name() == t.file);
            let mut wrong = Vec::new();
            if t.context.contains(['*', '?'])
                || t.file.contains(['*', '?'])
                || (t.git_ref.contains(['*', '?'])
                    && !(t.git_ref == "refs/pull/*/merge" && t.context == "pull_request"))
            {
                wrong.push("a wildcard (only a pull request's number may be one: `refs/pull/*/merge`)".to_string());
            }
            match file {
                None => wrong.push(format!(".github/workflows/{} does not exist", t.file)),
                Some(w) if Some(address) == deploy && w.callable() => {
                    wrong.push(format!("{} can be called (workflow_call) by a workflow of any branch", t.file))
                }
                Some(_) => {}
            }
            if (Some(address) == deploy || Some(address) == operations)
                && (t.git_ref != "refs/heads/main" || !t.context.starts_with("environment:"))
            {
                wrong.push(format!("{what} is for a GitHub environment's jobs at refs/heads/main only"));
            }
            if Some(address) == operations && t.file != OPERATIONS_WORKFLOW {
                wrong.push(format!("{what} is for {OPERATIONS_WORKFLOW} only"));
            }
            if Some(address) == plan_role && !(t.context == "pull_request" || t.context == "ref:refs/heads/main") {
                wrong.push(format!("{what} is for plan jobs outside GitHub environments (context `pull_request` or `ref:refs/heads/main`)"));
            }
            let users = assumed.get(address).map(Vec::as_slice).unwrap_or_default();
            if wrong.is_empty() && !users.iter().any(|(s, _)| admits(pattern, s)) {
                let seen: BTreeSet<&str> = users.iter().map(|(_, at)| at.as_str()).collect();
                let seen = if seen.is_empty() {
                    "no job assumes it".to_string()
                } else {
                    format!("it is assumed at {}", seen.into_iter().collect::<Vec<_>>().join(", "))
                };
                wrong.push(format!("no job of .github/workflows/{} runs as that and assumes it ({seen})", t.file));
            }
            if !wrong.is_empty() {
                findings.push(plan.finding(role, format!("{what} trusts `{pattern}`: {}", wrong.join("; "))));
            }
        }
    }
    findings
}

#[cfg(test)]
#[path = "ci_tests.rs"]
mod tests;
