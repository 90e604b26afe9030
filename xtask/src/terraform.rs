//! Terraform: where each root lives, how terraform is invoked (data dir, CLI config, variables, backend),
//! and the checks `validate` makes on the code (fmt, conventions, `terraform validate`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use hcl_edit::structure::{Body, Structure};
use hcl_edit::Span;

use crate::config::{Config, Environment};
use crate::engine::Cmd;
use crate::tools::{self, Tools};
use crate::validate::Finding;
use crate::Context;

pub fn tf_dir(root: &Path) -> PathBuf {
    root.join("terraform")
}

pub fn env_dir(root: &Path, env: &str) -> PathBuf {
    tf_dir(root).join("environments").join(env)
}

/// How the xtask runs terraform in one root directory.
#[derive(Clone)]
pub struct Terraform {
    exe: Option<PathBuf>,
    /// The root module.
    pub dir: PathBuf,
    /// `TF_DATA_DIR`: kept under the work dir, so roots hold no `.terraform/` of their own.
    pub data_dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Terraform {
    pub fn new(ctx: &Context, dir: PathBuf, data_name: &str) -> Result<Terraform> {
        let tools = Tools::new(ctx);
        let data_dir = ctx.work.join("terraform").join("data").join(data_name);
        let mut env = tools::terraform_env(&ctx.work)?;
        env.push(("TF_DATA_DIR".into(), data_dir.to_string_lossy().into_owned()));
        Ok(Terraform { exe: tools.find(tools::TERRAFORM), dir, data_dir, env })
    }

    /// Adds environment variables (e.g. the emulator's AWS settings) to every command.
    pub fn with_env(mut self, vars: Vec<(String, String)>) -> Terraform {
        self.env.extend(vars);
        self
    }

    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut cmd = Cmd::new("terraform").exe(self.exe.clone()).cwd(&self.dir);
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        cmd.args(args)
    }
}

/// `-var` arguments for the facts terraform takes from xtask.toml.
pub fn env_vars(config: &Config, env: &Environment) -> Vec<String> {
    let mut vars = vec![
        format!("project={}", config.project),
        format!("environment={}", env.name),
        format!("region={}", env.region),
        format!("aws_account_id={}", env.account_id),
    ];
    if let Some(dr) = &env.dr_region {
        vars.push(format!("dr_region={dr}"));
    }
    vars.into_iter().flat_map(|v| ["-var".to_string(), v]).collect()
}

// ---------------------------------------------------------------------------------------------------
// HCL

/// A parsed `.tf` file.
pub struct TfFile {
    pub text: String,
    pub body: Body,
}

impl TfFile {
    pub fn read(path: &Path) -> std::result::Result<TfFile, Finding> {
        let text = std::fs::read_to_string(path).map_err(|e| Finding::new(path, None, format!("unreadable: {e}")))?;
        let body = hcl_edit::parser::parse_body(&text).map_err(|e| {
            let line = e.location().line();
            Finding::new(path, Some(line), format!("HCL syntax error: {}", e.message()))
        })?;
        Ok(TfFile { text, body })
    }

    /// Top-level blocks with this identifier: (first label, block, line).
    pub fn blocks<'a>(
        &'a self,
        ident: &'a str,
    ) -> impl Iterator<Item = (String, &'a hcl_edit::structure::Block, usize)> + 'a {
        self.body.iter().filter_map(move |s| match s {
            Structure::Block(b) if b.ident.as_str() == ident => {
                let label = b.labels.first().map(|l| l.as_str().to_string()).unwrap_or_default();
                Some((label, b, self.line_at(b.span())))
            }
            _ => None,
        })
    }

    fn line_at(&self, span: Option<std::ops::Range<usize>>) -> usize {
        span.map(|s| self.text[..s.start.min(self.text.len())].matches('\n').count() + 1).unwrap_or(1)
    }
}

pub fn has_attr(block: &hcl_edit::structure::Block, name: &str) -> bool {
    block.body.get_attribute(name).is_some()
}

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "tf")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The environment roots under terraform/environments.
pub fn environment_dirs(root: &Path) -> Vec<PathBuf> {
    subdirs(&tf_dir(root).join("environments"))
}

// ---------------------------------------------------------------------------------------------------
// Checks

/// `terraform fmt -check` over terraform/: each unformatted file with the first line that differs.
pub fn fmt_check(ctx: &Context) -> Result<Vec<Finding>> {
    let tools = Tools::new(ctx);
    let exe = tools.find(tools::TERRAFORM).context("terraform not found (cargo xtask doctor)")?;
    let out = duct::cmd(exe, ["fmt", "-check", "-diff", "-recursive", "-no-color", "terraform"])
        .dir(&ctx.root)
        .stdin_null()
        .stderr_null()
        .stdout_capture()
        .unchecked()
        .run()
        .context("running terraform fmt")?;
    Ok(parse_fmt_diff(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_fmt_diff(diff: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut file: Option<String> = None;
    let mut line = 0usize;
    for l in diff.lines() {
        if let Some(path) = l.strip_prefix("--- old/") {
            file = Some(path.to_string());
        } else if let Some(hunk) = l.strip_prefix("@@ -") {
            line = hunk.split([',', ' ']).next().and_then(|n| n.parse().ok()).unwrap_or(1);
        } else if l.starts_with("+++") {
        } else if let Some(f) = &file {
            if l.starts_with('-') || l.starts_with('+') {
                findings.push(Finding::new(
                    Path::new(f),
                    Some(line),
                    "not formatted: run `terraform fmt -recursive terraform`",
                ));
                file = None;
            } else if l.starts_with(' ') {
                line += 1;
            }
        }
    }
    findings
}

const MODULE_FILES: &[&str] = &["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"];

/// The module conventions (terraform/README.md): files present, every variable typed and described,
/// every output described, README tables that name exactly the variables and outputs.
pub fn conventions(root: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for dir in documented_modules(root) {
        for file in MODULE_FILES {
            if !dir.join(file).is_file() {
                findings.push(Finding::new(
                    &dir.join(file),
                    None,
                    format!("missing: every module has {}", MODULE_FILES.join(", ")),
                ));
            }
        }
        let mut variables = BTreeSet::new();
        let mut outputs = BTreeSet::new();
        for path in tf_files(&dir) {
            let file = match TfFile::read(&path) {
                Ok(f) => f,
                Err(finding) => {
                    findings.push(finding);
                    continue;
                }
            };
            for (name, block, line) in file.blocks("variable") {
                for attr in ["type", "description"] {
                    if !has_attr(block, attr) {
                        findings.push(Finding::new(&path, Some(line), format!("variable `{name}` has no {attr}")));
                    }
                }
                variables.insert(name);
            }
            for (name, block, line) in file.blocks("output") {
                if !has_attr(block, "description") {
                    findings.push(Finding::new(&path, Some(line), format!("output `{name}` has no description")));
                }
                outputs.insert(name);
            }
            for (name, _, line) in file.blocks("provider") {
                findings.push(Finding::new(
                    &path,
                    Some(line),
                    format!("provider `{name}` configured inside a module: providers belong to the environment roots"),
                ));
            }
        }
        let readme = dir.join("README.md");
        if let Ok(text) = std::fs::read_to_string(&readme) {
            let row_problems = readme_tables(&readme, &text, &variables, &outputs);
            if row_problems.is_empty() {
                if let Ok(tables) = docs_tables(&dir) {
                    match with_tables(&text, &tables) {
                        None => findings.push(Finding::new(&readme, None, format!("no {BEGIN_DOCS} … {END_DOCS} section for the generated tables"))),
                        Some(generated) if generated != text => findings.push(Finding::new(&readme, None, "the Inputs/Outputs tables differ from the code (types, defaults or descriptions): run `cargo xtask docs`")),
                        Some(_) => {}
                    }
                }
            }
            findings.extend(row_problems);
        }
    }
    findings
}

const BEGIN_DOCS: &str = "<!-- BEGIN_TF_DOCS -->";
const END_DOCS: &str = "<!-- END_TF_DOCS -->";

fn one_line(expr: &hcl_edit::expr::Expression) -> String {
    expr.to_string().split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// The Inputs and Outputs tables of a module, generated from its variables and outputs.
pub fn docs_tables(dir: &Path) -> std::result::Result<String, Finding> {
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for path in tf_files(dir) {
        let file = TfFile::read(&path)?;
        for (name, block, _) in file.blocks("variable") {
            let attr = |a: &str| block.body.get_attribute(a).map(|a| a.value.clone());
            let description = attr("description").and_then(|e| e.as_str().map(str::to_string)).unwrap_or_default();
            let kind = attr("type").map(|e| format!("`{}`", one_line(&e))).unwrap_or_default();
            let (default, required) = match attr("default") {
                Some(e) => (format!("`{}`", one_line(&e)), "no"),
                None => ("n/a".to_string(), "yes"),
            };
            inputs.push(format!("| `{name}` | {description} | {kind} | {default} | {required} |"));
        }
        for (name, block, _) in file.blocks("output") {
            let description = block
                .body
                .get_attribute("description")
                .and_then(|a| a.value.as_str().map(str::to_string))
                .unwrap_or_default();
            outputs.push(format!("| `{name}` | {description} |"));
        }
    }
    inputs.sort();
    outputs.sort();
    Ok(format!(
        "{BEGIN_DOCS}\n## Inputs\n\n| Name | Description | Type | Default | Required |\n|------|-------------|------|---------|:--------:|\n{}\n\n## Outputs\n\n| Name | Description |\n|------|-------------|\n{}\n{END_DOCS}",
        inputs.join("\n"),
        outputs.join("\n")
    ))
}

/// The module directories whose READMEs carry generated tables.
pub fn documented_modules(root: &Path) -> Vec<PathBuf> {
    let mut dirs = subdirs(&tf_dir(root).join("modules"));
    dirs.push(tf_dir(root).join("stack"));
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

/// The README with its generated section replaced by `tables` (None when it has no markers).
pub fn with_tables(readme: &str, tables: &str) -> Option<String> {
    let start = readme.find(BEGIN_DOCS)?;
    let end = readme[start..].find(END_DOCS)? + start + END_DOCS.len();
    Some(format!("{}{tables}{}", &readme[..start], &readme[end..]))
}

/// Compares the README's Inputs and Outputs tables with the module's variables and outputs.
fn readme_tables(path: &Path, text: &str, variables: &BTreeSet<String>, outputs: &BTreeSet<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (heading, names, kind) in [("## Inputs", variables, "variable"), ("## Outputs", outputs, "output")] {
        let Some(start) = text.lines().position(|l| l.trim() == heading) else {
            findings.push(Finding::new(path, None, format!("no `{heading}` table")));
            continue;
        };
        let rows: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .skip(start + 1)
            .take_while(|(_, l)| !l.starts_with("## "))
            .filter_map(|(i, l)| {
                let cell = l.trim().strip_prefix('|')?.split('|').next()?.trim();
                let name = cell.strip_prefix('`')?.strip_suffix('`')?;
                Some((i + 1, name.to_string()))
            })
            .collect();
        for name in names {
            if !rows.iter().any(|(_, n)| n == name) {
                findings.push(Finding::new(path, Some(start + 1), format!("{heading} table misses {kind} `{name}`")));
            }
        }
        for (line, name) in &rows {
            if !names.contains(name) {
                findings.push(Finding::new(
                    path,
                    Some(*line),
                    format!("{heading} table lists `{name}`, which the module has no {kind} of"),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_diff_points_at_the_first_changed_line() {
        let diff = "terraform/a.tf\n--- old/terraform/a.tf\n+++ new/terraform/a.tf\n@@ -4,3 +4,3 @@\n variable \"a\" {\n-type=string\n+  type = string\n }\n";
        let f = parse_fmt_diff(diff);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].to_string(), "terraform/a.tf:5: not formatted: run `terraform fmt -recursive terraform`");
    }

    #[test]
    fn readme_rows_are_matched_both_ways() {
        let text = "# m\n\n## Inputs\n\n| Name | Description |\n|---|---|\n| `a` | x |\n| `gone` | y |\n\n## Outputs\n\n| Name | Description |\n|---|---|\n";
        let vars: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let outs: BTreeSet<String> = ["o"].map(String::from).into();
        let msgs: Vec<String> =
            readme_tables(Path::new("README.md"), text, &vars, &outs).iter().map(|f| f.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "README.md:3: ## Inputs table misses variable `b`",
                "README.md:8: ## Inputs table lists `gone`, which the module has no variable of",
                "README.md:10: ## Outputs table misses output `o`",
            ]
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// Targets: an environment's terraform root and what it runs against

/// The AWS services the stack calls, each pointed at the emulator for `local` and `--emulated`.
const EMULATED_SERVICES: &[&str] = &[
    "acm",
    "autoscaling",
    "budgets",
    "ce",
    "cloudfront",
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "eks",
    "elasticache",
    "elbv2",
    "events",
    "guardduty",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
];

/// Shown by `--dry-run` where the emulator's port is not known yet.
pub const ENDPOINT_PLACEHOLDER: &str = "http://127.0.0.1:<emulator port>";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Against {
    /// The environment's real AWS account and remote state.
    Aws,
    /// `local`: the emulator, with remote state in the emulator's S3.
    Emulator,
    /// `plan <env> --emulated`: the emulator, from empty local state; the real backend untouched.
    EmulatedPlan,
}

/// One environment's terraform, wherever it runs.
pub struct Target {
    pub config: Config,
    pub env: Environment,
    pub against: Against,
    work: PathBuf,
    root: PathBuf,
    source: PathBuf,
}

impl Target {
    pub fn new(ctx: &Context, env_name: &str, emulated_plan: bool) -> Result<Target> {
        let config = ctx.config()?;
        let env = config.env(env_name)?.clone();
        let source = env_dir(&ctx.root, &env.name);
        if !source.join("main.tf").is_file() {
            return Err(crate::engine::usage(format!(
                "environment `{}` has no terraform root at {} (add one, or remove it from {})",
                env.name,
                source.display(),
                config.path.display()
            )));
        }
        let against = match (env.emulator, emulated_plan) {
            (_, true) => Against::EmulatedPlan,
            (true, false) => Against::Emulator,
            (false, false) => Against::Aws,
        };
        Ok(Target { config, env, against, work: ctx.work.clone(), root: ctx.root.clone(), source })
    }

    /// Whether this environment's `emulator_omissions` name the feature (always false off the emulator).
    pub fn omits(&self, feature: &str) -> bool {
        self.uses_emulator()
            && emulator_omissions(&self.root, &self.env.name).is_ok_and(|list| list.iter().any(|(k, _)| k == feature))
    }

    pub fn uses_emulator(&self) -> bool {
        self.against != Against::Aws
    }

    fn label(&self) -> String {
        match self.against {
            Against::EmulatedPlan => format!("{}-emulated", self.env.name),
            _ => self.env.name.clone(),
        }
    }

    /// Where this target's scratch copy of terraform/ lives (emulator targets only).
    fn scratch(&self) -> PathBuf {
        self.work.join("emulated").join(self.label())
    }

    /// The root module terraform runs in.
    pub fn dir(&self) -> PathBuf {
        match self.against {
            Against::Aws => self.source.clone(),
            _ => self.scratch().join("terraform").join("environments").join(&self.env.name),
        }
    }

    /// The bootstrap root (the state bucket), in the same tree as [`Target::dir`].
    pub fn bootstrap_terraform(&self, ctx: &Context, endpoint: Option<&str>) -> Result<Terraform> {
        let dir = match self.against {
            Against::Aws => tf_dir(&ctx.root).join("bootstrap"),
            _ => self.scratch().join("terraform").join("bootstrap"),
        };
        Ok(Terraform::new(ctx, dir, &format!("bootstrap-{}", self.label()))?.with_env(self.aws_env(endpoint)))
    }

    /// The bootstrap root's local state (it creates the bucket remote state lives in).
    pub fn bootstrap_state(&self) -> PathBuf {
        self.work.join("terraform").join("bootstrap").join(format!("{}.tfstate", self.label()))
    }

    pub fn file(&self, kind: &str) -> PathBuf {
        self.work.join("plans").join(format!("{}.{kind}", self.label()))
    }

    pub fn plan_file(&self) -> PathBuf {
        self.file("tfplan")
    }

    pub fn plan_json(&self) -> PathBuf {
        self.file("plan.json")
    }

    pub fn outputs_file(&self) -> PathBuf {
        self.work.join("outputs").join(format!("{}.json", self.label()))
    }

    /// The project-local kubeconfig for this environment's cluster.
    pub fn kubeconfig(&self) -> PathBuf {
        self.work.join("kube").join(format!("{}.config", self.label()))
    }

    pub fn backend_file(&self) -> PathBuf {
        self.work.join("terraform").join(format!("{}.backend.hcl", self.label()))
    }

    /// The remote-state bucket: `{project}-{env}-tfstate-{account}` (bucket names are global).
    pub fn state_bucket(&self) -> String {
        format!("{}-{}-tfstate-{}", self.config.project, self.env.name, self.env.account_id)
    }

    /// The emulator's endpoint now: the running one, or an error saying how to get one.
    pub fn live_endpoint(&self, ctx: &Context) -> Result<String> {
        crate::emulator::running(ctx).map(|r| r.endpoint()).ok_or_else(|| {
            // faults: not resumable; the advice printed is "Run again" (recovery.rs).
            anyhow::Error::new(crate::recovery::RunAgain(
                "the emulator is not running (its state went with it): run the whole command again, without --resume/--from"
                    .into(),
            ))
        })
    }

    /// The endpoint to show in `--dry-run`: the running emulator's, or a placeholder.
    pub fn shown_endpoint(&self, ctx: &Context) -> Option<String> {
        self.uses_emulator()
            .then(|| crate::emulator::running(ctx).map(|r| r.endpoint()).unwrap_or_else(|| ENDPOINT_PLACEHOLDER.into()))
    }

    /// Environment for AWS CLI calls and terraform: the emulator's, or nothing extra for real AWS.
    pub fn aws_env(&self, endpoint: Option<&str>) -> Vec<(String, String)> {
        match endpoint {
            Some(ep) => crate::emulator::aws_env(ep, &self.env.region),
            None => vec![
                ("AWS_REGION".into(), self.env.region.clone()),
                ("AWS_DEFAULT_REGION".into(), self.env.region.clone()),
            ],
        }
    }

    pub fn terraform(&self, ctx: &Context, endpoint: Option<&str>) -> Result<Terraform> {
        Ok(Terraform::new(ctx, self.dir(), &self.label())?.with_env(self.aws_env(endpoint)))
    }

    pub fn aws(&self, ctx: &Context, endpoint: Option<&str>) -> Cmd {
        let mut cmd = Tools::new(ctx).cmd(tools::AWS);
        // Some AWS CLI v1 commands ignore AWS_ENDPOINT_URL: the emulator is named on the command line too.
        if let Some(ep) = endpoint {
            cmd = cmd.args(["--endpoint-url", ep]);
        }
        for (k, v) in self.aws_env(endpoint) {
            cmd = cmd.env(k, v);
        }
        cmd
    }

    /// `-var`s for plan/apply/destroy. An emulated plan runs in the emulator's account, so that is the
    /// account the provider is allowed to use there.
    pub fn vars(&self) -> Vec<String> {
        let mut env = self.env.clone();
        if self.against == Against::EmulatedPlan {
            env.account_id = crate::emulator::ACCOUNT_ID.to_string();
        }
        env_vars(&self.config, &env)
    }

    /// Makes the root ready to run: for emulator targets a fresh scratch copy of terraform/ (when
    /// `fresh`) and the override that points the provider (and for `--emulated` the backend) at the
    /// emulator; for every target the backend settings file.
    pub fn prepare(&self, ctx: &Context, endpoint: Option<&str>, fresh: bool) -> Result<()> {
        if let (Some(endpoint), true) = (endpoint, self.uses_emulator()) {
            let copy = self.scratch().join("terraform");
            if fresh || !copy.is_dir() {
                let _ = std::fs::remove_dir_all(&copy);
                copy_tree(&tf_dir(&ctx.root), &copy)?;
            }
            let mut roots = vec![(self.source.clone(), self.dir(), self.against == Against::EmulatedPlan)];
            roots.push((tf_dir(&ctx.root).join("bootstrap"), copy.join("bootstrap"), false));
            for (source, dir, local_backend) in roots.into_iter().filter(|(s, ..)| s.is_dir()) {
                let path = dir.join("xtask_emulator_override.tf");
                let text = emulator_override(
                    &source,
                    endpoint,
                    local_backend.then(|| self.scratch().join("terraform.tfstate")),
                )?;
                std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        if self.against != Against::EmulatedPlan {
            let file = self.backend_file();
            std::fs::create_dir_all(file.parent().unwrap()).context("creating the terraform settings directory")?;
            std::fs::write(&file, self.backend_settings(endpoint))
                .with_context(|| format!("writing {}", file.display()))?;
        }
        self.ensure_dirs()
    }

    /// The directories plans and outputs are written to.
    pub fn ensure_dirs(&self) -> Result<()> {
        for file in [self.plan_file(), self.outputs_file()] {
            let dir = file.parent().expect("a file in a directory");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(())
    }

    /// The S3 backend settings: state per environment, encrypted, locked with terraform's S3 lockfile.
    pub fn backend_settings(&self, endpoint: Option<&str>) -> String {
        let mut text = format!(
            "# Written by cargo xtask for `{}`.\nbucket       = \"{}\"\nkey          = \"{}/terraform.tfstate\"\nregion       = \"{}\"\nencrypt      = true\nuse_lockfile = true\n",
            self.env.name,
            self.state_bucket(),
            self.env.name,
            self.env.region
        );
        if let Some(ep) = endpoint.filter(|_| self.uses_emulator()) {
            text.push_str(&format!(
                "# the local AWS emulator\nendpoints = {{ s3 = \"{ep}\", sts = \"{ep}\", iam = \"{ep}\" }}\nuse_path_style              = true\nskip_credentials_validation = true\nskip_metadata_api_check     = true\nskip_requesting_account_id  = true\n"
            ));
        }
        text
    }

    /// Removes the emulated plan's state so the next plan starts from nothing.
    pub fn reset_emulated_state(&self) {
        let _ = std::fs::remove_file(self.scratch().join("terraform.tfstate"));
    }
}

/// The `*_override.tf` that sends every `aws` provider (each alias too) to the emulator.
fn emulator_override(source: &Path, endpoint: &str, local_state: Option<PathBuf>) -> Result<String> {
    let mut aliases: Vec<Option<String>> = Vec::new();
    for path in tf_files(source) {
        let file = TfFile::read(&path).map_err(|f| anyhow::anyhow!("{f}"))?;
        for (name, block, _) in file.blocks("provider") {
            if name == "aws" {
                let alias = block.body.get_attribute("alias").and_then(|a| a.value.as_str().map(str::to_string));
                aliases.push(alias);
            }
        }
    }
    if aliases.is_empty() {
        aliases.push(None);
    }
    let mut text = String::from("# Written by cargo xtask: this scratch copy runs against the local AWS emulator.\n");
    if let Some(state) = local_state {
        text.push_str(&format!("terraform {{\n  backend \"local\" {{\n    path = \"{}\"\n  }}\n}}\n", state.display()));
    }
    let endpoints: String = EMULATED_SERVICES.iter().map(|s| format!("    {s} = \"{endpoint}\"\n")).collect();
    for alias in aliases {
        let alias_line = alias.map(|a| format!("  alias = \"{a}\"\n")).unwrap_or_default();
        text.push_str(&format!(
            "provider \"aws\" {{\n{alias_line}  access_key                  = \"test\"\n  secret_key                  = \"test\"\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n  s3_use_path_style           = true\n  endpoints {{\n{endpoints}  }}\n}}\n"
        ));
    }
    Ok(text)
}

/// Copies a directory tree, leaving out dot-directories (`.terraform`) and state files.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let path = entry.path();
        if path.is_dir() {
            if !name_str.starts_with('.') {
                copy_tree(&path, &to.join(&name))?;
            }
        } else if !name_str.contains(".tfstate") && !name_str.ends_with("_override.tf") {
            std::fs::copy(&path, to.join(&name)).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Plans

/// What a saved plan does, from `terraform show -json`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    /// False when the plan changes nothing (no resources, no outputs).
    pub applyable: bool,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// (address, type, actions) of every resource the plan deletes (replacements included).
    pub deletions: Vec<(String, String, String)>,
}

impl PlanSummary {
    pub fn from_json(text: &str) -> Result<PlanSummary> {
        let json: serde_json::Value = serde_json::from_str(text).context("the plan is not terraform's JSON")?;
        let mut summary =
            PlanSummary { applyable: json["applyable"].as_bool().unwrap_or(true), ..PlanSummary::default() };
        for rc in json["resource_changes"].as_array().into_iter().flatten() {
            if rc["mode"].as_str() == Some("data") {
                continue;
            }
            let actions: Vec<&str> =
                rc["change"]["actions"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            let creates = actions.contains(&"create");
            let deletes = actions.contains(&"delete");
            if creates {
                summary.add += 1;
            }
            if deletes {
                summary.destroy += 1;
                summary.deletions.push((
                    rc["address"].as_str().unwrap_or("?").to_string(),
                    rc["type"].as_str().unwrap_or("?").to_string(),
                    actions.join("+"),
                ));
            }
            if actions == ["update"] {
                summary.change += 1;
            }
        }
        Ok(summary)
    }

    pub fn line(&self) -> String {
        format!("{} to add, {} to change, {} to destroy", self.add, self.change, self.destroy)
    }
}

/// Resource types whose loss loses data or the platform itself: a protected environment's plan may
/// not delete or replace them without `--allow-destroy`.
pub const DATA_RESOURCES: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_s3_bucket",
    "aws_kms_key",
    "aws_eks_cluster",
    "aws_elasticache_replication_group",
    "aws_elasticache_cluster",
    "aws_dynamodb_table",
    "aws_secretsmanager_secret",
];

/// What an emulator environment leaves out: the `emulator_omissions` map in its `module "stack"` call
/// (feature → why the emulator can't do it), the one place that list lives.
pub fn emulator_omissions(root: &Path, env: &str) -> Result<Vec<(String, String)>> {
    let path = env_dir(root, env).join("main.tf");
    let file = TfFile::read(&path).map_err(|f| anyhow::anyhow!("{f}"))?;
    let mut list = Vec::new();
    for (name, block, _) in file.blocks("module") {
        if name != "stack" {
            continue;
        }
        let Some(attr) = block.body.get_attribute("emulator_omissions") else { continue };
        let Some(object) = attr.value.as_object() else {
            anyhow::bail!("{}: emulator_omissions must be a map literal", path.display());
        };
        for (key, value) in object.iter() {
            let key = match key {
                hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                hcl_edit::expr::ObjectKey::Expression(e) => e.as_str().unwrap_or_default().to_string(),
            };
            let why = value.expr().as_str().unwrap_or_default().to_string();
            list.push((key, why));
        }
    }
    Ok(list)
}

/// A literal argument of an environment's `module "stack"` call (its sizing), e.g. the monthly budget.
/// `None` when the environment does not set it.
pub fn stack_argument(root: &Path, env: &str, name: &str) -> Result<Option<hcl_edit::expr::Expression>> {
    let path = env_dir(root, env).join("main.tf");
    let file = TfFile::read(&path).map_err(|f| anyhow::anyhow!("{f}"))?;
    let found = file
        .blocks("module")
        .filter(|(label, ..)| label == "stack")
        .find_map(|(_, block, _)| block.body.get_attribute(name).map(|a| a.value.clone()));
    Ok(found)
}
