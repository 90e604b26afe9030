//! The checks `cargo xtask validate` runs over the infrastructure code: each a name and a closure that
//! answers findings (file:line where there is one). The command picks and runs them; this module knows
//! what each one reads and how.

mod cache;
mod scanners;
mod tf;

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::config::Environment;
use crate::context::Context;
use crate::env_files::EnvFiles;
use crate::finding::Finding;
use crate::terraform::{self, Terraform};
use crate::tools::{CHECKOV, KUBECTL, KUBE_VALIDATE, TERRAFORM, ZIZMOR};

pub use cache::Cache;
use cache::Reads;
use scanners::{checkov, zizmor};
use tf::{module_tests, validate_root};

type CheckFn<'a> = Box<dyn Fn() -> Result<Outcome> + Send + Sync + 'a>;

pub struct Check<'a> {
    pub name: String,
    /// What its outcome depends on: its key in the cache.
    reads: Reads<'a>,
    run: CheckFn<'a>,
}

impl<'a> Check<'a> {
    fn new(name: impl Into<String>, reads: Reads<'a>, run: impl Fn() -> Result<Outcome> + Send + Sync + 'a) -> Self {
        Check { name: name.into(), reads, run: Box::new(run) }
    }

    /// A check that answers findings only.
    fn findings(
        name: impl Into<String>,
        reads: Reads<'a>,
        run: impl Fn() -> Result<Vec<Finding>> + Send + Sync + 'a,
    ) -> Self {
        Check::new(name, reads, move || run().map(Outcome::from))
    }
}

/// What a check answers.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// What it warns of without failing (a manifest that breaks on the next Kubernetes minor).
    pub warnings: Vec<Finding>,
    /// The emulated plan it read: the environment and how it was got (`dev: reused (0.1s)`).
    pub plan: Option<(String, String)>,
}

impl From<Vec<Finding>> for Outcome {
    fn from(findings: Vec<Finding>) -> Outcome {
        Outcome { findings, ..Outcome::default() }
    }
}

/// One check's run: its outcome or error, how long it took, and whether it was answered from the cache.
pub struct Ran {
    pub name: String,
    pub result: Result<Outcome>,
    pub took: Duration,
    pub reused: bool,
}

/// Every check at once, one thread each (they wait on terraform, checkov and the emulator far more
/// than they compute), in the list's order. A check whose key `cache` holds is not run: its stored
/// outcome is the answer; a check that passes is stored.
pub fn run_all(checks: &[Check], cache: &Cache) -> Vec<Ran> {
    // The keys first, one check after the other, so a file several checks read (terraform/, the xtask
    // binary) is hashed once. A key that can't be taken (a file unreadable) only means the check runs.
    let keys: Vec<Option<String>> = checks.iter().map(|c| cache.key(&c.name, &c.reads).ok()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            checks.iter().zip(keys).map(|(check, key)| scope.spawn(move || run_one(check, key, cache))).collect();
        handles.into_iter().map(|h| h.join().expect("a check panicked")).collect()
    })
}

fn run_one(check: &Check, key: Option<String>, cache: &Cache) -> Ran {
    let started = Instant::now();
    let name = check.name.clone();
    if let Some(mut outcome) = key.as_deref().and_then(|k| cache.load(&check.name, k)) {
        if let Some((env, line)) = &mut outcome.plan {
            *line = format!("{env}: reused (with its check)");
        }
        return Ran { name, result: Ok(outcome), took: started.elapsed(), reused: true };
    }
    let result = (check.run)();
    if let (Some(key), Ok(outcome)) = (&key, &result) {
        // A cache that can't be written costs the next run time, never this one its answer.
        let _ = cache.store(&check.name, key, outcome);
    }
    Ran { name, result, took: started.elapsed(), reused: false }
}

/// What the terraform checks read: the whole tree (an environment calls the stack, which calls the modules).
const TF: &str = "terraform";

pub fn checks<'a>(ctx: &'a Context, planner: &'a crate::plans::Planner<'a>) -> Result<Vec<Check<'a>>> {
    let config = ctx.config();
    let mut checks: Vec<Check> = vec![
        Check::findings("terraform fmt", Reads::paths(&[TF]).tools(&[TERRAFORM]), || terraform::checks::fmt_check(ctx)),
        Check::findings("terraform module conventions", Reads::paths(&[TF]), || {
            Ok(terraform::checks::conventions(&ctx.root))
        }),
    ];
    for dir in terraform::environment_dirs(&ctx.root) {
        let env = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let tf = Terraform::new(ctx, dir, &format!("validate-{env}"))?;
        let reads = Reads::paths(&[TF]).tools(&[TERRAFORM]);
        checks.push(Check::findings(format!("terraform validate {env}"), reads, move || validate_root(ctx, &tf)));
    }
    for dir in terraform::tested_modules(&ctx.root) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        // The module and its siblings (what its tests' scratch copy is made of).
        let reads = Reads::paths(&["terraform/modules"]).tools(&[TERRAFORM]);
        checks.push(Check::findings(format!("terraform test {name}"), reads, move || module_tests(ctx, &dir, &name)));
    }
    for overlay in crate::k8s::overlays(&ctx.root) {
        // The environment's Kubernetes version is its main.tf's (or the stack's default).
        let reads = Reads::paths(&["k8s", "terraform/environments", "terraform/stack"]).tools(&[
            KUBECTL,
            KUBE_VALIDATE,
            CHECKOV,
        ]);
        checks.push(Check::new(format!("kubernetes overlay {overlay}"), reads, move || overlay_check(ctx, &overlay)));
    }
    if ctx.root.join(crate::lifecycle::CALENDAR).is_file() {
        checks.push(Check::findings(
            "kubernetes versions",
            Reads::paths(&["k8s", crate::lifecycle::CALENDAR_DOC]),
            || Ok(crate::lifecycle::tables_findings(&ctx.root)),
        ));
    }
    if ctx.root.join(crate::releases::LIST).is_file() {
        let reads = Reads::paths(&["helm-values", "k8s", TF]);
        checks.push(Check::findings("helm release list and values", reads, || {
            let list = crate::releases::load_list(&ctx.root)?;
            let mut findings = crate::releases::check_all(&ctx.root, &list);
            findings.extend(crate::lifecycle::release_support_findings(&ctx.root, &list.releases));
            Ok(findings)
        }));
        // Each overlay on its own environment's terraform; and an environment that runs another's
        // overlay on a cluster of its own (dr runs production's) on its own terraform: its node groups,
        // its public subnets, its outputs. (A configuration that doesn't load is the contracts' finding.)
        let mut fits: Vec<(String, Option<Borrowed>)> =
            crate::k8s::overlays(&ctx.root).into_iter().map(|overlay| (overlay, None)).collect();
        if let Ok(config) = &config {
            for runner in config.environments().filter(|e| EnvFiles::of(&ctx.root, e).has_terraform()) {
                if let Some(overlay) = runner.borrowed_overlay() {
                    let owner = config.environments().find(|e| e.name == overlay).cloned();
                    let borrowed = Borrowed { project: config.project.clone(), owner, runner: runner.clone() };
                    fits.push((runner.name.clone(), Some(borrowed)));
                }
            }
        }
        for (name, borrowed) in fits {
            let reads = Reads::paths(&["k8s", "helm-values", TF]).tools(&[KUBECTL]);
            checks.push(Check::findings(format!("cluster fit {name}"), reads, move || match &borrowed {
                None => cluster_fit(ctx, EnvFiles::of_overlay(&ctx.root, &name), None),
                Some(b) => cluster_fit(ctx, EnvFiles::of(&ctx.root, &b.runner), Some(b)),
            }));
        }
    }
    // The environments of another's shape (dr, local) take that one's sizing. (A configuration that
    // doesn't load is the contracts' finding.)
    if let Ok(config) = &config {
        let borrowers: Vec<Environment> = config
            .environments()
            .filter(|e| e.overlay != e.name && EnvFiles::of(&ctx.root, e).has_terraform())
            .cloned()
            .collect();
        if !borrowers.is_empty() {
            checks.push(Check::findings("shared sizing", Reads::paths(&["terraform/environments"]), move || {
                Ok(borrowers
                    .iter()
                    .flat_map(|e| crate::sizing::shared_findings(EnvFiles::of(&ctx.root, e), e.emulator))
                    .collect())
            }));
        }
    }
    // The contracts between terraform, the cluster and the workflows, over each environment's emulated
    // plan (reused while terraform/ is unchanged; made at most half the cores at a time).
    let envs: Vec<(String, Environment)> = match &config {
        Ok(config) => config
            .environments()
            .filter(|e| EnvFiles::of(&ctx.root, e).has_terraform())
            .map(|e| (config.project.clone(), e.clone()))
            .collect(),
        Err(e) => {
            let why = format!("{e:#}");
            checks.push(Check::new("contracts", Reads::default(), move || bail!("{why}")));
            Vec::new()
        }
    };
    for (project, env) in envs {
        let name = env.name.clone();
        // The plan's key (terraform/, its -vars, the TF_VAR_*s; hashed once, the plan's reuse asks the
        // planner for the same) and what the contracts read beside it.
        let plan_key = {
            let name = name.clone();
            move || planner.key(&name)
        };
        let reads = Reads::paths(&["k8s", "helm-values", ".github", crate::contracts::identity_map::FILE, TF])
            .tools(&[KUBECTL])
            .also(plan_key);
        checks.push(Check::new(format!("contracts {name}"), reads, move || {
            let got = planner.emulated_plan(&name)?;
            let findings = crate::contracts::check(ctx, &project, &env, &got.path)?;
            Ok(Outcome { findings, warnings: Vec::new(), plan: Some((name.clone(), got.line())) })
        }));
    }
    if ctx.root.join(crate::cost::USAGE).is_file() {
        // faults: the usage file, every section and key
        checks.push(Check::findings("cost usage file", Reads::paths(&["cost"]), || crate::cost::usage_findings(ctx)));
    }
    checks.push(Check::findings("checkov terraform", Reads::paths(&[TF]).tools(&[CHECKOV]), || {
        checkov(ctx, &["-d", "terraform", "--framework", "terraform"])
    }));
    if ctx.root.join(".github/workflows").is_dir() {
        checks.push(Check::findings(
            "checkov workflows",
            Reads::paths(&[".github/workflows"]).tools(&[CHECKOV]),
            || checkov(ctx, &["-d", ".github/workflows", "--framework", "github_actions"]),
        ));
        checks.push(Check::findings("zizmor workflows", Reads::paths(&[".github"]).tools(&[ZIZMOR]), || zizmor(ctx)));
    }
    Ok(checks)
}

/// Render an overlay, then the schema check, the API versions at the environment's Kubernetes version
/// (removed or unknown: a finding; removed in the next minor: a warning) and the policies over what
/// kustomize produced.
fn overlay_check(ctx: &Context, overlay: &str) -> Result<Outcome> {
    let yaml = crate::k8s::render(ctx, overlay)?;
    let objects = crate::k8s::parse(&yaml)?;
    let where_ = crate::k8s::overlay_dir(&ctx.root, overlay);
    let mut findings = crate::k8s::policies(&objects, overlay, &where_);
    let (apis, next_minor) = crate::lifecycle::apis::overlay_findings(ctx, overlay, &yaml)?;
    findings.extend(apis);
    let rendered = ctx.work.join("k8s").join(format!("{overlay}.yaml"));
    let rendered = rendered.to_string_lossy();
    findings.extend(checkov(ctx, &["-f", &rendered, "--framework", "kubernetes"])?.into_iter().map(|mut f| {
        f.file = where_.clone();
        f
    }));
    Ok(Outcome { findings, warnings: next_minor, plan: None })
}

/// An environment that runs another's overlay (`runner` runs `owner`'s; `None` where the overlay is
/// no configured environment's), as the configuration says.
struct Borrowed {
    project: String,
    owner: Option<Environment>,
    runner: Environment,
}

/// Where the environment runs another's overlay (dr runs production's): nothing in the rendered overlay
/// or the values of the releases it gets spells out the owner's names, region or account
/// (`bindings::foreign_literals`); the environment's own reach them as `${terraform:…}` bindings.
fn borrowed_literals(
    env: EnvFiles<'_>,
    borrowed: &Borrowed,
    objects: &[serde_norway::Value],
    releases: &[crate::releases::Release],
) -> Result<Vec<Finding>> {
    let Borrowed { project, owner: Some(owner), runner } = borrowed else { return Ok(Vec::new()) };
    let says = |literal: &str, what: &str| {
        format!(
            "names `{literal}`, `{}`'s own ({what}), but `{}` runs this overlay with its own: bind it from terraform (`${{terraform:NAME}}`)",
            owner.name, runner.name
        )
    };
    let mut findings = Vec::new();
    for object in objects {
        let text = serde_norway::to_string(object)?;
        let mut seen = std::collections::BTreeSet::new();
        for (_, literal, what) in crate::bindings::foreign_literals(&text, project, owner, runner) {
            if seen.insert(literal.clone()) {
                let message = format!("{}: {}", crate::k8s::object_name(object), says(&literal, what));
                findings.push(Finding::new(&env.overlay_dir(), None, message));
            }
        }
    }
    for release in releases.iter().filter(|r| r.environments.iter().any(|e| e == env.overlay())) {
        for file in release.values_files(env).iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(file)?;
            for (at, literal, what) in crate::bindings::foreign_literals(&text, project, owner, runner) {
                findings.push(Finding::new(file, Some(crate::error::line_of(&text, at)), says(&literal, what)));
            }
        }
    }
    Ok(findings)
}

/// What the overlay and the releases ask of the environment's cluster: the CRDs of the overlay's
/// custom resources come from a release the environment gets, its pods fit the node groups, its edge
/// objects name terraform's security group and public subnets, and an environment running another's
/// overlay runs it at that environment's Kubernetes minor.
fn cluster_fit(ctx: &Context, env: EnvFiles<'_>, borrowed: Option<&Borrowed>) -> Result<Vec<Finding>> {
    let overlay = env.overlay();
    let objects = crate::k8s::parse(&crate::k8s::render(ctx, overlay)?)?;
    let where_ = env.overlay_dir();
    let releases = crate::releases::load(&ctx.root)?;
    let provided = crate::releases::provided_in(&releases, overlay);
    let mut findings = crate::crds::check_overlay(&provided, overlay, &objects, &where_);
    if env.has_terraform() {
        findings.extend(crate::capacity::check(env, &releases, &objects));
        findings.extend(crate::edge::check(env, &objects));
        if let Some(borrowed) = borrowed {
            findings.extend(crate::lifecycle::borrowed_version_finding(env));
            findings.extend(borrowed_literals(env, borrowed, &objects, &releases)?);
        }
    } else {
        findings.push(Finding::new(
            &where_,
            None,
            format!("overlay `{overlay}` has no terraform environment {} to run on", env.shown_terraform_dir()),
        ));
    }
    Ok(findings)
}
