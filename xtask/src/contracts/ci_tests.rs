//! The CI identity contract's cases: broken copies of a workflow against a plan whose roles trust
//! subjects in the customised format (repo, context, job_workflow_ref), each finding naming both ends.

use super::*;
use crate::contracts::workflows::workflow;
use std::path::Path;

const R: &str = "o/r";

/// A plan whose deploy, operations and plan roles trust `subjects` (role name → subjects).
pub(crate) fn plan_trusting(subjects: &[(&str, &[String])]) -> Plan {
    let role = |name: &str, subs: &[String]| {
        let values = subs.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(",");
        format!(
            r#"{{"address":"module.stack.aws_iam_role.{name}","module_address":"module.stack","mode":"managed","type":"aws_iam_role","name":"{name}",
            "change":{{"actions":["create"],"after":{{"name":"authorworks-dev-github-{name}"}},"after_unknown":{{"assume_role_policy":true}}}}}},
            {{"address":"module.stack.data.aws_iam_policy_document.trust[\"{name}\"]","module_address":"module.stack","mode":"data","type":"aws_iam_policy_document","name":"trust","index":"{name}",
            "change":{{"actions":["read"],"after":{{"statement":[{{"actions":["sts:AssumeRoleWithWebIdentity"],"condition":[{{"test":"StringLike","variable":"{SUBJECT}","values":[{values}]}}]}}]}},"after_unknown":{{}}}}}}"#
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
    let names: Vec<&str> = subjects.iter().map(|(n, _)| *n).collect();
    let json = format!(
        r#"{{"resource_changes":[{}],"configuration":{{"root_module":{{"module_calls":{{"stack":{{"module":{{"outputs":{{{}}},"resources":[{}]}}}}}}}}}}}}"#,
        subjects.iter().map(|(n, s)| role(n, s)).collect::<Vec<_>>().join(","),
        names.iter().map(|n| output(n)).collect::<Vec<_>>().join(","),
        names.iter().map(|n| config(n)).collect::<Vec<_>>().join(",")
    );
    Plan::from_json(&json, Path::new("dev.plan.json"), Path::new("terraform/environments/dev")).unwrap()
}

fn sub(context: &str, file: &str, git_ref: &str) -> String {
    format!("repo:{R}:{context}:job_workflow_ref:{R}/.github/workflows/{file}@{git_ref}")
}

/// The trust B's terraform writes for dev: ci.yml's apply-dev, operations.yml, the plan jobs.
fn good_plan() -> Plan {
    plan_trusting(&[
        ("deploy", &[sub("environment:dev", "ci.yml", "refs/heads/main")]),
        ("operations", &[sub("environment:operations-dev", "operations.yml", "refs/heads/main")]),
        (
            "plan",
            &[
                sub("pull_request", "ci.yml", "refs/pull/*/merge"),
                sub("ref:refs/heads/main", "ci.yml", "refs/heads/main"),
            ],
        ),
    ])
}

const CI: &str = "on:\n  pull_request:\n  push:\n    branches: [main]\npermissions: {}\njobs:\n  plan:\n    if: github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository\n    strategy:\n      matrix:\n        env: [dev, staging]\n    permissions:\n      id-token: write\n    env:\n      ENVIRONMENT: ${{ matrix.env }}\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[matrix.env] }}\n      - run: cargo xtask plan \"$ENVIRONMENT\"\n  plan-dev:\n    if: github.event_name == 'push'\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)['dev'] }}\n      - run: cargo xtask plan dev\n  apply-dev:\n    needs: [plan-dev]\n    environment: dev\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}\n      - run: cargo xtask deploy dev --plan target/xtask/plans/dev.tfplan --yes\n";

const OPS: &str = "on:\n  schedule:\n    - cron: \"0 3 * * *\"\njobs:\n  run:\n    strategy:\n      matrix:\n        env: [dev, staging]\n    environment: operations-${{ matrix.env }}\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}\n";

fn settings() -> Settings {
    Settings { envs: vec!["dev".into(), "production".into(), "staging".into()], repo: R.into() }
}

fn messages_with(ci: &str, ops: &str, plan: &Plan) -> Vec<String> {
    let ws = [
        workflow(Path::new(".github/workflows/ci.yml"), ci),
        workflow(Path::new(".github/workflows/operations.yml"), ops),
    ];
    check_with(&ws, "dev", plan, &settings()).iter().map(|f| f.to_string()).collect()
}

fn messages(ci: &str, ops: &str) -> Vec<String> {
    messages_with(ci, ops, &good_plan())
}

#[track_caller]
fn one(found: Vec<String>, parts: &[&str]) {
    assert!(
        found.iter().any(|f| parts.iter().all(|p| f.contains(p))),
        "no finding with {parts:?} in\n{}",
        found.join("\n")
    );
}

#[test]
fn the_good_workflows_pass_and_role_expressions_are_read() {
    assert_eq!(messages(CI, OPS), Vec::<String>::new());
    assert_eq!(
        role_ref("${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)[matrix.env] }}").unwrap(),
        RoleRef::Output { output: "github_plan_role_arn".into(), key: Some("matrix.env".into()) }
    );
    assert_eq!(
        role_ref("${{ vars.AWS_OPERATIONS_ROLE_ARN }}").unwrap(),
        RoleRef::Output { output: "github_operations_role_arn".into(), key: None }
    );
    assert_eq!(target("operations-staging", &settings().envs).map(String::as_str), Some("staging"));
    assert!(admits(
        &sub("pull_request", "ci.yml", "refs/pull/*/merge"),
        &sub("pull_request", "ci.yml", "refs/pull/1/merge")
    ));
}

#[test]
fn a_trust_without_the_workflow_and_ref_is_named_at_the_role() {
    let old = plan_trusting(&[("deploy", &[format!("repo:{R}:environment:dev")])]);
    let found = messages_with(CI, "on: push\njobs: {}\n", &old);
    one(found.clone(), &["module.stack.aws_iam_role.deploy: the deploy role trusts `repo:o/r:environment:dev`, which names no workflow file and ref"]);
    one(found, &[".github/workflows/ci.yml:38: ci.yml job `apply-dev`: runs as repo:o/r:environment:dev:job_workflow_ref:o/r/.github/workflows/ci.yml@refs/heads/main (on push) and assumes ${{ vars.AWS_DEPLOY_ROLE_ARN }} = module.stack.aws_iam_role.deploy, whose trust allows repo:o/r:environment:dev, not that subject"]);
}

#[test]
fn the_deploy_role_is_out_of_reach_of_branches_schedules_and_callers() {
    let any_branch = CI.replace("    branches: [main]\n", "    branches: ['**']\n");
    one(messages(&any_branch, OPS), &["ci.yml job `apply-dev`: can get the deploy role module.stack.aws_iam_role.deploy (stack output github_deploy_role_arn)", "a run on push has no reviewed merge behind it"]);
    let scheduled = CI
        .replace("  push:\n", "  schedule:\n    - cron: '0 1 * * *'\n  push:\n")
        .replace("if: github.event_name == 'push'", "if: github.event_name != 'pull_request'");
    one(
        messages(&scheduled, OPS),
        &["ci.yml job `apply-dev`: can get the deploy role", "a run on schedule has no reviewed merge behind it"],
    );
    let callable = CI.replace("on:\n", "on:\n  workflow_call:\n");
    let found = messages(&callable, OPS);
    one(found.clone(), &["ci.yml job `apply-dev`", "ci.yml can be called by any branch's workflow (workflow_call)"]);
    one(
        found,
        &[
            "module.stack.aws_iam_role.deploy: the deploy role trusts",
            "ci.yml can be called (workflow_call) by a workflow of any branch",
        ],
    );
    let wide = plan_trusting(&[("deploy", &[sub("environment:dev", "ci.yml", "refs/heads/*")])]);
    one(messages_with(CI, "on: push\njobs: {}\n", &wide), &["the deploy role trusts `repo:o/r:environment:dev:job_workflow_ref:o/r/.github/workflows/ci.yml@refs/heads/*`: a wildcard"]);
}

#[test]
fn operations_and_plan_roles_serve_only_their_jobs() {
    let ops_in_ci = CI.replace("AWS_DEPLOY_ROLE_ARN", "AWS_OPERATIONS_ROLE_ARN");
    one(messages(&ops_in_ci, OPS), &["ci.yml:", "assumes ${{ vars.AWS_OPERATIONS_ROLE_ARN }} = module.stack.aws_iam_role.operations, whose trust allows repo:o/r:environment:operations-dev:job_workflow_ref:o/r/.github/workflows/operations.yml@refs/heads/main"]);
    let deploys_with_plan_role =
        CI.replace("      - run: cargo xtask plan dev\n", "      - run: cargo xtask deploy dev --yes\n");
    one(messages(&deploys_with_plan_role, OPS), &[".github/workflows/ci.yml:29: ci.yml job `plan-dev`: runs `cargo xtask deploy` with the read-only plan role module.stack.aws_iam_role.plan (stack output github_plan_role_arn), which only plan jobs"]);
    let in_env = CI.replace(
        "  plan-dev:\n    if: github.event_name == 'push'\n",
        "  plan-dev:\n    if: github.event_name == 'push'\n    environment: dev\n",
    );
    one(
        messages(&in_env, OPS),
        &["ci.yml job `plan-dev`: runs as repo:o/r:environment:dev:job_workflow_ref", "not that subject"],
    );
    let env_var = CI.replace("${{ fromJSON(vars.AWS_PLAN_ROLE_ARNS)['dev'] }}", "${{ vars.AWS_PLAN_ROLE_ARN }}");
    one(messages(&env_var, OPS), &["ci.yml job `plan-dev`: `${{ vars.AWS_PLAN_ROLE_ARN }}` is a GitHub environment's variable, but the job runs in no GitHub environment (on push)"]);
    let no_ops = "on: push\njobs: {}\n";
    one(messages(CI, no_ops), &["module.stack.aws_iam_role.operations: the operations role trusts `repo:o/r:environment:operations-dev:job_workflow_ref:o/r/.github/workflows/operations.yml@refs/heads/main`: no job of .github/workflows/operations.yml runs as that and assumes it (no job assumes it)"]);
}

#[test]
fn forks_get_no_token_and_no_secrets() {
    let unguarded = CI.replace(" && github.event.pull_request.head.repo.full_name == github.repository", "");
    one(messages(&unguarded, OPS), &[".github/workflows/ci.yml:7: ci.yml job `plan`: asks for an OIDC token on pull requests without excluding forks"]);
    let secret = CI.replace("  plan-dev:\n", "  fork:\n    if: github.event_name == 'pull_request'\n    steps:\n      - run: echo ${{ secrets.TOKEN }}\n  plan-dev:\n");
    one(messages(&secret, OPS), &["ci.yml job `fork`: runs for pull requests from forks too", "yet names a secret"]);
    let target = CI
        .replace("  pull_request:\n", "  pull_request_target:\n")
        .replace("github.event_name == 'pull_request'", "github.event_name == 'pull_request_target'");
    one(messages(&target, OPS), &["ci.yml job `plan`: asks for an OIDC token on pull_request_target"]);
}

#[test]
fn each_way_a_token_goes_unclaimed_is_named() {
    let no_env = OPS.replace("    environment: operations-${{ matrix.env }}\n", "");
    one(messages(CI, &no_env), &["operations.yml:14: operations.yml job `run`: `${{ vars.AWS_OPERATIONS_ROLE_ARN }}` is a GitHub environment's variable, but the job runs in no GitHub environment (on schedule)"]);
    let unknown = OPS.replace("AWS_OPERATIONS_ROLE_ARN", "OPS_ROLE");
    one(messages(CI, &unknown), &["`${{ vars.OPS_ROLE }}` is not `${{ vars.AWS_<NAME>_ROLE_ARN }}`"]);
    let missing = OPS.replace("AWS_OPERATIONS_ROLE_ARN", "AWS_BACKUP_ROLE_ARN");
    one(messages(CI, &missing), &["holds the stack output `github_backup_role_arn`, which names no aws_iam_role"]);
    let sandbox = OPS.replace("operations-${{ matrix.env }}", "sandbox");
    one(messages(CI, &sandbox), &[":9: operations.yml job `run`: runs in GitHub environment `sandbox` (on schedule), which is for no environment"]);
    let no_step = OPS.replace("      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.AWS_OPERATIONS_ROLE_ARN }}\n", "      - run: true\n");
    let renamed = no_step.replace("operations-${{ matrix.env }}", "nightly-${{ matrix.env }}");
    one(messages(CI, &renamed), &["asks for an OIDC token as repo:o/r:environment:nightly-dev:job_workflow_ref:o/r/.github/workflows/operations.yml@refs/heads/main, but no role in `dev`'s plan trusts it"]);
    let free = OPS.replace("env: [dev, staging]", "env: dev");
    one(
        messages(CI, &free),
        &[
            "operations.yml job `run`: asks for an OIDC token but how it runs can't be told",
            "matrix `env` is `dev`, not a list",
        ],
    );
}

#[test]
fn another_repository_s_role_is_its_own_ci_s_but_a_wildcard_repository_is_a_finding() {
    let plan = plan_trusting(&[
        ("deploy", &[sub("environment:dev", "ci.yml", "refs/heads/main")]),
        ("operations", &[sub("environment:operations-dev", "operations.yml", "refs/heads/main")]),
        (
            "plan",
            &[
                sub("pull_request", "ci.yml", "refs/pull/*/merge"),
                sub("ref:refs/heads/main", "ci.yml", "refs/heads/main"),
            ],
        ),
        ("push", &["repo:o/gateway:ref:refs/heads/main".to_string()]),
        ("any", &["repo:o/*:ref:refs/heads/main".to_string()]),
    ]);
    let got = messages_with(CI, OPS, &plan);
    assert!(!got.iter().any(|m| m.contains("o/gateway")), "{got:#?}");
    assert!(
        got.iter().any(|m| m.contains("trusts `repo:o/*:ref:refs/heads/main`, which names no workflow file")),
        "{got:#?}"
    );
    assert_eq!(got.len(), 1, "{got:#?}");
}
