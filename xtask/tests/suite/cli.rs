//! The command line as a user meets it: help, configuration errors, doctor, tools, the emulator.

use crate::common::*;

#[test]
fn help_lists_every_command_and_every_command_has_help() {
    let sb = Sandbox::new();
    let out = sb.run(&["--help"]);
    out.assert_code(0);
    let commands = [
        "doctor",
        "tools",
        "emulator",
        "validate",
        "docs",
        "bootstrap",
        "plan",
        "deploy",
        "destroy",
        "mesh",
        "backup",
        "restore",
        "restore-drill",
        "schedule",
        "cost-report",
    ];
    for command in commands {
        assert!(
            out.stdout().lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help:\n{}",
            out.stdout()
        );
    }
    for command in commands {
        let help = sb.run(&[command, "--help"]);
        help.assert_code(0);
        assert!(help.stdout().contains("Usage: cargo xtask"), "{command} --help:\n{}", help.stdout());
    }
}

/// Each bad configuration: one line on stderr (with file:line where there is one), exit 2, nothing run.
#[test]
fn bad_configuration_is_one_clear_line_and_exit_2() {
    let good = FIXTURE_CONFIG;
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        (
            "missing file",
            String::new(),
            vec!["plan", "dev", "--dry-run", "--config", "/nonexistent/xtask.toml"],
            "cannot read the configuration /nonexistent/xtask.toml",
        ),
        (
            "syntax error",
            good.replace("[environments.dev]", "[environments.dev"),
            vec!["plan", "dev", "--dry-run"],
            "xtask.toml:3:",
        ),
        (
            "unknown key",
            good.replace(
                "region = \"us-east-1\"\n\n[environments.prod]",
                "region = \"us-east-1\"\nregoin = \"x\"\n\n[environments.prod]",
            ),
            vec!["plan", "dev", "--dry-run"],
            "xtask.toml:6: unknown field `regoin`",
        ),
        (
            "wrong type",
            good.replace("protected = true", "protected = \"yes\""),
            vec!["plan", "dev", "--dry-run"],
            "xtask.toml:11: invalid type",
        ),
        ("unknown env", good.to_string(), vec!["plan", "qa", "--dry-run"], "unknown environment `qa`: "),
        (
            "account id",
            good.replace("\"111122223333\"", "\"11112222333\""),
            vec!["plan", "dev", "--dry-run"],
            "xtask.toml:4: environments.dev.account_id `11112222333` must be the 12-digit AWS account id",
        ),
        (
            "region",
            good.replace("dr_region = \"us-west-2\"", "dr_region = \"us-wets-2\""),
            vec!["plan", "dev", "--dry-run"],
            "xtask.toml:10: environments.prod.dr_region `us-wets-2` is not an AWS region",
        ),
    ];
    for (name, config, args, expected) in cases {
        let mut files = fixture_files();
        files.retain(|(p, _)| *p != "xtask.toml");
        if !config.is_empty() {
            files.push(("xtask.toml", &config));
        }
        let sb = Sandbox::new().with_root(&files);
        let sb = happy_standins(sb);
        let out = sb.run(&args);
        out.assert_code(2);
        let stderr = out.stderr();
        assert_eq!(stderr.lines().count(), 1, "{name}: one line expected:\n{stderr}");
        assert!(stderr.contains(expected), "{name}: expected `{expected}` in:\n{stderr}");
        if name == "unknown env" {
            assert!(stderr.contains("dev, local, prod"), "{name}: valid names listed:\n{stderr}");
        }
        assert!(sb.calls().is_empty(), "{name}: nothing may run, but: {:?}", sb.calls());
    }
}

/// Off-hours is for unprotected environments: a protected one is refused in one line, nothing run.
#[test]
fn schedule_refuses_a_protected_environment() {
    let sb = happy_standins(Sandbox::new().with_root(&fixture_files()));
    for action in ["down", "up"] {
        let out = sb.run(&["schedule", "prod", action]);
        out.assert_code(2);
        assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
        assert!(
            out.stderr().contains("`prod` is protected: off-hours scheduling is for unprotected environments"),
            "{}",
            out.stderr()
        );
        assert!(sb.calls().is_empty(), "nothing may run, but: {:?}", sb.calls());
    }
}

#[test]
fn doctor_reports_every_tool_and_fails_naming_a_missing_one() {
    let sb = Sandbox::new();
    let out = sb.run(&["doctor", "--offline"]);
    out.assert_code(0);
    for tool in ["terraform", "aws", "kubectl", "helm", "linkerd", "emulator", "checkov"] {
        assert!(out.stdout().lines().any(|l| l.starts_with(tool)), "{tool} row missing:\n{}", out.stdout());
    }

    // The same PATH, with every directory holding terraform replaced by a copy without it.
    let without = sb.path("path-without-terraform");
    let mut dirs = Vec::new();
    for (i, dir) in std::env::split_paths(&std::env::var_os("PATH").unwrap()).enumerate() {
        if dir.join("terraform").exists() {
            let copy = without.join(i.to_string());
            std::fs::create_dir_all(&copy).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                if entry.file_name() != "terraform" {
                    std::os::unix::fs::symlink(entry.path(), copy.join(entry.file_name())).unwrap();
                }
            }
            dirs.push(copy);
        } else {
            dirs.push(dir);
        }
    }
    let out =
        Run(sb.command(&["doctor", "--offline"]).env("PATH", std::env::join_paths(dirs).unwrap()).output().unwrap());
    out.assert_code(1);
    assert!(
        out.stdout()
            .lines()
            .any(|l| l.starts_with("terraform") && l.contains("missing") && l.contains("developer.hashicorp.com")),
        "{}",
        out.stdout()
    );
    assert!(out.stderr().contains("terraform is missing"), "{}", out.stderr());
}

#[test]
fn tools_install_is_a_no_op_when_everything_is_present() {
    let sb = Sandbox::new();
    sb.run(&["tools", "install"]).assert_code(0);
    let again = sb.run(&["tools", "install"]);
    again.assert_code(0);
    assert!(again.stdout().contains("Nothing to install"), "{}", again.stdout());
    assert!(again.stdout().contains("already installed"), "{}", again.stdout());
    // The installed helm is the pinned one (the dry run names the pins).
    let plan = sb.run(&["tools", "install", "--dry-run"]).stdout();
    let pinned =
        plan.split("helm v").nth(1).and_then(|r| r.split_whitespace().next()).expect("the dry run names helm's pin");
    let helm =
        std::process::Command::new(repo_root().join(".tools/bin/helm")).args(["version", "--short"]).output().unwrap();
    assert!(String::from_utf8_lossy(&helm.stdout).starts_with(&format!("v{pinned}+")), "{pinned}: {helm:?}");
}

#[test]
fn emulator_start_status_stop() {
    let sb = Sandbox::new().with_root(&[("xtask.toml", FIXTURE_CONFIG)]);
    let out = sb.run(&["emulator", "start"]);
    out.assert_code(0);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.work().join("emulator/state.json")).unwrap()).unwrap();
    let (pid, port) = (state["pid"].as_u64().unwrap(), state["port"].as_u64().unwrap() as u16);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "port {port} answers");

    let again = sb.run(&["emulator", "start"]);
    again.assert_code(0);
    assert!(
        again.stdout().contains(&format!("already running at http://127.0.0.1:{port} (pid {pid})")),
        "{}",
        again.stdout()
    );

    let status = sb.run(&["emulator", "status"]);
    assert!(status.stdout().contains(&format!("running at http://127.0.0.1:{port}")), "{}", status.stdout());

    let stop = sb.run(&["emulator", "stop"]);
    stop.assert_code(0);
    assert!(stop.stdout().contains(&format!("emulator stopped (was pid {pid} on port {port})")));
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap().trim_start().starts_with('Z'))
        .unwrap_or(false);
    assert!(!alive, "the emulator process is gone");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} closed");
    assert!(sb.run(&["emulator", "status"]).stdout().contains("not running"));
}
