//! The checks `validate` makes on the terraform code: `terraform fmt`, the module conventions
//! (terraform/README.md) and the generated Inputs/Outputs tables of every module README.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{has_attr, subdirs, tf_dir, tf_files, TfFile};
use crate::context::Context;
use crate::finding::Finding;
use crate::shell::{self, cmd};
use crate::tools::{self, Tools};

/// `terraform fmt -check` over terraform/: each unformatted file with the first line that differs.
pub fn fmt_check(ctx: &Context) -> Result<Vec<Finding>> {
    let exe = shell::program(Tools::new(ctx).find(tools::TERRAFORM), tools::TERRAFORM.bin)?;
    let sh = shell::at(&ctx.root)?;
    let out = shell::run("terraform", || cmd!(sh, "{exe} fmt -check -diff -recursive -no-color terraform"))?;
    Ok(parse_fmt_diff(&out.stdout))
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
            findings.extend(made_outside_its_building_block(&dir, &path, &file));
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

/// The shared building blocks and the resource types each is the only maker of (terraform/README.md):
/// a bucket written by hand beside `hardened-bucket` is one the hardening (TLS-only, owner-enforced, …)
/// can miss, as the DR replicas once did; a key written by hand, one without rotation or the account's
/// administration.
const BUILDING_BLOCKS: &[(&str, &[&str])] = &[
    (
        "hardened-bucket",
        &[
            "aws_s3_bucket",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_policy",
        ],
    ),
    ("waf-acl", &["aws_wafv2_web_acl"]),
    ("kms-key", &["aws_kms_key", "aws_kms_alias"]),
];

/// Each resource of `file` (in module `dir`) whose type a building block makes, outside that block.
fn made_outside_its_building_block(dir: &Path, path: &Path, file: &TfFile) -> Vec<Finding> {
    let module = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut findings = Vec::new();
    for (_, block, line) in file.blocks("resource") {
        let kind = block.labels.first().map(|l| l.as_str()).unwrap_or_default();
        let owner = BUILDING_BLOCKS.iter().find(|(_, kinds)| kinds.contains(&kind)).map(|(owner, _)| *owner);
        if let Some(owner) = owner.filter(|owner| *owner != module) {
            findings.push(Finding::new(
                path,
                Some(line),
                format!("`{kind}` is made by the building block modules/{owner} only: call it instead (terraform/README.md)"),
            ));
        }
    }
    findings
}

const BEGIN_DOCS: &str = "<!-- BEGIN_TF_DOCS -->";
const END_DOCS: &str = "<!-- END_TF_DOCS -->";

/// An expression (a type, a default) on one line for a table cell, without the comments written in it
/// (the stack's `sizing` type describes each field in a comment; the description says where).
fn one_line(expr: &hcl_edit::expr::Expression) -> String {
    let text = expr.to_string();
    let code = text.lines().map(without_comment).collect::<Vec<_>>().join(" ");
    code.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// A line of HCL up to its `#` or `//` comment, if it has one outside a string.
fn without_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            '/' if !in_string && line[i..].starts_with("//") => return &line[..i],
            _ => {}
        }
    }
    line
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
    fn a_table_cell_leaves_the_comments_in_a_type_out() {
        let body = hcl_edit::parser::parse_body(
            "type = object({\n  # The VPC's /16.\n  vpc_cidr = string // its range\n  name = optional(string, \"a # b\")\n})\n",
        )
        .unwrap();
        let attr = body.attributes().next().unwrap();
        assert_eq!(one_line(&attr.value), "object({ vpc_cidr = string name = optional(string, \"a # b\") })");
    }

    #[test]
    fn fmt_diff_points_at_the_first_changed_line() {
        let diff = "terraform/a.tf\n--- old/terraform/a.tf\n+++ new/terraform/a.tf\n@@ -4,3 +4,3 @@\n variable \"a\" {\n-type=string\n+  type = string\n }\n";
        let f = parse_fmt_diff(diff);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].to_string(), "terraform/a.tf:5: not formatted: run `terraform fmt -recursive terraform`");
    }

    #[test]
    fn a_bucket_or_web_acl_made_outside_its_building_block_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = "resource \"aws_s3_bucket\" \"replica\" {\n  bucket = \"x\"\n}\n\nresource \"aws_s3_bucket_lifecycle_configuration\" \"replica\" {\n  bucket = \"x\"\n}\n\nresource \"aws_wafv2_web_acl\" \"this\" {\n}\n";
        for (module, expected) in [
            (
                "storage",
                vec![
                    "storage/main.tf:1: `aws_s3_bucket` is made by the building block modules/hardened-bucket only: call it instead (terraform/README.md)",
                    "storage/main.tf:9: `aws_wafv2_web_acl` is made by the building block modules/waf-acl only: call it instead (terraform/README.md)",
                ],
            ),
            (
                "hardened-bucket",
                vec!["hardened-bucket/main.tf:9: `aws_wafv2_web_acl` is made by the building block modules/waf-acl only: call it instead (terraform/README.md)"],
            ),
        ] {
            let path = dir.path().join(module).join("main.tf");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            let file = TfFile::read(&path).unwrap();
            let got: Vec<String> = made_outside_its_building_block(&dir.path().join(module), &path, &file)
                .iter()
                .map(|f| f.to_string().replace(&format!("{}/", dir.path().display()), ""))
                .collect();
            assert_eq!(got, expected);
        }
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
