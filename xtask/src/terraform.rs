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
    pub path: PathBuf,
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
        Ok(TfFile { path: path.to_path_buf(), text, body })
    }

    /// Top-level blocks with this identifier: (first label, block, line).
    pub fn blocks<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = (String, &'a hcl_edit::structure::Block, usize)> + 'a {
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
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "tf")).collect())
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
                findings.push(Finding::new(Path::new(f), Some(line), "not formatted: run `terraform fmt -recursive terraform`"));
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
    let mut dirs = subdirs(&tf_dir(root).join("modules"));
    dirs.push(tf_dir(root).join("stack"));
    for dir in dirs.into_iter().filter(|d| d.is_dir()) {
        for file in MODULE_FILES {
            if !dir.join(file).is_file() {
                findings.push(Finding::new(&dir.join(file), None, format!("missing: every module has {}", MODULE_FILES.join(", "))));
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
                findings.push(Finding::new(&path, Some(line), format!("provider `{name}` configured inside a module: providers belong to the environment roots")));
            }
        }
        let readme = dir.join("README.md");
        if let Ok(text) = std::fs::read_to_string(&readme) {
            findings.extend(readme_tables(&readme, &text, &variables, &outputs));
        }
    }
    findings
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
                findings.push(Finding::new(path, Some(*line), format!("{heading} table lists `{name}`, which the module has no {kind} of")));
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
        let msgs: Vec<String> = readme_tables(Path::new("README.md"), text, &vars, &outs).iter().map(|f| f.to_string()).collect();
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
