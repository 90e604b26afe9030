//! Terraform: where each root lives, how terraform is invoked (data dir, CLI config, variables), the
//! HCL reader, the override that points a scratch copy at the emulator, and what an environment's
//! `module "stack"` call says. The checks `validate` makes on the code are in [`checks`].

pub mod checks;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use hcl_edit::structure::{Body, Structure};
use hcl_edit::Span;

use crate::config::{Config, Environment};
use crate::context::Context;
use crate::engine::Cmd;
use crate::finding::Finding;
use crate::tools::{self, Tools};

/// `path` with its `..` resolved lexically: where a module's relative `source` (`../modules/x`) or a
/// diagnostic's file inside one really is.
pub fn normalize(path: &Path) -> PathBuf {
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
        let mut env = tools::terraform_env(ctx)?;
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

/// The name an HCL object key gives: an identifier's, or a string key's text (`"eks_addons" = …`).
pub fn object_key(k: &hcl_edit::expr::ObjectKey) -> String {
    match k {
        hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
        hcl_edit::expr::ObjectKey::Expression(e) => e.as_str().unwrap_or_default().to_string(),
    }
}

/// The (0-based) lines of HCL `text` that set the argument `name` (`name = …`), with their text: what
/// a finding points at and what `upgrade` rewrites.
pub fn argument_lines<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    text.lines()
        .enumerate()
        .filter(move |(_, l)| l.trim_start().strip_prefix(name).is_some_and(|rest| rest.trim_start().starts_with('=')))
}

pub fn has_attr(block: &hcl_edit::structure::Block, name: &str) -> bool {
    block.body.get_attribute(name).is_some()
}

pub(crate) fn tf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "tf")).collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
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
// The emulator override: what points a scratch copy's providers at the emulator

/// The AWS services the stack calls, each pointed at the emulator for `local` and `--emulated`.
const EMULATED_SERVICES: &[&str] = &[
    "accessanalyzer",
    "acm",
    "autoscaling",
    "budgets",
    "ce",
    "cloudfront",
    "cloudtrail",
    "cloudwatch",
    "configservice",
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
    "s3control",
    "secretsmanager",
    "securityhub",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "wafv2",
];

/// The `*_override.tf` that sends every `aws` provider (each alias too) to the emulator.
pub fn emulator_override(source: &Path, endpoint: &str, local_state: Option<PathBuf>) -> Result<String> {
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

/// Copies a directory tree: the files [`tree_files`] selects.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for file in tree_files(from)? {
        let dest = to.join(file.strip_prefix(from).unwrap_or(&file));
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::copy(&file, &dest).with_context(|| format!("copying {}", file.display()))?;
    }
    Ok(())
}

/// The files of a tree that make it what it is, in path order: everything but dot-directories
/// (`.terraform`), state files and `_override.tf` files. The one selection rule of the scratch copies
/// ([`copy_tree`]) and of every key hashed from a tree (the emulated plans', validate's cache).
pub fn tree_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let is_dir = path.is_dir();
            if !selected(&path.file_name().unwrap_or_default().to_string_lossy(), is_dir) {
                continue;
            }
            if is_dir {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn selected(name: &str, is_dir: bool) -> bool {
    if is_dir {
        !name.starts_with('.')
    } else {
        !name.contains(".tfstate") && !name.ends_with("_override.tf")
    }
}

/// The modules that carry `terraform test` files (`tests/*.tftest.hcl`), in name order.
pub fn tested_modules(root: &Path) -> Vec<PathBuf> {
    subdirs(&tf_dir(root).join("modules"))
        .into_iter()
        .filter(|d| tf_files_with(&d.join("tests"), ".tftest.hcl"))
        .collect()
}

fn tf_files_with(dir: &Path, suffix: &str) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| e.file_name().to_string_lossy().ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block's line is its own first line, not that of the comments or blank lines above it (the
    /// contracts' findings point there).
    #[test]
    fn a_blocks_line_is_where_its_header_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.tf");
        std::fs::write(
            &path,
            "variable \"a\" {}\n\n# what b is\n# and why\nresource \"aws_s3_bucket\" \"b\" {\n  # inside\n  bucket = \"x\"\n}\n",
        )
        .unwrap();
        let tf = TfFile::read(&path).unwrap();
        let found: Vec<(String, usize)> = tf.blocks("resource").map(|(kind, _, line)| (kind, line)).collect();
        assert_eq!(found, [("aws_s3_bucket".to_string(), 5)]);
        assert_eq!(
            tf.blocks("variable").map(|(name, _, line)| (name, line)).collect::<Vec<_>>(),
            [("a".to_string(), 1)]
        );
    }
}
