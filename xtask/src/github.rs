//! GitHub, through its CLI (`gh api`, authenticated by the job's `GH_TOKEN`): the deployments a
//! promotion is checked against (`cargo xtask promotion`), and the pull-request comment a plan is shown
//! in, one per environment, found again by a marker and updated in place (`cargo xtask pr-comment`).
//!
//! Every call is a [`Cmd`] built here, so `--dry-run` shows exactly what runs; the answers are read
//! through serde types. GitHub Actions makes a deployment for every job that names an environment
//! (`environment: staging`), with the job's commit and a status that follows the job: `success` when
//! the apply job finished, `failure`/`error` otherwise. That is what a promotion asks for.

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use crate::engine::Cmd;
use crate::error::usage;

/// GitHub refuses a comment body over 65,536 characters; a body is cut well before that.
const BODY_LIMIT: usize = 60_000;

/// Under GitHub Actions, `markdown` appended to the job's summary (`GITHUB_STEP_SUMMARY`); nothing
/// elsewhere. The engine's own summary line is written by the engine, which names no domain module.
pub fn append_step_summary(markdown: &str) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else { return Ok(()) };
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(markdown.as_bytes()))
        .with_context(|| format!("appending to GITHUB_STEP_SUMMARY {}", std::path::Path::new(&path).display()))
}

/// `owner/name`, checked.
pub fn repository(repo: Option<&str>) -> Result<String> {
    let repo = repo.unwrap_or("").trim();
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    match repo.split_once('/') {
        Some((owner, name)) if ok(owner) && ok(name) => Ok(repo.to_string()),
        _ if repo.is_empty() => Err(usage(
            "which repository? pass --repo OWNER/NAME (GitHub Actions sets GITHUB_REPOSITORY, which it defaults to)",
        )),
        _ => Err(usage(format!("--repo `{repo}` is not OWNER/NAME"))),
    }
}

/// A full 40-hex commit id (a promotion names exactly one commit, never a branch).
pub fn commit(sha: &str) -> Result<String> {
    let sha = sha.trim();
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_ascii_lowercase())
    } else {
        Err(usage(format!("--commit `{sha}` is not a full 40-character commit id (GitHub Actions: $GITHUB_SHA)")))
    }
}

fn gh() -> Cmd {
    Cmd::new("gh").args(["api", "-H", "Accept: application/vnd.github+json", "-H", "X-GitHub-Api-Version: 2022-11-28"])
}

// ---------------------------------------------------------------------------------------------------
// Deployments

#[derive(Deserialize, Debug)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    pub environment: String,
}

#[derive(Deserialize, Debug)]
pub struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    pub created_at: String,
    #[serde(default)]
    pub log_url: Option<String>,
}

/// The deployments of `sha` to `environment`.
pub fn deployments_cmd(repo: &str, environment: &str, sha: &str) -> Cmd {
    gh().args(["--method", "GET", &format!("repos/{repo}/deployments")]).args([
        "-f",
        &format!("environment={environment}"),
        "-f",
        &format!("sha={sha}"),
        "-f",
        "per_page=100",
    ])
}

/// The statuses of one deployment (`id` is `<id>` where `--dry-run` shows it).
pub fn statuses_cmd(repo: &str, id: &str) -> Cmd {
    gh().args(["--method", "GET", &format!("repos/{repo}/deployments/{id}/statuses"), "-f", "per_page=100"])
}

pub fn parse_deployments(json: &str) -> Result<Vec<Deployment>> {
    serde_json::from_str(json).context("GitHub's list of deployments is not what the API documents")
}

pub fn parse_statuses(json: &str) -> Result<Vec<DeploymentStatus>> {
    serde_json::from_str(json).context("GitHub's list of deployment statuses is not what the API documents")
}

/// Whether `sha` may be deployed to `env`: one of its deployments to `from` reached `success`. A
/// status after it does not undo that: GitHub marks a deployment `inactive` when a newer one to the
/// same environment succeeds, and the commit did run there. `Ok` is the line that says which; `Err`
/// the refusal.
pub fn judge(
    env: &str,
    from: &str,
    sha: &str,
    found: &[(Deployment, Vec<DeploymentStatus>)],
) -> std::result::Result<String, String> {
    let short = &sha[..sha.len().min(12)];
    let mut states = Vec::new();
    for (deployment, statuses) in found.iter().filter(|(d, _)| d.sha == sha && d.environment == from) {
        if let Some(ok) = statuses.iter().find(|s| s.state == "success") {
            let log = ok.log_url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default();
            return Ok(format!(
                "commit {short} may go to {env}: it deployed successfully to {from} at {} (deployment {}){log}",
                ok.created_at, deployment.id
            ));
        }
        let latest = statuses.iter().max_by_key(|s| s.id).map_or("created", |s| s.state.as_str());
        states.push(latest.to_string());
    }
    let seen = if states.is_empty() {
        format!("GitHub has no deployment of it to {from}")
    } else {
        format!("its deployments to {from} ended {}", states.join(", "))
    };
    Err(format!(
        "refused: commit {short} has not deployed successfully to {from}, which {env} is promoted from ({seen}): deploy it to {from} first, or dispatch {env} on a commit {from} has run"
    ))
}

// ---------------------------------------------------------------------------------------------------
// The pull-request comment

#[derive(Deserialize, Debug)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub user: User,
}

#[derive(Deserialize, Debug)]
pub struct User {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The hidden line that marks an environment's comment.
pub fn marker(env: &str) -> String {
    format!("<!-- cargo-xtask pr-comment: {env} -->")
}

/// Every comment of the pull request, all pages.
pub fn comments_cmd(repo: &str, pr: u64) -> Cmd {
    gh().args(["--method", "GET", "--paginate", "--slurp", &format!("repos/{repo}/issues/{pr}/comments?per_page=100")])
}

/// `--paginate --slurp` answers a list of pages.
pub fn parse_comments(json: &str) -> Result<Vec<Comment>> {
    let pages: Vec<Vec<Comment>> =
        serde_json::from_str(json).context("GitHub's list of pull-request comments is not what the API documents")?;
    Ok(pages.into_iter().flatten().collect())
}

/// The environment's earlier comment: the marker, written by a bot (the workflow's token). A person's
/// comment that quotes the marker is never edited.
pub fn earlier_comment(comments: &[Comment], env: &str) -> Option<u64> {
    let marker = marker(env);
    comments.iter().rev().find(|c| c.user.kind == "Bot" && c.body.contains(&marker)).map(|c| c.id)
}

/// Creates the comment (`earlier` is `None`) or replaces its body; the body is read from `body_file`
/// (`{"body": …}`).
pub fn write_cmd(repo: &str, pr: u64, earlier: Option<u64>, body_file: &str) -> Cmd {
    match earlier {
        Some(id) => gh().args(["--method", "PATCH", &format!("repos/{repo}/issues/comments/{id}")]),
        None => gh().args(["--method", "POST", &format!("repos/{repo}/issues/{pr}/comments")]),
    }
    .args(["--input", body_file])
}

/// One section of the comment: a markdown file, or the line saying it wasn't made.
pub struct Section {
    pub what: String,
    pub text: Option<String>,
}

/// The comment: the marker, a heading, each section, the commit and the run. Every registered secret
/// is masked, and a body over GitHub's limit is cut with a pointer to the run.
pub fn body(env: &str, sections: &[Section], commit: Option<&str>, run_url: Option<&str>) -> String {
    let mut out = format!("{}\n### `{env}`: what this pull request changes\n\n", marker(env));
    for s in sections {
        match &s.text {
            Some(t) => out.push_str(t.trim_end()),
            None => out.push_str(&format!(
                "_{} was not made: a step before it failed{}._",
                s.what,
                run_url.map(|u| format!(" — see [the run]({u})")).unwrap_or_default()
            )),
        }
        out.push_str("\n\n");
    }
    let made = match (commit, run_url) {
        (Some(c), Some(u)) => format!("Planned from {} in [this run]({u}).", &c[..c.len().min(12)]),
        (Some(c), None) => format!("Planned from {}.", &c[..c.len().min(12)]),
        (None, Some(u)) => format!("Made in [this run]({u})."),
        (None, None) => String::new(),
    };
    out.push_str(&format!("<sub>{made} Updated in place on every push; `cargo xtask pr-comment` writes it.</sub>\n"));
    let mut out = crate::redact::apply(&out).into_owned();
    if out.len() > BODY_LIMIT {
        let mut cut = BODY_LIMIT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(&format!(
            "\n\n_…cut at {BODY_LIMIT} characters (GitHub's limit is 65,536): the whole plan is in the job summary{}._\n",
            run_url.map(|u| format!(" of [the run]({u})")).unwrap_or_default()
        ));
    }
    out
}

/// The JSON GitHub takes for a comment.
pub fn body_json(body: &str) -> Result<String> {
    if body.is_empty() {
        bail!("an empty comment");
    }
    Ok(serde_json::json!({ "body": body }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn dep(id: u64, env: &str, states: &[&str]) -> (Deployment, Vec<DeploymentStatus>) {
        let statuses = states
            .iter()
            .enumerate()
            .map(|(i, s)| DeploymentStatus {
                id: id * 10 + i as u64,
                state: s.to_string(),
                created_at: format!("2026-12-0{}T10:00:00Z", i + 1),
                log_url: Some(format!("https://github.com/o/r/actions/runs/{id}")),
            })
            .collect();
        (Deployment { id, sha: SHA.into(), environment: env.into() }, statuses)
    }

    #[test]
    fn a_commit_is_promoted_only_after_its_successful_deployment_to_the_environment_before() {
        let ok = judge(
            "staging",
            "dev",
            SHA,
            &[dep(1, "dev", &["in_progress", "failure"]), dep(2, "dev", &["in_progress", "success"])],
        );
        assert_eq!(ok.unwrap(), "commit 0123456789ab may go to staging: it deployed successfully to dev at 2026-12-02T10:00:00Z (deployment 2) (https://github.com/o/r/actions/runs/2)");
        let failed = judge("staging", "dev", SHA, &[dep(1, "dev", &["in_progress", "failure"]), dep(3, "dev", &[])]);
        assert_eq!(failed.unwrap_err(), "refused: commit 0123456789ab has not deployed successfully to dev, which staging is promoted from (its deployments to dev ended failure, created): deploy it to dev first, or dispatch staging on a commit dev has run");
        let elsewhere = judge("production", "staging", SHA, &[dep(1, "dev", &["success"])]);
        assert!(elsewhere.unwrap_err().contains("(GitHub has no deployment of it to staging)"));
        // GitHub marks the deployment inactive once a newer commit deploys to dev: it still ran there.
        let superseded = judge("staging", "dev", SHA, &[dep(4, "dev", &["in_progress", "success", "inactive"])]);
        assert!(superseded.unwrap().contains("deployed successfully to dev at 2026-12-02T10:00:00Z (deployment 4)"));
    }

    #[test]
    fn only_the_bots_own_marked_comment_is_updated_and_the_body_is_masked_and_bounded() {
        let json = r#"[[{"id":1,"body":"<!-- cargo-xtask pr-comment: dev -->","user":{"login":"mallory","type":"User"}}],
                       [{"id":2,"body":"x\n<!-- cargo-xtask pr-comment: dev -->","user":{"login":"github-actions[bot]","type":"Bot"}},
                        {"id":3,"body":"<!-- cargo-xtask pr-comment: staging -->","user":{"login":"github-actions[bot]","type":"Bot"}}]]"#;
        let comments = parse_comments(json).unwrap();
        assert_eq!(earlier_comment(&comments, "dev"), Some(2));
        assert_eq!(earlier_comment(&comments, "staging"), Some(3));
        assert_eq!(earlier_comment(&comments, "production"), None);

        crate::redact::add("AKIAsecretvalue-body-test");
        let sections = [
            Section { what: "The plan".into(), text: Some("1 to add (AKIAsecretvalue-body-test)".into()) },
            Section { what: "The cost change".into(), text: None },
        ];
        let b = body("dev", &sections, Some(SHA), Some("https://github.com/o/r/actions/runs/9"));
        assert!(b.starts_with("<!-- cargo-xtask pr-comment: dev -->\n### `dev`"));
        assert!(b.contains("1 to add (***)") && !b.contains("AKIAsecretvalue"));
        assert!(b.contains("_The cost change was not made: a step before it failed — see [the run](https://github.com/o/r/actions/runs/9)._"));
        assert!(b.contains("Planned from 0123456789ab in [this run]"));
        let huge = [Section { what: "The plan".into(), text: Some("é".repeat(BODY_LIMIT)) }];
        let b = body("dev", &huge, None, None);
        assert!(b.len() < 65_536 && b.ends_with("the whole plan is in the job summary._\n"));
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(repository(Some("o/r")).unwrap(), "o/r");
        assert!(repository(None).unwrap_err().to_string().contains("pass --repo OWNER/NAME"));
        assert!(repository(Some("o/r; rm")).is_err());
        assert_eq!(commit(&SHA.to_uppercase()).unwrap(), SHA);
        assert!(commit("main").unwrap_err().to_string().contains("not a full 40-character commit id"));
        let shown = deployments_cmd("o/r", "dev", SHA).display(std::path::Path::new("/"));
        assert!(
            shown.contains("gh api") && shown.contains("repos/o/r/deployments") && shown.contains("environment=dev"),
            "{shown}"
        );
    }
}
