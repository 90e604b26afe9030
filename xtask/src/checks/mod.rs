//! The checks `cargo xtask validate` runs over the infrastructure code: each a name and a closure that
//! answers findings (file:line where there is one). The command picks and runs them; this module knows
//! what each one reads and how.

mod scanners;
mod tf;

use anyhow::{bail, Result};

use crate::context::Context;
use crate::finding::Finding;
use crate::terraform::{self, Terraform};

use scanners::{checkov, zizmor};
use tf::{module_tests, validate_root};

type CheckFn<'a> = Box<dyn Fn() -> Result<Vec<Finding>> + Send + Sync + 'a>;

pub struct Check<'a> {
    pub name: String,
    pub run: CheckFn<'a>,
}

/// Every check at once, one thread each (they wait on terraform, checkov and the emulator far more
/// than they compute): each one's name, findings or error, and how long it took, in the list's order.
pub fn run_all(checks: &[Check]) -> Vec<(String, Result<Vec<Finding>>, std::time::Duration)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .iter()
            .map(|check| {
                scope.spawn(move || {
                    let started = std::time::Instant::now();
                    let result = (check.run)();
                    (check.name.clone(), result, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a check panicked")).collect()
    })
}

/// The emulated plans the contracts got, one line each (`dev: reused (0.1s)`).
pub type PlanLines = std::sync::Mutex<Vec<String>>;

/// What the checks warn of without failing (a manifest that breaks on the next Kubernetes minor).
pub type Warnings = std::sync::Mutex<Vec<Finding>>;

pub fn checks<'a>(ctx: &'a Context, plans: &'a PlanLines, warnings: &'a Warnings) -> Result<Vec<Check<'a>>> {
    let mut checks: Vec<Check> = vec![
        Check { name: "terraform fmt".into(), run: Box::new(|| terraform::checks::fmt_check(ctx)) },
        Check {
            name: "terraform module conventions".into(),
            run: Box::new(|| Ok(terraform::checks::conventions(&ctx.root))),
        },
    ];
    for dir in terraform::environment_dirs(&ctx.root) {
        let env = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let tf = Terraform::new(ctx, dir, &format!("validate-{env}"))?;
        checks
            .push(Check { name: format!("terraform validate {env}"), run: Box::new(move || validate_root(ctx, &tf)) });
    }
    for dir in terraform::tested_modules(&ctx.root) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        checks.push(Check {
            name: format!("terraform test {name}"),
            run: Box::new(move || module_tests(ctx, &dir, &name)),
        });
    }
    for overlay in crate::k8s::overlays(&ctx.root) {
        checks.push(Check {
            name: format!("kubernetes overlay {overlay}"),
            run: Box::new(move || overlay_check(ctx, &overlay, warnings)),
        });
    }
    if ctx.root.join(crate::lifecycle::CALENDAR).is_file() {
        checks.push(Check {
            name: "kubernetes versions".into(),
            run: Box::new(|| Ok(crate::lifecycle::tables_findings(&ctx.root))),
        });
    }
    if ctx.root.join(crate::releases::LIST).is_file() {
        checks.push(Check {
            name: "helm release list and values".into(),
            run: Box::new(|| {
                let list = crate::releases::load_list(&ctx.root)?;
                let mut findings = crate::releases::check_all(&ctx.root, &list);
                findings.extend(crate::lifecycle::release_support_findings(&ctx.root, &list.releases));
                Ok(findings)
            }),
        });
        for overlay in crate::k8s::overlays(&ctx.root) {
            checks.push(Check {
                name: format!("cluster fit {overlay}"),
                run: Box::new(move || cluster_fit(ctx, &overlay)),
            });
        }
    }
    // The contracts between terraform, the cluster and the workflows, over each environment's emulated
    // plan (reused while terraform/ is unchanged; made at most half the cores at a time).
    let envs: Vec<String> = match ctx.config() {
        Ok(config) => config.environments().map(|e| e.name.clone()).collect(),
        Err(e) => {
            let why = format!("{e:#}");
            checks.push(Check { name: "contracts".into(), run: Box::new(move || bail!("{why}")) });
            Vec::new()
        }
    };
    for name in envs {
        if !terraform::env_dir(&ctx.root, &name).join("main.tf").is_file() {
            continue;
        }
        checks.push(Check {
            name: format!("contracts {name}"),
            run: Box::new(move || {
                let got = crate::plans::emulated_plan(ctx, &name)?;
                plans.lock().unwrap_or_else(|e| e.into_inner()).push(got.line());
                crate::contracts::check(ctx, &name, &got.path)
            }),
        });
    }
    if ctx.root.join(crate::cost::USAGE).is_file() {
        // faults: the usage file, every section and key
        checks.push(Check { name: "cost usage file".into(), run: Box::new(|| crate::cost::usage_findings(ctx)) });
    }
    checks.push(Check {
        name: "checkov terraform".into(),
        run: Box::new(|| checkov(ctx, &["-d", "terraform", "--framework", "terraform"])),
    });
    if ctx.root.join(".github/workflows").is_dir() {
        checks.push(Check {
            name: "checkov workflows".into(),
            run: Box::new(|| checkov(ctx, &["-d", ".github/workflows", "--framework", "github_actions"])),
        });
        checks.push(Check { name: "zizmor workflows".into(), run: Box::new(|| zizmor(ctx)) });
    }
    Ok(checks)
}

/// Render an overlay, then the schema check, the API versions at the environment's Kubernetes version
/// (removed or unknown: a finding; removed in the next minor: a warning) and the policies over what
/// kustomize produced.
fn overlay_check(ctx: &Context, overlay: &str, warnings: &Warnings) -> Result<Vec<Finding>> {
    let yaml = crate::k8s::render(ctx, overlay)?;
    let objects = crate::k8s::parse(&yaml)?;
    let where_ = crate::k8s::overlay_dir(&ctx.root, overlay);
    let mut findings = crate::k8s::policies(&objects, overlay, &where_);
    let (apis, next_minor) = crate::lifecycle::apis::overlay_findings(ctx, overlay, &yaml)?;
    findings.extend(apis);
    warnings.lock().unwrap_or_else(|e| e.into_inner()).extend(next_minor);
    let rendered = ctx.work.join("k8s").join(format!("{overlay}.yaml"));
    let rendered = rendered.to_string_lossy();
    findings.extend(checkov(ctx, &["-f", &rendered, "--framework", "kubernetes"])?.into_iter().map(|mut f| {
        f.file = where_.clone();
        f
    }));
    Ok(findings)
}

/// What the overlay and the releases ask of the environment's cluster: the CRDs of the overlay's
/// custom resources come from a release the environment gets, its pods fit the node groups, and its
/// edge objects name terraform's security group and public subnets.
fn cluster_fit(ctx: &Context, overlay: &str) -> Result<Vec<Finding>> {
    let objects = crate::k8s::parse(&crate::k8s::render(ctx, overlay)?)?;
    let where_ = crate::k8s::overlay_dir(&ctx.root, overlay);
    let releases = crate::releases::load(&ctx.root)?;
    let provided = crate::releases::provided_in(&releases, overlay);
    let mut findings = crate::crds::check_overlay(&provided, overlay, &objects, &where_);
    if terraform::env_dir(&ctx.root, overlay).join("main.tf").is_file() {
        findings.extend(crate::capacity::check(&ctx.root, overlay, &releases, &objects));
        findings.extend(crate::edge::check(&ctx.root, &ctx.config()?.project, overlay, &objects, &where_));
    } else {
        findings.push(Finding::new(
            &where_,
            None,
            format!("overlay `{overlay}` has no terraform environment terraform/environments/{overlay} to run on"),
        ));
    }
    Ok(findings)
}
