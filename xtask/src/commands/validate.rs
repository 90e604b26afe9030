//! `cargo xtask validate`: every check of the infrastructure code, run in parallel, every failure
//! reported (file:line where there is one), exit 1 when any check found a problem.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use crate::cli::ValidateArgs;
use crate::context::Context;
use crate::engine::Cmd;
use crate::engine::{human, Ui};
use crate::finding::Finding;
use crate::shell::{self, cmd};
use crate::terraform::{self, Terraform};
use crate::tools::{self, Tools};

type CheckFn<'a> = Box<dyn Fn() -> Result<Vec<Finding>> + Send + Sync + 'a>;

struct Check<'a> {
    name: String,
    run: CheckFn<'a>,
}

/// The emulated plans the contracts got, one line each (`dev: reused (0.1s)`).
type PlanLines = std::sync::Mutex<Vec<String>>;

/// What the checks warn of without failing (a manifest that breaks on the next Kubernetes minor).
type Warnings = std::sync::Mutex<Vec<Finding>>;

fn checks<'a>(ctx: &'a Context, plans: &'a PlanLines, warnings: &'a Warnings) -> Result<Vec<Check<'a>>> {
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

/// checkov over a directory or file: every failed check is a finding (skips are inline, with reasons).
fn checkov(ctx: &Context, args: &[&str]) -> Result<Vec<Finding>> {
    let exe = shell::program(Tools::new(ctx).find(tools::CHECKOV), tools::CHECKOV.bin)?;
    let sh = shell::at(&ctx.root)?;
    let quiet = cmd!(sh, "{exe} --quiet --compact --output json --skip-download {args...}").env("LOG_LEVEL", "ERROR");
    let text = shell::run("checkov", quiet)?.stdout;
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => bail!("checkov did not answer with JSON: {}", text.chars().take(300).collect::<String>()),
    };
    let reports: Vec<&serde_json::Value> = match &json {
        serde_json::Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    let mut findings = Vec::new();
    for report in reports {
        for f in report["results"]["failed_checks"].as_array().into_iter().flatten() {
            let file = f["file_path"].as_str().unwrap_or("").trim_start_matches('/');
            let line = f["file_line_range"][0].as_u64().map(|l| l as usize);
            let message = format!(
                "{} {}: {}",
                f["check_id"].as_str().unwrap_or("?"),
                f["resource"].as_str().unwrap_or("?"),
                f["check_name"].as_str().unwrap_or("?")
            );
            findings.push(Finding::new(&ctx.root.join(args[1]).join(file), line, message));
        }
    }
    Ok(findings)
}

/// zizmor's JSON (v1) answer: each finding with its audit, severity and places (the primary one first).
#[derive(serde::Deserialize)]
struct ZizmorFinding {
    ident: String,
    desc: String,
    determinations: ZizmorDeterminations,
    locations: Vec<ZizmorLocation>,
}

#[derive(serde::Deserialize)]
struct ZizmorDeterminations {
    severity: String,
}

#[derive(serde::Deserialize)]
struct ZizmorLocation {
    symbolic: ZizmorSymbolic,
    concrete: ZizmorConcrete,
}

#[derive(serde::Deserialize)]
struct ZizmorSymbolic {
    key: serde_json::Map<String, serde_json::Value>,
    annotation: String,
    kind: String,
}

#[derive(serde::Deserialize)]
struct ZizmorConcrete {
    location: ZizmorSpan,
}

#[derive(serde::Deserialize)]
struct ZizmorSpan {
    start_point: ZizmorPoint,
}

#[derive(serde::Deserialize)]
struct ZizmorPoint {
    row: usize,
}

/// zizmor over .github/workflows, its offline audits, everything of medium severity or above (an
/// ignore is an inline `# zizmor: ignore[audit]` with its reason beside it).
fn zizmor(ctx: &Context) -> Result<Vec<Finding>> {
    let exe = shell::program(Tools::new(ctx).find(tools::ZIZMOR), tools::ZIZMOR.bin)?;
    let sh = shell::at(&ctx.root)?;
    let quiet = cmd!(sh, "{exe} --offline --quiet --format json --min-severity medium .github/workflows");
    let out = shell::run("zizmor", quiet)?;
    let answer: Vec<ZizmorFinding> = serde_json::from_str(&out.stdout).map_err(|_| {
        anyhow::anyhow!("zizmor did not answer with JSON: {}", out.combined().chars().take(300).collect::<String>())
    })?;
    Ok(zizmor_findings(&ctx.root, answer))
}

fn zizmor_findings(root: &Path, answer: Vec<ZizmorFinding>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for f in answer {
        let place = f.locations.iter().find(|l| l.symbolic.kind == "Primary").or(f.locations.first());
        let file = place
            .and_then(|l| l.symbolic.key.get("Local"))
            .and_then(|k| k.get("verbatim_path"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(".github/workflows");
        let line = place.map(|l| l.concrete.location.start_point.row + 1);
        let what = place.map(|l| format!(": {}", l.symbolic.annotation)).unwrap_or_default();
        findings.push(Finding::new(
            &root.join(file),
            line,
            format!(
                "zizmor {} ({}): {}{what} — fix it, or ignore it inline (`# zizmor: ignore[{}]`) with the reason",
                f.ident,
                f.determinations.severity.to_lowercase(),
                f.desc,
                f.ident
            ),
        ));
    }
    findings
}

pub fn run(ctx: &Context, args: ValidateArgs) -> Result<()> {
    let plans = PlanLines::default();
    let warnings = Warnings::default();
    let mut checks = checks(ctx, &plans, &warnings)?;
    if args.list {
        checks.iter().for_each(|c| println!("{}", c.name));
        return Ok(());
    }
    if !args.only.is_empty() {
        checks.retain(|c| args.only.iter().any(|o| c.name.contains(o.as_str())));
        if checks.is_empty() {
            return Err(crate::error::usage("no check matches --only; `cargo xtask validate --list` shows them"));
        }
    }
    let ui = Ui::detect(false);
    println!("validate: {} checks, in parallel", checks.len());
    let results: Vec<(String, Result<Vec<Finding>>, std::time::Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = checks
            .iter()
            .map(|check| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let result = (check.run)();
                    (check.name.clone(), result, started.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a check panicked")).collect()
    });

    crate::plans::stop_emulator_if_started(ctx);
    let mut failed = 0;
    let mut all = Vec::new();
    for (name, result, took) in results {
        match result {
            Ok(findings) if findings.is_empty() => println!("  {} {name} ({})", ui.ok("ok    "), human(took)),
            Ok(findings) => {
                failed += 1;
                println!("  {} {name}: {} problem(s) ({})", ui.bad("FAILED"), findings.len(), human(took));
                all.extend(findings.into_iter().map(|f| f.relative_to(&ctx.root)));
            }
            Err(e) => {
                failed += 1;
                println!("  {} {name}: {e:#}", ui.bad("ERROR "));
            }
        }
    }
    drop(checks);
    let plans = plans.into_inner().unwrap_or_else(|e| e.into_inner());
    if !plans.is_empty() {
        println!("emulated plans: {}", plans.join(", "));
    }
    if !all.is_empty() {
        println!();
        for finding in &all {
            println!("{finding}");
        }
    }
    for warning in warnings.into_inner().unwrap_or_else(|e| e.into_inner()) {
        println!("{} {}", ui.warn("warning:"), warning.relative_to(&ctx.root));
    }
    for warning in crate::mesh::cached_expiry_warnings(ctx) {
        println!("{} {warning}", ui.warn("warning:"));
    }
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    println!("all checks passed");
    Ok(())
}

/// `terraform init -backend=false` (skipped when nothing it depends on changed) and `terraform validate`.
fn validate_root(ctx: &Context, tf: &Terraform) -> Result<Vec<Finding>> {
    let stamp = init_stamp(&ctx.root, &tf.dir);
    let stamp_file = tf.data_dir.join("xtask-init.stamp");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() != Some(stamp.as_str()) {
        let init = tf.cmd(["init", "-backend=false", "-input=false", "-no-color"]);
        run_quiet(&init).context("terraform init -backend=false")?;
        std::fs::write(&stamp_file, &stamp).context("writing the init stamp")?;
    }
    let out = run_quiet(&tf.cmd(["validate", "-json", "-no-color"]).arg("-no-tests"));
    let text = match out {
        Ok(text) => text,
        Err(e) => format!("{e:#}"),
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => return Ok(vec![Finding::new(&tf.dir, None, format!("terraform validate: {}", text.trim()))]),
    };
    let mut findings = Vec::new();
    for d in json["diagnostics"].as_array().into_iter().flatten() {
        let severity = d["severity"].as_str().unwrap_or("error");
        if severity != "error" {
            continue;
        }
        let file = d["range"]["filename"].as_str().map(|f| tf.dir.join(f)).unwrap_or_else(|| tf.dir.clone());
        let line = d["range"]["start"]["line"].as_u64().map(|l| l as usize);
        let detail = d["detail"].as_str().unwrap_or("").replace('\n', " ");
        findings.push(Finding::new(
            &terraform::normalize(&file),
            line,
            format!("{}: {detail}", d["summary"].as_str().unwrap_or("error")),
        ));
    }
    Ok(findings)
}

/// A module's `terraform test` files (tests/*.tftest.hcl, `mock_provider "aws"`: offline, seconds), run in
/// a scratch copy so the module directory gets no lock file or `.terraform/`. Every failed or errored run
/// is a finding, with terraform's own error and where it points.
fn module_tests(ctx: &Context, dir: &Path, name: &str) -> Result<Vec<Finding>> {
    let scratch = ctx.work.join("terraform").join("tests").join(name);
    let _ = std::fs::remove_dir_all(&scratch);
    terraform::copy_tree(dir, &scratch)?;
    let tf = Terraform::new(ctx, scratch.clone(), &format!("test-{name}"))?;
    run_quiet(&tf.cmd(["init", "-backend=false", "-input=false", "-no-color"]))
        .with_context(|| format!("terraform init for the tests of {}", dir.display()))?;
    let out = shell::run_cmd(&tf.cmd(["test", "-json", "-no-color"]))?;
    let mut findings = Vec::new();
    for line in out.stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match v["type"].as_str() {
            Some("test_run") => {
                let run = &v["test_run"];
                if run["progress"] == "complete" && matches!(run["status"].as_str(), Some("fail") | Some("error")) {
                    let file = dir.join(run["path"].as_str().unwrap_or(""));
                    findings.push(Finding::new(
                        &file,
                        None,
                        format!(
                            "run \"{}\": {}",
                            run["run"].as_str().unwrap_or("?"),
                            run["status"].as_str().unwrap_or("?")
                        ),
                    ));
                }
            }
            Some("diagnostic") if v["@level"] == "error" => {
                let d = &v["diagnostic"];
                let file = d["range"]["filename"].as_str().map(|f| dir.join(f)).unwrap_or_else(|| dir.to_path_buf());
                let line = d["range"]["start"]["line"].as_u64().map(|l| l as usize);
                let detail = d["detail"].as_str().unwrap_or("").replace('\n', " ");
                findings.push(Finding::new(
                    &file,
                    line,
                    format!("{}: {}", d["summary"].as_str().unwrap_or("error"), detail.trim()),
                ));
            }
            _ => {}
        }
    }
    if findings.is_empty() && !out.success {
        findings.push(Finding::new(dir, None, format!("terraform test failed: {}", out.combined().trim())));
    }
    Ok(findings)
}

/// What `init` depends on: the lock file and every module source and provider requirement in the tree.
fn init_stamp(root: &Path, dir: &Path) -> String {
    let mut parts = vec![std::fs::read_to_string(dir.join(".terraform.lock.hcl")).unwrap_or_default()];
    let mut stack = vec![terraform::tf_dir(root)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "tf") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                parts.extend(
                    text.lines()
                        .filter(|l| l.trim_start().starts_with("source") || l.contains("version"))
                        .map(|l| format!("{}:{l}", path.display())),
                );
            }
        }
    }
    parts.sort();
    let digest = ring::digest::digest(&ring::digest::SHA256, parts.join("\n").as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a command to completion outside any pipeline; its output, or an error with it.
fn run_quiet(cmd: &Cmd) -> Result<String> {
    let out = shell::run_cmd(cmd)?;
    let text = out.combined();
    if out.success || text.trim_start().starts_with('{') {
        Ok(text)
    } else {
        bail!("{}", crate::redact::apply(text.trim()))
    }
}
