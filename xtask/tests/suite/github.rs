//! `promotion` and `pr-comment`: GitHub's deployments and the pull-request comment, through a
//! recording `gh` stand-in that answers like the REST API (no GitHub here).

use crate::common::*;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A `gh` that answers the deployments of `SHA` to dev with `deployments` and each deployment's
/// statuses with `statuses`.
fn gh(deployments: &str, statuses: &str) -> Sandbox {
    Sandbox::new().env("GITHUB_REPOSITORY", "o/r").standin(
        "gh",
        &format!(
            "case \"$*\" in\n  *repos/o/r/deployments/*/statuses*) echo '{statuses}' ;;\n  *repos/o/r/deployments*) echo '{deployments}' ;;\n  *) exit 9 ;;\nesac"
        ),
    )
}

#[test]
fn promotion_lets_a_commit_through_once_it_deployed_to_the_environment_before() {
    let sb = gh(
        &format!(r#"[{{"id":41,"sha":"{SHA}","environment":"dev"}}]"#),
        r#"[{"id":2,"state":"inactive","created_at":"2026-12-03T09:00:00Z"},{"id":1,"state":"success","created_at":"2026-12-02T09:00:00Z","log_url":"https://github.com/o/r/actions/runs/7"}]"#,
    );
    let out = sb.run(&["promotion", "staging", "--commit", SHA]);
    out.assert_code(0);
    assert!(out.stdout().contains("commit 0123456789ab may go to staging: it deployed successfully to dev at 2026-12-02T09:00:00Z (deployment 41) (https://github.com/o/r/actions/runs/7)"), "{}", out.all());
    let calls = sb.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].contains(&format!("api -H Accept: application/vnd.github+json -H X-GitHub-Api-Version: 2022-11-28 --method GET repos/o/r/deployments -f environment=dev -f sha={SHA} -f per_page=100")), "{calls:?}");
    assert!(calls[1].contains("--method GET repos/o/r/deployments/41/statuses -f per_page=100"), "{calls:?}");
}

#[test]
fn promotion_refuses_in_one_line_with_exit_2() {
    let sb = gh("[]", "[]");
    let out = sb.run(&["promotion", "production", "--commit", SHA]);
    out.assert_code(2);
    let last = out.stderr().lines().last().unwrap_or_default().to_string();
    assert_eq!(last, "error: refused: commit 0123456789ab has not deployed successfully to staging, which production is promoted from (GitHub has no deployment of it to staging): deploy it to staging first, or dispatch production on a commit staging has run");
    assert!(sb.calls()[0].contains("environment=staging"));

    let failed = gh(
        &format!(r#"[{{"id":5,"sha":"{SHA}","environment":"dev"}}]"#),
        r#"[{"id":9,"state":"failure","created_at":"2026-12-03T09:00:00Z"}]"#,
    );
    let out = failed.run(&["promotion", "staging", "--commit", SHA]);
    out.assert_code(2);
    assert!(out.stderr().contains("(its deployments to dev ended failure)"), "{}", out.all());
}

#[test]
fn promotion_checks_its_input_before_asking_github_and_dry_run_asks_nothing() {
    let sb = gh("[]", "[]");
    let out = sb.run(&["promotion", "staging", "--commit", "main"]);
    out.assert_code(2);
    assert!(out.stderr().contains("--commit `main` is not a full 40-character commit id"), "{}", out.all());
    let out = sb.run(&["promotion", "staging", "--commit", SHA, "--repo", "not a repo"]);
    out.assert_code(2);
    assert!(out.stderr().contains("--repo `not a repo` is not OWNER/NAME"), "{}", out.all());
    let out = sb.run(&["promotion", "dev", "--commit", SHA]);
    out.assert_code(0);
    assert!(out.stdout().contains("dev is promoted from no environment"));
    let out = sb.run(&["promotion", "staging", "--commit", SHA, "--dry-run"]);
    out.assert_code(0);
    assert!(out.stdout().contains(&format!("gh api -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' --method GET repos/o/r/deployments -f environment=dev -f sha={SHA} -f per_page=100")), "{}", out.stdout());
    assert!(out.stdout().contains("repos/o/r/deployments/<id>/statuses"), "{}", out.stdout());
    assert!(sb.calls().is_empty(), "{:?}", sb.calls());
}

/// A `gh` that lists `comments` and records the body it is given (`--input FILE`) beside its calls.
fn commenting(comments: &str) -> Sandbox {
    let sb = Sandbox::new().env("GITHUB_REPOSITORY", "o/r").env("GH_TOKEN", "ghs_notarealtokenbutsecret");
    let bodies = sb.path("bodies.log");
    sb.standin(
        "gh",
        &format!(
            "echo \"gh sees token=$GH_TOKEN\" >&2\ncase \"$*\" in\n  *--paginate*) echo '{comments}' ;;\n  *) f=\"${{@: -1}}\"; cat \"$f\" >> {b}; echo >> {b}; echo '{{\"id\":77}}' ;;\nesac",
            b = bodies.display()
        ),
    )
}

#[test]
fn pr_comment_posts_once_then_updates_its_own_comment_in_place_without_secrets() {
    let sb = commenting("[[]]");
    let plans = sb.work().join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(plans.join("dev.summary.md"), "**1 to add**, 0 to change\nleaked: ghs_notarealtokenbutsecret\n")
        .unwrap();
    let out = sb.run(&[
        "pr-comment",
        "dev",
        "--pr",
        "12",
        "--commit",
        SHA,
        "--run-url",
        "https://github.com/o/r/actions/runs/3",
    ]);
    out.assert_code(0);
    let calls = sb.calls();
    assert!(
        calls[0].contains("--method GET --paginate --slurp repos/o/r/issues/12/comments?per_page=100"),
        "{calls:?}"
    );
    assert!(calls[1].contains("--method POST repos/o/r/issues/12/comments --input"), "{calls:?}");
    let bodies = std::fs::read_to_string(sb.path("bodies.log")).unwrap();
    let body: serde_json::Value = serde_json::from_str(bodies.lines().next().unwrap()).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- cargo-xtask pr-comment: dev -->"), "{body}");
    assert!(body.contains("**1 to add**") && body.contains("leaked: ***"), "{body}");
    assert!(body.contains("_The cost change was not made: a step before it failed — see [the run](https://github.com/o/r/actions/runs/3)._"), "{body}");
    // The stand-in printed the token on stderr, into the step log: the engine masked it there, and in
    // the journal and the summary, as in every artifact a workflow uploads.
    let logs: Vec<_> = walk(&sb.work().join("logs"));
    assert!(
        logs.iter().any(|f| std::fs::read_to_string(f).unwrap_or_default().contains("gh sees token=***")),
        "{logs:?}"
    );
    for file in walk(&sb.work()).into_iter().filter(|f| !f.ends_with("plans/dev.summary.md")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains("ghs_notarealtokenbutsecret"), "{} holds the token", file.display());
    }

    let again = commenting(
        r#"[[{"id":5,"body":"<!-- cargo-xtask pr-comment: dev -->","user":{"login":"someone","type":"User"}}],[{"id":6,"body":"old\n<!-- cargo-xtask pr-comment: dev -->","user":{"login":"github-actions[bot]","type":"Bot"}}]]"#,
    );
    again.run(&["pr-comment", "dev", "--pr", "12"]).assert_code(0);
    let calls = again.calls();
    assert!(calls[1].contains("--method PATCH repos/o/r/issues/comments/6 --input"), "{calls:?}");
}

#[test]
fn pr_comment_dry_run_shows_both_calls_and_writes_nothing() {
    let sb = commenting("[[]]");
    let out = sb.run(&["pr-comment", "staging", "--pr", "3", "--dry-run"]);
    out.assert_code(0);
    assert!(out.stdout().contains("--paginate --slurp 'repos/o/r/issues/3/comments?per_page=100'"), "{}", out.stdout());
    assert!(out.stdout().contains("--method POST repos/o/r/issues/3/comments --input"), "{}", out.stdout());
    assert!(sb.calls().is_empty());
    assert!(!sb.work().join("pr").exists());
    let out = sb.run(&["pr-comment", "staging", "--pr", "3", "--commit", "abc"]);
    out.assert_code(2);
}

/// The workflows' hygiene: every action pinned by a full commit SHA with its version beside it, every
/// checkout without persisted credentials, permissions granted per job on top of none, and the
/// toolchain every job installs the one rust-toolchain.toml pins.
#[test]
fn the_workflows_pin_actions_drop_credentials_and_install_the_pinned_toolchain() {
    let root = repo_root();
    let toolchain = std::fs::read_to_string(root.join("rust-toolchain.toml")).unwrap();
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = "))
        .map(|c| c.trim_matches('"').to_string())
        .expect("rust-toolchain.toml names a channel");
    let dir = root.join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 5, "ci, test, deploy, drift and operations workflows");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(text.contains("\npermissions: {}\n"), "{name}: the workflow grants nothing; each job asks for its own");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let at = format!("{name}:{}", i + 1);
            let uses = line.trim_start().trim_start_matches("- ").strip_prefix("uses: ");
            // A workflow of this repository (`./.github/workflows/…`) is this commit's own.
            if let Some(uses) = uses.filter(|u| !u.starts_with("./")) {
                let (action, rest) = uses.split_once('@').unwrap_or((uses, ""));
                let sha = rest.split_whitespace().next().unwrap_or("");
                assert!(
                    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{at}: {action} is not pinned by a commit SHA"
                );
                assert!(rest.contains(" # "), "{at}: {action}'s pin has no version comment");
                if action == "actions/checkout" {
                    let block: Vec<&str> =
                        lines[i + 1..].iter().take_while(|l| !l.trim_start().starts_with("- ")).copied().collect();
                    assert!(
                        block.iter().any(|l| l.trim() == "persist-credentials: false"),
                        "{at}: a checkout keeps its credentials"
                    );
                }
                if action == "dtolnay/rust-toolchain" {
                    let block: Vec<&str> =
                        lines[i + 1..].iter().take_while(|l| !l.trim_start().starts_with("- ")).copied().collect();
                    assert!(
                        block.iter().any(|l| l.trim() == format!("toolchain: {channel}")),
                        "{at}: installs another toolchain than rust-toolchain.toml's {channel}"
                    );
                }
            }
        }
        let value: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        for (id, job) in value["jobs"].as_mapping().unwrap() {
            assert!(job.get("permissions").is_some(), "{name} job {:?} names no permissions of its own", id);
        }
    }
}
