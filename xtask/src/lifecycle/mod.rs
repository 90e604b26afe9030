//! Kubernetes versions over time: minor versions ([`Minor`]), the EKS release calendar
//! (`k8s/eks-versions.toml`: release, end of standard and of extended support per minor — the one home of
//! those dates), the support warnings `doctor` and `plan` print, the per-release support records of
//! `helm-values/releases.toml` (`kubernetes = { "1.36" = "matrix" }`), and, in `apis`, the table of API
//! versions each minor stopped serving and the check of rendered manifests against it.

pub mod apis;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use time::Date;
use toml::Spanned;

use crate::clock;
use crate::env_files::EnvFiles;
use crate::error::{line_of, usage};
use crate::finding::Finding;
use crate::releases::Release;

/// The calendar, relative to the repository root.
pub const CALENDAR: &str = "k8s/eks-versions.toml";

/// How long before the end of standard support `doctor` and `plan` start to warn.
pub const WARN_DAYS: i64 = 90;

/// How a release's `kubernetes` table says a minor is supported: its project's own matrix (or version
/// constraint) names it, or it doesn't and helm-values/README.md records the decision to run it anyway.
pub const SUPPORT_KINDS: &[&str] = &["matrix", "decision"];

/// A Kubernetes minor version, `1.35`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

impl Minor {
    /// `1.35` of `1.35`, `v1.35.2`, `1.35.0` or `1.35.2-eks-abc`.
    pub fn parse(text: &str) -> Option<Minor> {
        let mut parts = text.trim().trim_start_matches('v').split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Minor { major, minor })
    }

    /// Exactly `1.35`: what `--to` and the tables accept.
    pub fn parse_exact(text: &str) -> Option<Minor> {
        let (major, minor) = text.split_once('.')?;
        let ok = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit());
        (ok(major) && ok(minor)).then(|| Minor { major: major.parse().unwrap_or(0), minor: minor.parse().unwrap_or(0) })
    }

    pub fn next(self) -> Minor {
        Minor { minor: self.minor + 1, ..self }
    }

    /// How many minors `self` is above `other` (negative when below).
    pub fn above(self, other: Minor) -> i64 {
        if self.major != other.major {
            return (i64::from(self.major) - i64::from(other.major)) * 1000;
        }
        i64::from(self.minor) - i64::from(other.minor)
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// Today, in UTC (the calendar's time zone).
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[allow(dead_code)]
    source: RawSource,
    versions: BTreeMap<String, Spanned<RawVersion>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    #[allow(dead_code)]
    pub(crate) url: String,
    #[allow(dead_code)]
    pub(crate) checked: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    released: String,
    standard_support_ends: String,
    extended_support_ends: String,
    #[serde(default)]
    note: Option<String>,
}

/// One minor version in EKS.
#[derive(Clone, Debug)]
pub struct Version {
    pub minor: Minor,
    pub released: Date,
    pub standard_ends: Date,
    pub extended_ends: Date,
    /// Where a row's dates come from when not from the calendar itself.
    pub note: Option<String>,
}

/// The EKS release calendar.
pub struct Calendar {
    pub versions: Vec<Version>,
}

impl Calendar {
    /// Reads and checks `k8s/eks-versions.toml`: every problem is one line with file:line, exit 2.
    pub fn load(root: &Path) -> Result<Calendar> {
        let path = root.join(CALENDAR);
        let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        let raw: RawCalendar = toml::from_str(&text).map_err(|e| toml_error(&path, &text, &e))?;
        let mut versions = Vec::new();
        for (key, row) in raw.versions {
            let at = format!("{}:{}", path.display(), line_of(&text, row.span().start));
            let row = row.into_inner();
            let minor = Minor::parse_exact(&key)
                .ok_or_else(|| usage(format!("{at}: `{key}` is not a minor version like 1.35")))?;
            let date = |name: &str, v: &str| {
                parse_date(v).ok_or_else(|| usage(format!("{at}: {key} {name} = `{v}` is not a date (YYYY-MM-DD)")))
            };
            let version = Version {
                minor,
                released: date("released", &row.released)?,
                standard_ends: date("standard_support_ends", &row.standard_support_ends)?,
                extended_ends: date("extended_support_ends", &row.extended_support_ends)?,
                note: row.note,
            };
            if !(version.released < version.standard_ends && version.standard_ends < version.extended_ends) {
                return Err(usage(format!(
                    "{at}: {key}: the dates must follow each other (released < standard_support_ends < extended_support_ends)"
                )));
            }
            versions.push(version);
        }
        versions.sort_by_key(|v| v.minor);
        Ok(Calendar { versions })
    }

    pub fn get(&self, minor: Minor) -> Option<&Version> {
        self.versions.iter().find(|v| v.minor == minor)
    }

    pub fn minors(&self) -> String {
        self.versions.iter().map(|v| v.minor.to_string()).collect::<Vec<_>>().join(", ")
    }
}

pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let at = e.span().map(|s| format!(":{}", line_of(text, s.start))).unwrap_or_default();
    usage(format!("{}{at}: {}", path.display(), e.message().trim().replace('\n', "; ")))
}

/// The Kubernetes minor an environment's terraform sets (`kubernetes_version` of its `module "stack"`),
/// with the file and line that says it.
pub fn environment_minor(env: EnvFiles<'_>) -> Result<(Minor, PathBuf, usize)> {
    let file = env.main_tf();
    let text = std::fs::read_to_string(&file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
    let value = env.kubernetes_version()?.ok_or_else(|| {
        usage(format!("{}: `module \"stack\"` sets no kubernetes_version (a string like \"1.35\")", file.display()))
    })?;
    let minor = Minor::parse_exact(&value)
        .ok_or_else(|| usage(format!("{}: kubernetes_version `{value}` is not like 1.35", file.display())))?;
    let line = version_line(&text).map_or(1, |(i, _)| i + 1);
    Ok((minor, file, line))
}

/// An environment that runs another's overlay (dr runs production's) runs it at that environment's
/// Kubernetes minor: the overlay's APIs, its releases' support rows and their minor-following pins are
/// all checked at the overlay environment's version, so a borrower left behind at an upgrade would be
/// rebuilt on a minor nothing was checked for. `None` when they agree (or the overlay's environment
/// has no terraform root: the overlay's own check says that).
pub fn borrowed_version_finding(env: EnvFiles<'_>) -> Option<Finding> {
    let lender = env.overlay_owner()?;
    let (own, file, line) = match environment_minor(env) {
        Ok(found) => found,
        Err(e) => return Some(Finding::new(&env.main_tf(), None, format!("{e:#}"))),
    };
    let Ok((theirs, ..)) = environment_minor(lender) else { return None };
    (own != theirs).then(|| {
        Finding::new(
            &file,
            Some(line),
            format!(
                "`{}` runs `{}`'s overlay but sets kubernetes_version = \"{own}\" where {} sets \"{theirs}\": the overlay and its releases are checked at {theirs}; set \"{theirs}\" here with {}'s upgrade (docs/DEPLOYMENT.md, \"Before the upgrade\")",
                env.name(),
                env.overlay(),
                lender.shown_main_tf(),
                env.overlay()
            ),
        )
    })
}

/// The (0-based) line of main.tf that sets `kubernetes_version`, and its text; `None` unless exactly one does.
pub fn version_line(text: &str) -> Option<(usize, &str)> {
    let mut found = crate::terraform::argument_lines(text, "kubernetes_version");
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Where an environment's Kubernetes version stands in the calendar on `today`: a warning within
/// [`WARN_DAYS`] of the end of standard support or after it, else `Ok(status)`.
pub fn support_status(
    calendar: &Calendar,
    env: &str,
    minor: Minor,
    today: Date,
) -> std::result::Result<String, String> {
    let Some(v) = calendar.get(minor) else {
        return Err(format!(
            "`{env}` runs Kubernetes {minor}, which {CALENDAR} does not list (it has {}): add its EKS dates",
            calendar.minors()
        ));
    };
    let next = minor.next();
    let days = (v.standard_ends - today).whole_days();
    let upgrade = format!("`cargo xtask upgrade {env} --to {next}`");
    let ends = clock::date(v.standard_ends);
    if today >= v.extended_ends {
        return Err(format!(
            "`{env}` runs Kubernetes {minor}, whose EKS extended support ended on {}: AWS upgrades the control plane by itself at any time, add-ons and nodes left behind; run {upgrade} now",
            clock::date(v.extended_ends)
        ));
    }
    if days <= 0 {
        return Err(format!(
            "`{env}` runs Kubernetes {minor}, whose EKS standard support ended on {ends}: with upgrade policy STANDARD (the stack's) AWS upgrades the control plane by itself, leaving add-ons and nodes behind; with EXTENDED it costs the extended-support rate until {}. Run {upgrade}",
            clock::date(v.extended_ends)
        ));
    }
    if days <= WARN_DAYS {
        return Err(format!(
            "`{env}` runs Kubernetes {minor}: EKS standard support ends on {ends}, in {days} days; then AWS upgrades the control plane by itself (upgrade policy STANDARD, the stack's) or bills extended support (EXTENDED). Plan {upgrade} before then"
        ));
    }
    Ok(format!("`{env}` Kubernetes {minor}: EKS standard support until {ends} ({days} days)"))
}

/// The support warnings of every real environment (not the emulator's), for `doctor` and `plan`:
/// `(env, Ok(status) | Err(warning))`.
pub fn environment_support(
    root: &Path,
    config: &crate::config::Config,
    today: Date,
) -> Vec<(String, std::result::Result<String, String>)> {
    let calendar = match Calendar::load(root) {
        Ok(c) => c,
        Err(e) => return vec![("calendar".into(), Err(format!("{e:#}")))],
    };
    let mut out = Vec::new();
    for env in config.environments().filter(|e| !e.emulator) {
        let files = EnvFiles::of(root, env);
        if !files.has_terraform() {
            continue;
        }
        let line = match environment_minor(files) {
            Ok((minor, ..)) => support_status(&calendar, &env.name, minor, today),
            Err(e) => Err(format!("{e:#}")),
        };
        out.push((env.name.clone(), line));
    }
    out
}

/// `validate`'s check of the releases' `kubernetes` tables: keys are minors, values one of
/// [`SUPPORT_KINDS`], and a release that has a table lists the minor of every environment it runs in.
pub fn release_support_findings(root: &Path, releases: &[Release]) -> Vec<Finding> {
    let file = root.join(crate::releases::LIST);
    let mut findings = Vec::new();
    for r in releases.iter().filter(|r| !r.kubernetes.is_empty()) {
        let at = |msg: String| Finding::new(&file, Some(r.line), format!("release `{}`: {msg}", r.name));
        for (key, kind) in &r.kubernetes {
            if Minor::parse_exact(key).is_none() {
                findings.push(at(format!("kubernetes: `{key}` is not a minor version like 1.36")));
            }
            if !SUPPORT_KINDS.contains(&kind.as_str()) {
                findings.push(at(format!(
                    "kubernetes: {key} = `{kind}` is not one of {} (matrix: its project's matrix names it; decision: helm-values/README.md records why it runs anyway)",
                    SUPPORT_KINDS.join(", ")
                )));
            }
        }
        for env in &r.environments {
            let files = EnvFiles::of_overlay(root, env);
            let Ok((minor, ..)) = environment_minor(files) else { continue };
            if !r.kubernetes.contains_key(&minor.to_string()) {
                findings.push(at(format!(
                    "runs in `{env}` at Kubernetes {minor} ({}) but its `kubernetes` table records no support for {minor}",
                    files.shown_main_tf()
                )));
            }
        }
    }
    findings
}

/// Where the calendar is shown to people: a table generated from k8s/eks-versions.toml.
pub const CALENDAR_DOC: &str = "docs/DEPLOYMENT.md";
const TABLE_BEGIN: &str = "<!-- BEGIN_EKS_CALENDAR -->";
const TABLE_END: &str = "<!-- END_EKS_CALENDAR -->";

/// The calendar as the docs show it, newest first.
pub fn calendar_table(calendar: &Calendar) -> String {
    let mut out = String::from(
        "| Kubernetes | EKS release | end of standard support | end of extended support | note |\n|---|---|---|---|---|\n",
    );
    for v in calendar.versions.iter().rev() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            v.minor,
            clock::date(v.released),
            clock::date(v.standard_ends),
            clock::date(v.extended_ends),
            v.note.as_deref().unwrap_or("")
        ));
    }
    out
}

/// Writes the docs' calendar table (`cargo xtask docs`); whether the file changed.
pub fn write_calendar_table(root: &Path) -> Result<bool> {
    let table = calendar_table(&Calendar::load(root)?);
    let doc = root.join(CALENDAR_DOC);
    let text = std::fs::read_to_string(&doc).map_err(|e| usage(format!("cannot read {}: {e}", doc.display())))?;
    let (Some(b), Some(e)) = (text.find(TABLE_BEGIN), text.find(TABLE_END)) else {
        return Err(usage(format!("{CALENDAR_DOC}: no {TABLE_BEGIN} / {TABLE_END} markers to fill")));
    };
    let updated = format!("{}{TABLE_BEGIN}\n{table}{}", &text[..b], &text[e..]);
    if updated == text {
        return Ok(false);
    }
    std::fs::write(&doc, updated).map_err(|e| usage(format!("cannot write {}: {e}", doc.display())))?;
    Ok(true)
}

/// `validate`'s check of the Kubernetes version tables: both read (every key, every date), and the docs'
/// calendar table is the one `cargo xtask docs` makes.
pub fn tables_findings(root: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    let as_finding = |file: &str, e: anyhow::Error| Finding::new(&root.join(file), None, format!("{e:#}"));
    if let Err(e) = apis::Removals::load(root) {
        findings.push(as_finding(apis::REMOVED, e));
    }
    let calendar = match Calendar::load(root) {
        Ok(c) => c,
        Err(e) => {
            findings.push(as_finding(CALENDAR, e));
            return findings;
        }
    };
    let doc = root.join(CALENDAR_DOC);
    let Ok(text) = std::fs::read_to_string(&doc) else { return findings };
    match (text.find(TABLE_BEGIN), text.find(TABLE_END)) {
        (Some(b), Some(e)) if b < e => {
            if text[b + TABLE_BEGIN.len()..e].trim() != calendar_table(&calendar).trim() {
                findings.push(Finding::new(
                    &doc,
                    Some(text[..b].matches('\n').count() + 1),
                    format!("the EKS calendar table differs from {CALENDAR}: run `cargo xtask docs`"),
                ));
            }
        }
        _ => findings.push(Finding::new(
            &doc,
            None,
            format!("no {TABLE_BEGIN} / {TABLE_END} markers around the EKS calendar"),
        )),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minors_parse_and_compare() {
        assert_eq!(Minor::parse("v1.35.2"), Some(Minor { major: 1, minor: 35 }));
        assert_eq!(Minor::parse("1.36.0-eks-1"), Some(Minor { major: 1, minor: 36 }));
        assert_eq!(Minor::parse_exact("1.36"), Some(Minor { major: 1, minor: 36 }));
        for bad in ["1.36.0", "v1.36", "1.", "one.two", ""] {
            assert_eq!(Minor::parse_exact(bad), None, "{bad}");
        }
        let m = Minor::parse_exact("1.35").unwrap();
        assert_eq!(m.next().to_string(), "1.36");
        assert_eq!(Minor::parse_exact("1.38").unwrap().above(m), 3);
    }

    fn calendar() -> Calendar {
        let v = |minor: &str, r: &str, s: &str, e: &str| Version {
            minor: Minor::parse_exact(minor).unwrap(),
            released: parse_date(r).unwrap(),
            standard_ends: parse_date(s).unwrap(),
            extended_ends: parse_date(e).unwrap(),
            note: None,
        };
        Calendar { versions: vec![v("1.35", "2026-01-28", "2027-03-27", "2028-03-27")] }
    }

    #[test]
    fn support_warns_within_ninety_days_and_after() {
        let cal = calendar();
        let m = Minor::parse_exact("1.35").unwrap();
        let at = |d: &str| support_status(&cal, "dev", m, parse_date(d).unwrap());
        assert!(at("2026-12-04").unwrap().contains("until 2027-03-27 (113 days)"));
        let soon = at("2027-01-01").unwrap_err();
        assert!(soon.contains("ends on 2027-03-27, in 85 days") && soon.contains("upgrade dev --to 1.36"), "{soon}");
        assert!(at("2027-03-27").unwrap_err().contains("standard support ended on 2027-03-27"));
        assert!(at("2028-04-01").unwrap_err().contains("extended support ended on 2028-03-27"));
        let unknown =
            support_status(&cal, "dev", Minor::parse_exact("1.40").unwrap(), parse_date("2027-01-01").unwrap());
        assert!(unknown.unwrap_err().contains("does not list"));
    }

    #[test]
    fn the_version_line_is_the_one_kubernetes_version() {
        let text = "module \"stack\" {\n  kubernetes_version = \"1.35\"\n  kubernetes_versions_x = 1\n}\n";
        assert_eq!(version_line(text), Some((1, "  kubernetes_version = \"1.35\"")));
        assert_eq!(version_line("kubernetes_version = 1\nkubernetes_version = 2\n"), None);
    }
}
