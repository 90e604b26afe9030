//! Repository hygiene that `cargo test` enforces.

mod common;

use common::repo_root;

/// `.ci/run` runs exactly the test command the README gives a new engineer.
#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let command = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Run the tests"))
        .find(|l| l.starts_with("cargo "))
        .expect("README has a `## Run the tests` section with the command");
    assert!(ci.lines().any(|l| l.trim() == command.trim()), ".ci/run must run `{command}`");
}

/// Every command in `cargo xtask --help` appears in the README's command table.
#[test]
fn readme_lists_every_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.len() >= 8, "{help}");
    for command in commands {
        assert!(readme.contains(&format!("`cargo xtask {command}")), "README's command table misses `{command}`");
    }
}

/// The repository itself passes every check `cargo xtask validate` makes: terraform fmt and validate of
/// every environment, module conventions and generated README tables, checkov (0 failed) over
/// terraform, the rendered overlays and the workflows, schema and policy checks of every overlay, and
/// the release list.
#[test]
fn the_repository_passes_validate() {
    let sb = common::Sandbox::new();
    let out = sb.run(&["validate"]);
    out.assert_code(0);
    assert!(out.stdout().contains("all checks passed"), "{}", out.stdout());
    assert!(
        out.stdout().contains("checkov terraform") && out.stdout().contains("kubernetes overlay production"),
        "{}",
        out.stdout()
    );
}
