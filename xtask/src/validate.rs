//! `cargo xtask validate`: every check of the infrastructure code, run in parallel, every failure
//! reported (file:line where there is one), exit 1 when any check found a problem.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};

use crate::cli::ValidateArgs;
use crate::engine::{human, Ui};
use crate::terraform::{self, Terraform};
use crate::Context;

/// One problem: where (file, line) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl Finding {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Finding {
        Finding { file: file.to_path_buf(), line, message: message.into() }
    }

    fn relative_to(mut self, root: &Path) -> Finding {
        if let Ok(rel) = self.file.strip_prefix(root) {
            self.file = rel.to_path_buf();
        }
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

type CheckFn<'a> = Box<dyn Fn() -> Result<Vec<Finding>> + Send + Sync + 'a>;

struct Check<'a> {
    name: String,
    run: CheckFn<'a>,
}

fn checks(ctx: &Context) -> Result<Vec<Check<'_>>> {
    let mut checks: Vec<Check> = vec![
        Check { name: "terraform fmt".into(), run: Box::new(|| terraform::fmt_check(ctx)) },
        Check { name: "terraform module conventions".into(), run: Box::new(|| Ok(terraform::conventions(&ctx.root))) },
    ];
    for dir in terraform::environment_dirs(&ctx.root) {
        let env = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let tf = Terraform::new(ctx, dir, &format!("validate-{env}"))?;
        checks
            .push(Check { name: format!("terraform validate {env}"), run: Box::new(move || validate_root(ctx, &tf)) });
    }
    for overlay in crate::k8s::overlays(&ctx.root) {
        checks.push(Check {
            name: format!("kubernetes overlay {overlay}"),
            run: Box::new(move || overlay_check(ctx, &overlay)),
        });
    }
    if ctx.root.join(crate::releases::LIST).is_file() {
        checks.push(Check {
            name: "helm release list and values".into(),
            run: Box::new(|| Ok(crate::releases::check_list(&ctx.root, &crate::releases::load(&ctx.root)?))),
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
    }
    Ok(checks)
}

/// Render an overlay, then the schema check and the policies over what kustomize produced.
fn overlay_check(ctx: &Context, overlay: &str) -> Result<Vec<Finding>> {
    let yaml = crate::k8s::render(ctx, overlay)?;
    let objects = crate::k8s::parse(&yaml)?;
    let where_ = crate::k8s::overlay_dir(&ctx.root, overlay);
    let mut findings = crate::k8s::policies(&objects, overlay, &where_);
    findings.extend(crate::k8s::schema_check(
        ctx,
        &yaml,
        overlay,
        &crate::k8s::kubernetes_version(&ctx.root, overlay),
    )?);
    let rendered = ctx.work.join("k8s").join(format!("{overlay}.yaml"));
    let rendered = rendered.to_string_lossy();
    findings.extend(checkov(ctx, &["-f", &rendered, "--framework", "kubernetes"])?.into_iter().map(|mut f| {
        f.file = where_.clone();
        f
    }));
    Ok(findings)
}

/// checkov over a directory or file: every failed check is a finding (skips are inline, with reasons).
fn checkov(ctx: &Context, args: &[&str]) -> Result<Vec<Finding>> {
    let tools = crate::tools::Tools::new(ctx);
    let exe = tools.find(crate::tools::CHECKOV).context("checkov not found: cargo xtask tools install")?;
    let mut all = vec!["--quiet", "--compact", "--output", "json", "--skip-download"];
    all.extend_from_slice(args);
    let out = duct::cmd(exe, all)
        .dir(&ctx.root)
        .env("LOG_LEVEL", "ERROR")
        .stdin_null()
        .stderr_null()
        .stdout_capture()
        .unchecked()
        .run()
        .context("running checkov")?;
    let text = String::from_utf8_lossy(&out.stdout);
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

pub fn run(ctx: &Context, args: ValidateArgs) -> Result<()> {
    let mut checks = checks(ctx)?;
    if args.list {
        checks.iter().for_each(|c| println!("{}", c.name));
        return Ok(());
    }
    if !args.only.is_empty() {
        checks.retain(|c| args.only.iter().any(|o| c.name.contains(o.as_str())));
        if checks.is_empty() {
            return Err(crate::engine::usage("no check matches --only; `cargo xtask validate --list` shows them"));
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
    if !all.is_empty() {
        println!();
        for finding in &all {
            println!("{finding}");
        }
    }
    for warning in mesh_expiry_warnings(ctx) {
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
        run_quiet(ctx, &init).context("terraform init -backend=false")?;
        std::fs::write(&stamp_file, &stamp).context("writing the init stamp")?;
    }
    let out = run_quiet(ctx, &tf.cmd(["validate", "-json", "-no-color"]).arg("-no-tests"));
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
            &normalize(&file),
            line,
            format!("{}: {detail}", d["summary"].as_str().unwrap_or("error")),
        ));
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
    use sha2::Digest;
    let digest = sha2::Sha256::digest(parts.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Runs a command to completion outside any pipeline; its stdout, or an error with its output.
fn run_quiet(_ctx: &Context, cmd: &crate::engine::Cmd) -> Result<String> {
    let (program, args, cwd, env) = cmd.parts();
    let mut expr = duct::cmd(program, args).stdin_null().stderr_to_stdout().stdout_capture().unchecked();
    if let Some(dir) = cwd {
        expr = expr.dir(dir);
    }
    for (k, v) in env {
        expr = expr.env(k, v);
    }
    let out = expr.run().with_context(|| format!("running {}", cmd.program))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() || text.trim_start().starts_with('{') {
        Ok(text)
    } else {
        bail!("{}", crate::redact::apply(text.trim()))
    }
}

/// Mesh certificates cached by `cargo xtask mesh` that expire within 60 days (warnings, not failures).
pub fn mesh_expiry_warnings(ctx: &Context) -> Vec<String> {
    let mut warnings = Vec::new();
    for entry in std::fs::read_dir(ctx.work.join("mesh")).into_iter().flatten().flatten() {
        let env = entry.file_name().to_string_lossy().into_owned();
        for (name, file) in [("trust anchor", "trust-anchor.crt"), ("issuer", "issuer.crt")] {
            let Ok(pem) = std::fs::read_to_string(entry.path().join(file)) else { continue };
            match crate::mesh::certs::expiry_warnings(&[(name, &pem)], crate::mesh::certs::now()) {
                Ok(list) => warnings
                    .extend(list.into_iter().map(|w| format!("{env}: {w} (cargo xtask mesh rotate-issuer {env})"))),
                Err(e) => warnings.push(format!("{env}: cannot read the cached {name}: {e:#}")),
            }
        }
    }
    warnings
}
