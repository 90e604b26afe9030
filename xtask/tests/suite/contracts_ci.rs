//! The CI contracts over the repository's own workflows and dev's plan (`contracts dev` of
//! `validate`): per rule a copy of the repository with one change to a workflow and the finding that
//! names both ends. No change is in terraform/, so every copy reuses the dev plan made once per run.
//!
//! The roles' trust, the plan role and the CI runner are terraform's (the stack's
//! `github_plan_role_arn`, `ci_runner_project`, and trust in the subject format docs/SECURITY.md
//! describes): the cases marked "terraform's side" hold once those are in the plan.

use crate::common::*;

/// `validate --only "contracts dev"` in the copy, with the repository's dev plan (its key matches).
fn contracts_dev(sb: &Sandbox) -> Run {
    contracts_with_the_plan_of(&repository().0, sb, "dev")
}

const OPS_ROLE: &str = "role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}";
const APPLY: &str =
    "      - run: cargo xtask deploy \"$ENVIRONMENT\" --plan \"target/xtask/plans/$ENVIRONMENT.tfplan\" --yes";

#[test]
fn ci_a_job_assuming_a_role_that_does_not_trust_it() {
    let sb =
        one_change(".github/workflows/operations.yml", OPS_ROLE, "role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    finds(
        &contracts_dev(&sb),
        &[
            ".github/workflows/operations.yml:",
            "operations.yml job `run`: runs as repo:authorworks/authorworks-infra:environment:operations-dev:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/operations.yml@refs/heads/main (on schedule) and assumes ${{ vars.AWS_DEPLOY_ROLE_ARN }} = module.stack.module.security.aws_iam_role.github_deploy, whose trust allows",
            "not that subject: AWS refuses it",
        ],
    );
}

#[test]
fn ci_a_dispatch_input_naming_no_environment() {
    let sb = one_change(
        ".github/workflows/deploy.yml",
        "options: [staging, production, dr]",
        "options: [sandbox, staging, production, dr]",
    );
    finds(
        &contracts_dev(&sb),
        &[".github/workflows/deploy.yml:", "deploy.yml job `apply`: runs in GitHub environment `sandbox` (on workflow_dispatch), which is for no environment of terraform/environments"],
    );
}

#[test]
fn ci_a_pull_request_job_with_a_token_that_forks_would_run() {
    let sb = one_change(
        ".github/workflows/ci.yml",
        "    if: github.event.pull_request.head.repo.full_name == github.repository\n",
        "",
    );
    let at = line(".github/workflows/ci.yml", "  plan:");
    finds(
        &contracts_dev(&sb),
        &[&format!(".github/workflows/ci.yml:{at}: ci.yml job `plan`: asks for an OIDC token on pull requests without excluding forks")],
    );
}

#[test]
fn approval_an_apply_job_that_plans_again() {
    let sb =
        one_change(".github/workflows/deploy.yml", APPLY, "      - run: cargo xtask deploy \"$ENVIRONMENT\" --yes");
    finds(
        &contracts_dev(&sb),
        &[&format!(
            ".github/workflows/deploy.yml:{job}: deploy.yml job `apply`: deploys `dev` (line {run}), but `cargo xtask deploy` without `--plan` (line {run}) plans and applies in one go",
            job = line(".github/workflows/deploy.yml", "  apply:"),
            run = line(".github/workflows/deploy.yml", APPLY.trim()),
        )],
    );
}

#[test]
fn reach_a_cluster_job_on_a_hosted_runner() {
    let sb = one_change(
        ".github/workflows/deploy.yml",
        "runs-on: codebuild-authorworks-${{ inputs.environment || 'dev' }}-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}",
        "runs-on: ubuntu-24.04",
    );
    finds(
        &contracts_dev(&sb),
        &[&format!(
            ".github/workflows/deploy.yml:{on}: deploy.yml job `apply`: runs `cargo xtask deploy` (line {run}), which talks to `dev`'s cluster, on `ubuntu-24.04`: outside `dev`'s VPC",
            on = line(".github/workflows/deploy.yml", "runs-on: codebuild-authorworks-"),
            run = line(".github/workflows/deploy.yml", APPLY.trim()),
        )],
    );
}

/// terraform's side: the plan role (stack output github_plan_role_arn).
#[test]
fn ci_the_plan_role_in_a_job_that_changes_things() {
    let sb = one_change(
        ".github/workflows/operations.yml",
        OPS_ROLE,
        "role-to-assume: ${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[matrix.env] }}",
    );
    finds(
        &contracts_dev(&sb),
        &[
            &format!(
                ".github/workflows/operations.yml:{}: operations.yml job `run`: runs `cargo xtask backup` with the read-only plan role module.stack.",
                line(".github/workflows/operations.yml", "run: cargo xtask backup")
            ),
            "(stack output github_plan_role_arn), which only plan jobs",
        ],
    );
}

/// terraform's side: the deploy role trusts deploy.yml at refs/heads/main in `dev`.
#[test]
fn ci_a_schedule_that_would_reach_the_deploy_role() {
    let sb = one_change(
        ".github/workflows/deploy.yml",
        "  push:\n    branches: [main]\n",
        "  push:\n    branches: [main]\n  schedule:\n    - cron: \"0 1 * * *\"\n",
    );
    finds(
        &contracts_dev(&sb),
        &[".github/workflows/deploy.yml:", "deploy.yml job `apply`: can get the deploy role module.stack.module.security.aws_iam_role.github_deploy (stack output github_deploy_role_arn)", "a run on schedule has no reviewed merge behind it"],
    );
}

/// terraform's side: the plan role trusts drift.yml at refs/heads/main.
#[test]
fn ci_a_trust_no_job_uses() {
    let sb = one_change(
        ".github/workflows/drift.yml",
        "${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[matrix.env] }}",
        "${{ fromJSON(vars.AWS_NOTHING_ROLE_ARNS)[matrix.env] }}",
    );
    finds(
        &contracts_dev(&sb),
        &["the plan role trusts `repo:authorworks/authorworks-infra:ref:refs/heads/main:job_workflow_ref:authorworks/authorworks-infra/.github/workflows/drift.yml@refs/heads/main`: no job of .github/workflows/drift.yml runs as that and assumes it"],
    );
}
