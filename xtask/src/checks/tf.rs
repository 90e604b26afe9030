//! The terraform checks: `terraform validate` of each environment and `terraform test` of each tested
//! module, their JSON diagnostics read through serde types.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use crate::context::Context;
use crate::engine::Cmd;
use crate::finding::Finding;
use crate::shell;
use crate::terraform::{self, Terraform};

/// One of terraform's JSON diagnostics (`validate -json`, the `diagnostic` messages of `test -json`).
#[derive(Deserialize)]
struct Diagnostic {
    #[serde(default = "error_word")]
    severity: String,
    #[serde(default = "error_word")]
    summary: String,
    #[serde(default)]
    detail: String,
    range: Option<Range>,
}

#[derive(Deserialize)]
struct Range {
    filename: String,
    start: Position,
}

#[derive(Deserialize)]
struct Position {
    line: usize,
}

fn error_word() -> String {
    "error".into()
}

impl Diagnostic {
    /// The file (relative to `dir`, which it is when terraform names none) and line it points at.
    fn place(&self, dir: &Path) -> (std::path::PathBuf, Option<usize>) {
        match &self.range {
            Some(r) => (dir.join(&r.filename), Some(r.start.line)),
            None => (dir.to_path_buf(), None),
        }
    }
}

/// `terraform validate -json`'s answer.
#[derive(Deserialize)]
struct ValidateAnswer {
    #[serde(default)]
    diagnostics: Vec<Diagnostic>,
}

/// The lines of `terraform test -json` validate reads (the others are skipped).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TestMessage {
    TestRun {
        test_run: TestRun,
    },
    Diagnostic {
        #[serde(rename = "@level")]
        level: String,
        diagnostic: Diagnostic,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct TestRun {
    #[serde(default)]
    path: String,
    #[serde(default = "unknown")]
    run: String,
    #[serde(default)]
    progress: String,
    #[serde(default = "unknown")]
    status: String,
}

fn unknown() -> String {
    "?".into()
}

/// `terraform init -backend=false` (skipped when nothing it depends on changed) and `terraform validate`.
pub(super) fn validate_root(ctx: &Context, tf: &Terraform) -> Result<Vec<Finding>> {
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
    let answer: ValidateAnswer = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => return Ok(vec![Finding::new(&tf.dir, None, format!("terraform validate: {}", text.trim()))]),
    };
    let findings = answer
        .diagnostics
        .iter()
        .filter(|d| d.severity == "error")
        .map(|d| {
            let (file, line) = d.place(&tf.dir);
            Finding::new(&terraform::normalize(&file), line, format!("{}: {}", d.summary, d.detail.replace('\n', " ")))
        })
        .collect();
    Ok(findings)
}

/// A module's `terraform test` files (tests/*.tftest.hcl, `mock_provider "aws"`: offline, seconds), run in
/// a scratch copy so the module directory gets no lock file or `.terraform/`. Every failed or errored run
/// is a finding, with terraform's own error and where it points.
pub(super) fn module_tests(ctx: &Context, dir: &Path, name: &str) -> Result<Vec<Finding>> {
    // The module's siblings come along: a module may call a shared building block (`../irsa-role`).
    let modules = ctx.work.join("terraform").join("tests").join(name);
    let _ = std::fs::remove_dir_all(&modules);
    let siblings = dir.parent().map(terraform::subdirs).unwrap_or_default();
    for sibling in siblings.iter().filter(|s| s.as_path() != dir) {
        terraform::copy_tree(sibling, &modules.join(sibling.file_name().unwrap_or_default()))?;
    }
    let scratch = modules.join(name);
    terraform::copy_tree(dir, &scratch)?;
    let tf = Terraform::new(ctx, scratch.clone(), &format!("test-{name}"))?;
    run_quiet(&tf.cmd(["init", "-backend=false", "-input=false", "-no-color"]))
        .with_context(|| format!("terraform init for the tests of {}", dir.display()))?;
    let out = shell::run_cmd(&tf.cmd(["test", "-json", "-no-color"]))?;
    let mut findings = Vec::new();
    for line in out.stdout.lines() {
        let Ok(message) = serde_json::from_str::<TestMessage>(line) else { continue };
        match message {
            TestMessage::TestRun { test_run: run }
                if run.progress == "complete" && matches!(run.status.as_str(), "fail" | "error") =>
            {
                let file = dir.join(&run.path);
                findings.push(Finding::new(&file, None, format!("run \"{}\": {}", run.run, run.status)));
            }
            TestMessage::Diagnostic { level, diagnostic: d } if level == "error" => {
                let (file, line) = d.place(dir);
                let detail = d.detail.replace('\n', " ");
                findings.push(Finding::new(&file, line, format!("{}: {}", d.summary, detail.trim())));
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
    // The tree's files as the scratch copies and the plans' key select them; of each `.tf` file the
    // lines that can change what init fetches (module sources, provider and module versions).
    for path in terraform::tree_files(&terraform::tf_dir(root)).unwrap_or_default() {
        if path.extension().is_some_and(|x| x == "tf") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            parts.extend(
                text.lines()
                    .filter(|l| l.trim_start().starts_with("source") || l.contains("version"))
                    .map(|l| format!("{}:{l}", path.display())),
            );
        }
    }
    parts.sort();
    crate::digest::sha256_hex(parts.join("\n").as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_and_test_diagnostics_point_at_file_and_line() {
        let answer: ValidateAnswer = serde_json::from_str(
            r#"{"valid":false,"diagnostics":[{"severity":"error","summary":"Bad","detail":"a\nb",
                "range":{"filename":"main.tf","start":{"line":7,"column":1}}},{"severity":"warning","summary":"W"}]}"#,
        )
        .unwrap();
        let d = &answer.diagnostics[0];
        assert_eq!(d.place(Path::new("/e")), (Path::new("/e/main.tf").to_path_buf(), Some(7)));
        assert_eq!((d.summary.as_str(), d.detail.as_str()), ("Bad", "a\nb"));
        assert_eq!(answer.diagnostics[1].place(Path::new("/e")), (Path::new("/e").to_path_buf(), None));
        let run = r#"{"type":"test_run","test_run":{"path":"tests/a.tftest.hcl","run":"r1","progress":"complete","status":"fail"}}"#;
        assert!(matches!(serde_json::from_str::<TestMessage>(run).unwrap(),
            TestMessage::TestRun { test_run } if test_run.status == "fail" && test_run.run == "r1"));
        let diag = r#"{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"S"}}"#;
        assert!(matches!(serde_json::from_str::<TestMessage>(diag).unwrap(),
            TestMessage::Diagnostic { level, diagnostic } if level == "error" && diagnostic.summary == "S"));
        let other = r#"{"@level":"info","type":"version","terraform":"1.9"}"#;
        assert!(matches!(serde_json::from_str::<TestMessage>(other).unwrap(), TestMessage::Other));
    }
}
