//! The reach contract: a workflow job that talks to an environment's cluster runs where it can reach
//! the cluster's API, which is private (no public endpoint: modules/eks). Such a job — one that runs
//! `cargo xtask deploy` (not `--dry-run`), `destroy`, `mesh` or `upgrade` for the environment — runs on
//! the environment's CodeBuild-hosted runner,
//! `runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}`, and the plan has that
//! `aws_codebuild_project` (stack output `ci_runner_project`) with a `vpc_config` in the VPC of the
//! cluster's subnets, whose security group an ingress rule of the cluster's security group admits on
//! TCP 443. A finding names the workflow file:line and the plan address.

use std::collections::BTreeSet;

use super::ci::job_triggers;
use super::workflows::jobs;
use super::{Inputs, Plan, Resource, Workflow};
use crate::finding::Finding;

/// The xtask commands that talk to a cluster.
pub const CLUSTER_COMMANDS: &[&str] = &["deploy", "destroy", "mesh", "upgrade"];
/// The stack output naming the environment's CodeBuild runner project.
pub const RUNNER_OUTPUT: &str = "ci_runner_project";
const LABEL_PREFIX: &str = "codebuild-";
const LABEL_SUFFIX: &str = "-${{ github.run_id }}-${{ github.run_attempt }}";
const API_PORT: u16 = 443;

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real() {
        return Vec::new();
    }
    check_with(&inputs.workflows, inputs.env.name(), &inputs.plan)
}

pub fn check_with(workflows: &[Workflow], env: &str, plan: &Plan) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut reported = BTreeSet::new();
    for w in workflows {
        let all = jobs(w);
        for job in &all {
            let calls: Vec<(Vec<String>, usize)> = job
                .xtask_calls()
                .into_iter()
                .filter(|(c, _)| c.first().is_some_and(|v| CLUSTER_COMMANDS.contains(&v.as_str())))
                .filter(|(c, _)| !c.iter().any(|a| a == "--dry-run"))
                .collect();
            if calls.is_empty() {
                continue;
            }
            let live = job_triggers(&all, job);
            let Ok(runs) = job.runs() else { continue };
            let (label_template, label_line) = job.runs_on.clone().unwrap_or_else(|| ("(none)".into(), job.line));
            for run in runs.iter().filter(|r| live.contains(&r.trigger)) {
                for (call, line) in &calls {
                    if job.call_env(call, run).as_deref() != Some(env) {
                        continue;
                    }
                    let label = run.eval(&label_template).unwrap_or_else(|_| label_template.clone());
                    let what = format!(
                        "{}: runs `cargo xtask {}` (line {line}), which talks to `{env}`'s cluster, on `{label}`",
                        job.label(),
                        call[0]
                    );
                    let problem = match label.strip_prefix(LABEL_PREFIX).and_then(|l| l.strip_suffix(LABEL_SUFFIX)) {
                        None => {
                            let project = runner(plan);
                            format!(
                                "outside `{env}`'s VPC, where the cluster's private API can't be reached: run it on `{LABEL_PREFIX}{}{LABEL_SUFFIX}`, `{env}`'s CodeBuild-hosted runner ({}stack output {RUNNER_OUTPUT})",
                                project.and_then(|p| p.text("name")).unwrap_or("<ci_runner_project>"),
                                project.map(|p| format!("{}, ", p.address)).unwrap_or_default()
                            )
                        }
                        Some(project) => match runner_problem(plan, project) {
                            None => continue,
                            Some(p) => p,
                        },
                    };
                    if reported.insert((w.file_name(), job.id.clone(), problem.clone())) {
                        findings.push(Finding::new(&w.path, Some(label_line), format!("{what}: {problem}")));
                    }
                }
            }
        }
    }
    findings
}

/// The runner project the plan's stack output names.
fn runner(plan: &Plan) -> Option<&Resource> {
    plan.output_sources(RUNNER_OUTPUT, None).into_iter().find(|r| r.kind == "aws_codebuild_project")
}

fn of<'p>(list: Vec<&'p Resource>, kind: &str) -> Vec<&'p Resource> {
    list.into_iter().filter(|r| r.kind == kind).collect()
}

fn addresses(list: &[&Resource]) -> String {
    list.iter().map(|r| r.address.as_str()).collect::<Vec<_>>().join(", ")
}

/// What keeps the runners of CodeBuild project `name` from the cluster's API, if anything.
fn runner_problem(plan: &Plan, name: &str) -> Option<String> {
    let Some(project) = plan.of_type("aws_codebuild_project").find(|p| p.text("name") == Some(name)) else {
        let named = runner(plan)
            .and_then(|p| p.text("name"))
            .map(|n| format!("`{n}`"))
            .unwrap_or_else(|| "nothing known".into());
        return Some(format!(
            "the plan has no aws_codebuild_project named `{name}` (stack output {RUNNER_OUTPUT} names {named})"
        ));
    };
    let Some(cluster) = plan.of_type("aws_eks_cluster").next() else {
        return Some(format!("the plan has no aws_eks_cluster for {} to reach", project.address));
    };
    let sources = plan.attribute_sources(project, "vpc_config");
    let vpcs = of(sources.clone(), "aws_vpc");
    if vpcs.is_empty() {
        return Some(format!(
            "{} has no vpc_config in a VPC of the plan: its runners start outside every VPC",
            project.address
        ));
    }
    // The cluster's VPC: where its subnets and its security groups are (a splat of subnets, such as
    // `aws_subnet.private[*].id`, may not be followed; a group is in exactly one VPC).
    let cluster_sources = plan.attribute_sources(cluster, "vpc_config");
    let mut cluster_vpcs: Vec<&Resource> = Vec::new();
    for r in cluster_sources.iter().filter(|r| matches!(r.kind.as_str(), "aws_subnet" | "aws_security_group")) {
        for v in of(plan.attribute_sources(r, "vpc_id"), "aws_vpc") {
            if !cluster_vpcs.iter().any(|c| c.address == v.address) {
                cluster_vpcs.push(v);
            }
        }
    }
    if !vpcs.iter().any(|v| cluster_vpcs.iter().any(|c| c.address == v.address)) {
        return Some(format!(
            "{} runs in {}, not in the VPC of {}'s subnets and security groups ({})",
            project.address,
            addresses(&vpcs),
            cluster.address,
            addresses(&cluster_vpcs)
        ));
    }
    let runner_groups = of(sources, "aws_security_group");
    if runner_groups.is_empty() {
        return Some(format!("{}'s vpc_config names no security group of the plan", project.address));
    }
    let mut cluster_groups = of(cluster_sources, "aws_security_group");
    cluster_groups.push(cluster);
    let admitted = runner_groups.iter().any(|g| admits_api(plan, &cluster_groups, g));
    (!admitted).then(|| {
        format!(
            "no ingress rule of {}'s security group ({}) admits {}'s group ({}) on TCP {API_PORT}: the runners can't reach the API",
            cluster.address,
            addresses(&cluster_groups),
            project.address,
            addresses(&runner_groups)
        )
    })
}

/// Whether an ingress rule of one of `targets` (a security group, or the cluster, whose own group EKS
/// makes) admits `from` on the API's port.
fn admits_api(plan: &Plan, targets: &[&Resource], from: &Resource) -> bool {
    let names =
        |list: &[&Resource], wanted: &[&Resource]| list.iter().any(|x| wanted.iter().any(|w| w.address == x.address));
    plan.tcp_ingress(API_PORT).iter().any(|(of, admitted)| names(of, targets) && names(admitted, &[from]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::workflows::workflow;
    use std::path::Path;

    /// A plan with a VPC, a subnet in it, a cluster on the subnet, a runner project in the VPC with
    /// its group, and (`rule`) the cluster group's ingress rule for the runners on 443.
    fn plan(rule: bool, runner_vpc: &str) -> Plan {
        plan_with(rule, runner_vpc, true)
    }

    /// `subnet_vpc`: whether the subnet's VPC can be followed (a splat may not be; the cluster's group is).
    fn plan_with(rule: bool, runner_vpc: &str, subnet_vpc: bool) -> Plan {
        let r = |kind: &str, name: &str, after: &str| {
            format!(
                r#"{{"address":"module.stack.{kind}.{name}","module_address":"module.stack","mode":"managed","type":"{kind}","name":"{name}","change":{{"actions":["create"],"after":{after},"after_unknown":{{}}}}}}"#
            )
        };
        let mut changes = vec![
            r("aws_vpc", "main", "{}"),
            r("aws_vpc", "other", "{}"),
            r("aws_subnet", "private", "{}"),
            r("aws_eks_cluster", "this", "{}"),
            r("aws_security_group", "runner", "{}"),
            r("aws_security_group", "cluster", "{}"),
            r("aws_codebuild_project", "runner", r#"{"name":"authorworks-dev-ci-runner"}"#),
        ];
        let subnet = if subnet_vpc { r#"{"vpc_id":{"references":["aws_vpc.main.id","aws_vpc.main"]}}"# } else { "{}" };
        let mut config = vec![
            format!(r#"{{"address":"aws_subnet.private","expressions":{subnet}}}"#),
            r#"{"address":"aws_security_group.cluster","expressions":{"vpc_id":{"references":["aws_vpc.main.id","aws_vpc.main"]}}}"#.to_string(),
            r#"{"address":"aws_eks_cluster.this","expressions":{"vpc_config":[{"subnet_ids":{"references":["aws_subnet.private.id","aws_subnet.private"]},"security_group_ids":{"references":["aws_security_group.cluster.id","aws_security_group.cluster"]}}]}}"#.to_string(),
            format!(r#"{{"address":"aws_codebuild_project.runner","expressions":{{"vpc_config":[{{"vpc_id":{{"references":["aws_vpc.{runner_vpc}.id","aws_vpc.{runner_vpc}"]}},"security_group_ids":{{"references":["aws_security_group.runner.id","aws_security_group.runner"]}}}}]}}}}"#),
        ];
        if rule {
            changes.push(r(
                "aws_vpc_security_group_ingress_rule",
                "api_from_runner",
                r#"{"from_port":443,"to_port":443,"ip_protocol":"tcp"}"#,
            ));
            config.push(r#"{"address":"aws_vpc_security_group_ingress_rule.api_from_runner","expressions":{"security_group_id":{"references":["aws_eks_cluster.this.vpc_config[0].cluster_security_group_id","aws_eks_cluster.this"]},"referenced_security_group_id":{"references":["aws_security_group.runner.id","aws_security_group.runner"]}}}"#.to_string());
        }
        let json = format!(
            r#"{{"resource_changes":[{}],"configuration":{{"root_module":{{"module_calls":{{"stack":{{"module":{{"outputs":{{"ci_runner_project":{{"expression":{{"references":["aws_codebuild_project.runner.name","aws_codebuild_project.runner"]}}}}}},"resources":[{}]}}}}}}}}}}}}"#,
            changes.join(","),
            config.join(",")
        );
        Plan::from_json(&json, Path::new("dev.plan.json"), Path::new("terraform/environments/dev")).unwrap()
    }

    const DEPLOY: &str = "on:\n  push:\n    branches: [main]\njobs:\n  apply:\n    runs-on: codebuild-authorworks-${{ matrix.env }}-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}\n    strategy:\n      matrix:\n        env: [dev]\n    env:\n      ENVIRONMENT: ${{ matrix.env }}\n    steps:\n      - run: cargo xtask deploy \"$ENVIRONMENT\" --plan x.tfplan --yes\n";

    fn found(text: &str, plan: &Plan) -> Vec<String> {
        let w = workflow(Path::new(".github/workflows/deploy.yml"), text);
        check_with(&[w], "dev", plan).iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn a_cluster_job_on_the_environments_runner_admitted_on_443_passes() {
        assert_eq!(found(DEPLOY, &plan(true, "main")), Vec::<String>::new());
        assert_eq!(
            found(DEPLOY, &plan_with(true, "main", false)),
            Vec::<String>::new(),
            "the VPC of the cluster's group"
        );
        assert_eq!(
            found(&DEPLOY.replace("--plan x.tfplan --yes", "--dry-run"), &plan(false, "other")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_way_the_runner_misses_the_cluster_is_named_with_both_ends() {
        let hosted = DEPLOY.replace(
            "codebuild-authorworks-${{ matrix.env }}-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}",
            "ubuntu-24.04",
        );
        assert_eq!(found(&hosted, &plan(true, "main")), [".github/workflows/deploy.yml:6: deploy.yml job `apply`: runs `cargo xtask deploy` (line 13), which talks to `dev`'s cluster, on `ubuntu-24.04`: outside `dev`'s VPC, where the cluster's private API can't be reached: run it on `codebuild-authorworks-dev-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}`, `dev`'s CodeBuild-hosted runner (module.stack.aws_codebuild_project.runner, stack output ci_runner_project)"]);
        let renamed = DEPLOY.replace("-ci-runner-", "-runner-");
        assert!(found(&renamed, &plan(true, "main"))[0].contains("the plan has no aws_codebuild_project named `authorworks-dev-runner` (stack output ci_runner_project names `authorworks-dev-ci-runner`)"));
        assert!(found(DEPLOY, &plan(true, "other"))[0]
            .contains("module.stack.aws_codebuild_project.runner runs in module.stack.aws_vpc.other, not in the VPC of module.stack.aws_eks_cluster.this's subnets and security groups (module.stack.aws_vpc.main)"));
        assert!(found(DEPLOY, &plan(false, "main"))[0].contains("no ingress rule of module.stack.aws_eks_cluster.this's security group (module.stack.aws_security_group.cluster, module.stack.aws_eks_cluster.this) admits module.stack.aws_codebuild_project.runner's group (module.stack.aws_security_group.runner) on TCP 443"));
        let mesh = hosted.replace("deploy \"$ENVIRONMENT\" --plan x.tfplan --yes", "mesh check dev");
        assert!(found(&mesh, &plan(true, "main"))[0].contains("runs `cargo xtask mesh` (line 13)"));
    }
}
