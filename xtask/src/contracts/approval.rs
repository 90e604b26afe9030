//! Approval after the plan: in every path that deploys a real environment, the job that deploys it
//! runs in the GitHub environment named after it (where a protected environment's reviewers are), so
//! approval is asked for that job alone; it needs a job that planned the environment outside any
//! GitHub environment and uploaded the plan, downloads that plan, and applies it with
//! `deploy <env> --plan <file>`, never planning itself. The reviewers approve a plan that exists.
//! A finding names the deploying job's file:line and the plan job it needs (or lacks).

use std::collections::BTreeSet;

use super::ci::job_triggers;
use super::workflows::{jobs, Job, Run};
use super::{Inputs, Workflow};
use crate::finding::Finding;

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real() {
        return Vec::new();
    }
    check_with(&inputs.workflows, inputs.env.name())
}

fn calls_of(job: &Job<'_>, verb: &str) -> Vec<(Vec<String>, usize)> {
    job.xtask_calls()
        .into_iter()
        .filter(|(c, _)| c.first().is_some_and(|v| v == verb) && !c.iter().any(|a| a == "--dry-run"))
        .collect()
}

fn uses(job: &Job<'_>, action: &str) -> bool {
    job.steps.iter().any(|s| s.uses.as_deref().is_some_and(|u| u.starts_with(action)))
}

/// Whether `job` plans `env` in `run`'s terms (a plan job of a matrix plans each of its values).
fn plans(job: &Job<'_>, env: &str, run: &Run) -> bool {
    let own = job.runs().unwrap_or_default();
    calls_of(job, "plan").iter().any(|(call, _)| {
        !call.iter().any(|a| a == "--emulated")
            && (job.call_env(call, run).as_deref() == Some(env)
                || own.iter().any(|r| job.call_env(call, r).as_deref() == Some(env)))
    })
}

pub fn check_with(workflows: &[Workflow], env: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut reported = BTreeSet::new();
    for w in workflows {
        let all = jobs(w);
        for job in &all {
            let deploys = calls_of(job, "deploy");
            if deploys.is_empty() {
                continue;
            }
            let live = job_triggers(&all, job);
            let Ok(runs) = job.runs() else { continue };
            for run in runs.iter().filter(|r| live.contains(&r.trigger)) {
                for (call, line) in &deploys {
                    if job.call_env(call, run).as_deref() != Some(env) {
                        continue;
                    }
                    let planners: Vec<&Job> =
                        all.iter().filter(|j| job.needs.contains(&j.id) && plans(j, env, run)).collect();
                    let mut problems = Vec::new();
                    if run.environment.as_deref() != Some(env) {
                        let now = run.environment.as_deref().map_or("none".to_string(), |e| format!("`{e}`"));
                        problems.push(format!(
                            "it runs in GitHub environment {now}, not `{env}`, so `{env}`'s reviewers approve nothing"
                        ));
                    }
                    if !call.iter().any(|a| a == "--plan") {
                        problems.push(format!("`cargo xtask deploy` without `--plan` (line {line}) plans and applies in one go: what is applied was never shown before approval"));
                    }
                    if let Some((_, l)) = calls_of(job, "plan").first() {
                        problems.push(format!("it plans itself (line {l}), after the approval"));
                    }
                    match planners.as_slice() {
                        [] => problems.push(format!(
                            "it needs no job that plans `{env}` (`cargo xtask plan {env}`) and uploads the plan"
                        )),
                        [p, ..] => {
                            let at = format!("{} ({}:{})", p.label(), w.path.display(), p.line);
                            if let Some((gh, _)) = &p.environment {
                                problems.push(format!("the plan job {at} runs in GitHub environment `{gh}`: approval would come before the plan"));
                            }
                            if !uses(p, "actions/upload-artifact") {
                                problems.push(format!("the plan job {at} uploads no plan"));
                            }
                            if !uses(job, "actions/download-artifact") {
                                problems.push(format!("it downloads no plan from {at}"));
                            }
                        }
                    }
                    for p in problems {
                        if reported.insert((w.file_name(), job.id.clone(), p.clone())) {
                            let message = format!("{}: deploys `{env}` (line {line}), but {p}", job.label());
                            findings.push(Finding::new(&w.path, Some(job.line), message));
                        }
                    }
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::workflows::workflow;
    use std::path::Path;

    const GOOD: &str = "on:\n  workflow_dispatch:\n    inputs:\n      environment:\n        type: choice\n        options: [staging, production]\njobs:\n  plan:\n    env:\n      ENVIRONMENT: ${{ inputs.environment }}\n    steps:\n      - run: cargo xtask plan \"$ENVIRONMENT\"\n      - uses: actions/upload-artifact@v7\n  apply:\n    needs: [plan]\n    environment: ${{ inputs.environment }}\n    env:\n      ENVIRONMENT: ${{ inputs.environment }}\n    steps:\n      - uses: actions/download-artifact@v8\n      - run: cargo xtask deploy \"$ENVIRONMENT\" --plan \"target/xtask/plans/$ENVIRONMENT.tfplan\" --yes\n";

    fn found(text: &str) -> Vec<String> {
        let w = workflow(Path::new(".github/workflows/deploy.yml"), text);
        check_with(&[w], "production").iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn the_apply_job_alone_is_approved_and_applies_the_uploaded_plan() {
        assert_eq!(found(GOOD), Vec::<String>::new());
    }

    #[test]
    fn each_way_approval_could_come_before_the_plan_is_named() {
        let one_job = GOOD.replace("      - run: cargo xtask deploy \"$ENVIRONMENT\" --plan \"target/xtask/plans/$ENVIRONMENT.tfplan\" --yes\n", "      - run: cargo xtask plan \"$ENVIRONMENT\"\n      - run: cargo xtask deploy \"$ENVIRONMENT\" --yes\n").replace("    needs: [plan]\n", "");
        let f = found(&one_job);
        assert!(f.contains(&".github/workflows/deploy.yml:14: deploy.yml job `apply`: deploys `production` (line 21), but `cargo xtask deploy` without `--plan` (line 21) plans and applies in one go: what is applied was never shown before approval".to_string()), "{f:#?}");
        assert!(f.iter().any(|m| m.ends_with("but it plans itself (line 20), after the approval")), "{f:#?}");
        assert!(
            f.iter().any(|m| m.ends_with(
                "but it needs no job that plans `production` (`cargo xtask plan production`) and uploads the plan"
            )),
            "{f:#?}"
        );
        let gated_plan =
            GOOD.replace("  plan:\n    env:", "  plan:\n    environment: ${{ inputs.environment }}\n    env:");
        assert!(found(&gated_plan)[0].contains("the plan job deploy.yml job `plan` (.github/workflows/deploy.yml:8) runs in GitHub environment `${{ inputs.environment }}`: approval would come before the plan"));
        let no_env = GOOD.replace("    environment: ${{ inputs.environment }}\n", "");
        assert!(found(&no_env)[0].ends_with(
            "but it runs in GitHub environment none, not `production`, so `production`'s reviewers approve nothing"
        ));
        let no_upload = GOOD.replace("      - uses: actions/upload-artifact@v7\n", "");
        assert!(found(&no_upload)[0]
            .ends_with("the plan job deploy.yml job `plan` (.github/workflows/deploy.yml:8) uploads no plan"));
    }
}
