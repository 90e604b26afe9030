//! The scanners validate runs over the tree (checkov, zizmor), their JSON answers read through serde types.

use std::path::Path;

use anyhow::{bail, Result};

use crate::context::Context;
use crate::finding::Finding;
use crate::shell::{self, cmd};
use crate::tools::{self, Tools};

/// checkov's JSON answer: one report, or a list of them (one per framework).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum CheckovAnswer {
    Many(Vec<CheckovReport>),
    One(CheckovReport),
}

#[derive(serde::Deserialize, Default)]
struct CheckovReport {
    #[serde(default)]
    results: CheckovResults,
}

#[derive(serde::Deserialize, Default)]
struct CheckovResults {
    #[serde(default)]
    failed_checks: Vec<CheckovFailed>,
}

#[derive(serde::Deserialize)]
struct CheckovFailed {
    #[serde(default = "unknown")]
    check_id: String,
    #[serde(default = "unknown")]
    check_name: String,
    #[serde(default = "unknown")]
    resource: String,
    #[serde(default)]
    file_path: String,
    #[serde(default)]
    file_line_range: Vec<usize>,
}

fn unknown() -> String {
    "?".into()
}

/// checkov over a directory or file: every failed check is a finding (skips are inline, with reasons).
pub(super) fn checkov(ctx: &Context, args: &[&str]) -> Result<Vec<Finding>> {
    let exe = shell::program(Tools::new(ctx).find(tools::CHECKOV), tools::CHECKOV.bin)?;
    let sh = shell::at(&ctx.root)?;
    let quiet =
        || cmd!(sh, "{exe} --quiet --compact --output json --skip-download {args...}").env("LOG_LEVEL", "ERROR");
    let text = shell::run("checkov", quiet)?.stdout;
    checkov_findings(&ctx.root.join(args[1]), &text)
}

/// The failed checks of checkov's answer, as findings under `dir` (what checkov ran over).
fn checkov_findings(dir: &Path, text: &str) -> Result<Vec<Finding>> {
    let reports = match serde_json::from_str::<CheckovAnswer>(text) {
        Ok(CheckovAnswer::Many(list)) => list,
        Ok(CheckovAnswer::One(report)) => vec![report],
        Err(_) => bail!("checkov did not answer with JSON: {}", text.chars().take(300).collect::<String>()),
    };
    let mut findings = Vec::new();
    for f in reports.into_iter().flat_map(|r| r.results.failed_checks) {
        let file = f.file_path.trim_start_matches('/');
        let line = f.file_line_range.first().copied();
        let message = format!("{} {}: {}", f.check_id, f.resource, f.check_name);
        findings.push(Finding::new(&dir.join(file), line, message));
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
    key: ZizmorKey,
    annotation: String,
    kind: String,
}

/// Where a finding is: `{"Local": {"verbatim_path": …}}` for a file of the tree (remote ones have none).
#[derive(serde::Deserialize)]
struct ZizmorKey {
    #[serde(rename = "Local")]
    local: Option<ZizmorLocal>,
}

#[derive(serde::Deserialize)]
struct ZizmorLocal {
    verbatim_path: String,
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
pub(super) fn zizmor(ctx: &Context) -> Result<Vec<Finding>> {
    let exe = shell::program(Tools::new(ctx).find(tools::ZIZMOR), tools::ZIZMOR.bin)?;
    let sh = shell::at(&ctx.root)?;
    let quiet = || cmd!(sh, "{exe} --offline --quiet --format json --min-severity medium .github/workflows");
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
            .and_then(|l| l.symbolic.key.local.as_ref())
            .map(|k| k.verbatim_path.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkov_failed_checks_become_findings_from_one_report_or_a_list() {
        let one = r#"{"results":{"failed_checks":[{"check_id":"CKV_1","check_name":"N","resource":"r.x",
            "file_path":"/main.tf","file_line_range":[3,9]},{"file_path":"/b.tf"}]}}"#;
        let got = checkov_findings(Path::new("/t"), one).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].file.as_path(), got[0].line), (Path::new("/t/main.tf"), Some(3)));
        assert_eq!(got[0].message, "CKV_1 r.x: N");
        assert_eq!((got[1].line, got[1].message.as_str()), (None, "? ?: ?"));
        let list = format!("[{one},{{\"check_type\":\"x\",\"results\":{{\"failed_checks\":[]}}}}]");
        assert_eq!(checkov_findings(Path::new("/t"), &list).unwrap().len(), 2);
        assert!(checkov_findings(Path::new("/t"), "not json").is_err());
    }

    #[test]
    fn zizmor_findings_name_the_primary_place() {
        let answer = r#"[{"ident":"template-injection","desc":"D","determinations":{"severity":"High"},
            "locations":[{"symbolic":{"key":{"Local":{"verbatim_path":".github/workflows/a.yml"}},"annotation":"other","kind":"Related"},
                          "concrete":{"location":{"start_point":{"row":1,"column":0}}}},
                         {"symbolic":{"key":{"Local":{"verbatim_path":".github/workflows/b.yml"}},"annotation":"here","kind":"Primary"},
                          "concrete":{"location":{"start_point":{"row":4,"column":2}}}}]}]"#;
        let got = zizmor_findings(Path::new("/r"), serde_json::from_str(answer).unwrap());
        assert_eq!((got[0].file.as_path(), got[0].line), (Path::new("/r/.github/workflows/b.yml"), Some(5)));
        assert!(got[0].message.starts_with("zizmor template-injection (high): D: here"), "{}", got[0].message);
    }
}
