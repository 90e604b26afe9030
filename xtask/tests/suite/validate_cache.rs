//! validate's cache: a copy of the repository validated again answers every check whose inputs are
//! unchanged from the first run, runs again exactly the checks that read an edited file, never reuses a
//! failure, and `--no-cache` runs everything. The checks here are the quick ones that need no emulated
//! plan: terraform fmt, the module conventions, the Kubernetes version tables and the cost usage file.

use crate::common::*;
use crate::validate::repo_files;

const CHECKS: [&str; 4] = ["terraform fmt", "terraform module conventions", "kubernetes versions", "cost usage file"];

/// A copy of the repository's terraform/, k8s/, cost/, docs/DEPLOYMENT.md and xtask.toml.
fn copy() -> Sandbox {
    let mut files = repo_files(&["terraform", "k8s", "cost"]);
    for file in ["xtask.toml", "docs/DEPLOYMENT.md"] {
        files.push((file.into(), std::fs::read_to_string(repo_root().join(file)).unwrap()));
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    Sandbox::new().with_root(&files)
}

fn validate(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["validate"];
    for check in CHECKS {
        args.extend(["--only", check]);
    }
    args.extend(extra);
    sb.run(&args)
}

/// The line validate prints for `check`.
fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_once(check).is_some_and(|(_, rest)| rest.starts_with(' ') || rest.starts_with(':')))
        .unwrap_or_else(|| panic!("no line for `{check}` in:\n{out}"))
}

fn reused(out: &str, check: &str) -> bool {
    line(out, check).contains("(reused, ")
}

fn edit(sb: &Sandbox, rel: &str, append: &str) {
    let path = sb.path("repo").join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(path, text + append).unwrap();
}

#[test]
fn a_second_validate_of_an_unchanged_copy_reuses_every_check() {
    let sb = copy();
    let first = validate(&sb, &[]);
    first.assert_code(0);
    let second = validate(&sb, &[]);
    second.assert_code(0);
    for check in CHECKS {
        assert!(!reused(&first.stdout(), check), "the first run runs `{check}`:\n{}", first.stdout());
        assert!(reused(&second.stdout(), check), "the second reuses `{check}`:\n{}", second.stdout());
    }
    assert!(second.stdout().contains("reused 4 check(s)"), "{}", second.stdout());
    assert!(second.stdout().contains("all checks passed"), "{}", second.stdout());
}

#[test]
fn an_edit_runs_again_only_the_checks_that_read_the_file() {
    let sb = copy();
    validate(&sb, &[]).assert_code(0);
    edit(&sb, "cost/usage.toml", "\n# a comment the check reads and accepts\n");
    let out = validate(&sb, &[]);
    out.assert_code(0);
    let text = out.stdout();
    assert!(!reused(&text, "cost usage file"), "the usage file changed:\n{text}");
    for check in ["terraform fmt", "terraform module conventions", "kubernetes versions"] {
        assert!(reused(&text, check), "`{check}` does not read cost/:\n{text}");
    }
    edit(&sb, "terraform/modules/network/main.tf", "\n# a comment\n");
    let text = validate(&sb, &[]).stdout();
    for check in ["terraform fmt", "terraform module conventions"] {
        assert!(!reused(&text, check), "`{check}` reads terraform/:\n{text}");
    }
    for check in ["kubernetes versions", "cost usage file"] {
        assert!(reused(&text, check), "`{check}` does not read terraform/:\n{text}");
    }
}

#[test]
fn a_failing_check_is_never_reused() {
    let sb = copy();
    edit(&sb, "k8s/eks-versions.toml", "\nthis is not toml\n");
    let runs = [validate(&sb, &[]), validate(&sb, &[])];
    for out in &runs {
        out.assert_code(1);
        let text = out.stdout();
        let versions = line(&text, "kubernetes versions");
        assert!(versions.contains("FAILED") && !versions.contains("reused"), "it ran and failed:\n{text}");
        assert!(text.contains("k8s/eks-versions.toml"), "the finding names the file:\n{text}");
    }
    let second = runs[1].stdout();
    assert!(reused(&second, "cost usage file"), "a passing check beside it is reused:\n{second}");
}

#[test]
fn no_cache_runs_every_check_again() {
    let sb = copy();
    validate(&sb, &[]).assert_code(0);
    let out = validate(&sb, &["--no-cache"]);
    out.assert_code(0);
    let text = out.stdout();
    for check in CHECKS {
        assert!(!reused(&text, check), "--no-cache runs `{check}`:\n{text}");
    }
    assert!(!text.contains("reused"), "{text}");
    assert!(reused(&validate(&sb, &[]).stdout(), "cost usage file"), "--no-cache still stores what passed");
}
