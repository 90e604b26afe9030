//! The step engine through a real command (`plan dev`) with recording stand-ins for aws and terraform:
//! dry-run, failure reporting, redaction, the signal contract, resume/from/only, GitHub Actions output.

use std::time::{Duration, Instant};

use crate::common::*;

fn plan_dev() -> Sandbox {
    happy_standins(Sandbox::new().with_root(&fixture_files()))
}

#[test]
fn dry_run_prints_every_command_in_order_and_runs_nothing() {
    for env in ["dev", "prod"] {
        let sb = plan_dev();
        let out = sb.run(&["plan", env, "--dry-run"]);
        out.assert_code(0);
        let text = out.stdout();
        let order = [
            "preflight",
            "aws sts get-caller-identity",
            "state-backend",
            "aws s3api list-buckets",
            "terraform init",
            "terraform apply",
            "[3/5] init",
            "terraform init -input=false -no-color -reconfigure -backend-config=",
            "[4/5] validate",
            "terraform validate",
            "[5/5] plan",
            "terraform plan -input=false -no-color -out=",
            "terraform show -json",
        ];
        let mut at = 0;
        for needle in order {
            let found =
                text[at..].find(needle).unwrap_or_else(|| panic!("`{needle}` missing or out of order in:\n{text}"));
            at += found;
        }
        assert!(text.contains(&format!("-var environment={env}")), "{text}");
        assert!(
            text.contains("(in terraform/environments/") || text.contains("(in "),
            "working directory shown:\n{text}"
        );
        assert!(sb.calls().is_empty(), "dry run ran {:?}", sb.calls());
    }
}

#[test]
fn a_failing_step_shows_its_log_tail_and_how_to_resume() {
    let sb = plan_dev().standin(
        "terraform",
        r#"[ "$1" = validate ] && { echo "Error: Unsupported argument on main.tf line 3"; exit 1; }; exit 0"#,
    );
    let out = sb.run(&["plan", "dev"]);
    out.assert_code(1);
    let err = out.stderr();
    assert!(err.contains("Error: Unsupported argument on main.tf line 3"), "log tail shown:\n{err}");
    assert!(err.contains("step `validate` failed"), "{err}");
    assert!(err.contains("cargo xtask plan dev --resume"), "{err}");
    let table = out.stdout();
    assert!(table.lines().any(|l| l.starts_with("validate") && l.contains("failed")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("plan") && l.contains("pending")), "{table}");
}

#[test]
fn secrets_never_reach_the_terminal_or_the_logs() {
    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    let sb = plan_dev()
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .standin("terraform", r#"[ "$1" = init ] && { echo "debug: secret is $AWS_SECRET_ACCESS_KEY"; echo "stderr: $AWS_SECRET_ACCESS_KEY" >&2; exit 1; }; exit 0"#);
    let out = sb.run(&["plan", "dev", "--verbose"]);
    out.assert_code(1);
    assert!(!out.all().contains(secret), "secret printed:\n{}", out.all());
    assert!(out.all().contains("debug: secret is ***"), "the masked line is shown:\n{}", out.all());
    let mut logs = 0;
    for entry in walk(&sb.work()) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(!text.contains(secret), "secret in {}", entry.display());
        logs += 1;
    }
    assert!(logs > 0);
}

/// Ctrl-C while a tool runs: the tool gets one interrupt, finishes its own cleanup, the xtask exits 130
/// and `--resume` continues from the interrupted step.
#[test]
fn interrupt_lets_the_tool_clean_up_then_exits_130_and_resume_continues() {
    let sb = plan_dev();
    let started = sb.path("init-started");
    let marker = sb.path("init-cleaned-up");
    let interrupts = sb.path("interrupts");
    let sb = sb.standin(
        "terraform",
        &format!(
            r#"if [ "$1" = init ] && [ ! -e "{marker}" ]; then
  trap 'echo int >> "{interrupts}"; kill $! 2>/dev/null; sleep 0.5; echo released > "{marker}"; exit 130' INT
  touch "{started}"
  sleep 30 & wait $!
  exit 0
fi
case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) touch "${{a#-out=}}" ;; esac; done ;;
  show) echo '{{"applyable":false,"resource_changes":[]}}' ;;
esac"#,
            marker = marker.display(),
            started = started.display(),
            interrupts = interrupts.display()
        ),
    );
    let child = sb
        .command(&["plan", "dev"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the stand-in never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    unsafe_kill(child.id(), 2);
    let out = Run(child.wait_with_output().unwrap());
    out.assert_code(130);
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "released", "the tool finished its cleanup");
    assert_eq!(
        std::fs::read_to_string(&interrupts).unwrap().lines().count(),
        1,
        "exactly one interrupt reached the tool"
    );
    assert!(out.stderr().contains("Resume with: cargo xtask plan dev --resume"), "{}", out.stderr());

    let before = sb.calls().len();
    let resumed = sb.run(&["plan", "dev", "--resume"]);
    resumed.assert_code(0);
    let after: Vec<String> = sb.calls()[before..].to_vec();
    assert!(after[0].starts_with("terraform init"), "resume starts at the interrupted step: {after:?}");
    assert!(!after.iter().any(|c| c.starts_with("aws")), "steps done earlier are not re-run: {after:?}");
    assert!(resumed.stdout().lines().any(|l| l.starts_with("preflight") && l.contains("done")), "{}", resumed.stdout());
}

/// GitHub's cancel: SIGINT, then SIGTERM (7.5 s later there; here while the tool still cleans up). One
/// graceful shutdown: the tool gets one interrupt, is not killed, finishes its cleanup; exit 130.
#[test]
fn sigint_then_sigterm_is_one_graceful_shutdown() {
    let sb = plan_dev();
    let started = sb.path("init-started");
    let marker = sb.path("init-cleaned-up");
    let received = sb.path("received");
    let sb = sb.standin(
        "terraform",
        &format!(
            r#"if [ "$1" = init ] && [ ! -e "{marker}" ]; then
  trap 'echo term >> "{received}"' TERM
  trap 'echo int >> "{received}"; kill $! 2>/dev/null; touch "{marker}.cleaning"; sleep 2; echo released > "{marker}"; exit 130' INT
  touch "{started}"
  sleep 30 & wait $!
  exit 0
fi
exit 0"#,
            marker = marker.display(),
            started = started.display(),
            received = received.display()
        ),
    );
    let child = sb
        .command(&["plan", "dev"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the stand-in never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    unsafe_kill(child.id(), 2);
    let cleaning = std::path::PathBuf::from(format!("{}.cleaning", marker.display()));
    while !cleaning.exists() {
        assert!(Instant::now() < deadline, "the interrupt never reached the stand-in");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe_kill(child.id(), 15);
    let out = Run(child.wait_with_output().unwrap());
    out.assert_code(130);
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "released", "the tool finished its cleanup");
    assert_eq!(
        std::fs::read_to_string(&received).unwrap(),
        "int\n",
        "one interrupt reached the tool, and nothing else"
    );
    let err = out.stderr();
    assert!(err.contains("the tool finished its own shutdown first") && !err.contains("forced"), "{err}");
    let log = std::fs::read_to_string(sb.work().join("logs/plan-dev/03-init.log")).unwrap();
    assert!(log.contains("asked to stop again (SIGTERM): the same shutdown"), "{log}");
}

fn unsafe_kill(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success());
}

#[test]
fn from_and_only_select_steps_and_unknown_steps_are_usage_errors() {
    let sb = plan_dev();
    sb.run(&["plan", "dev", "--only", "validate"]).assert_code(0);
    assert_eq!(sb.calls(), ["terraform validate -no-color"]);

    let sb = plan_dev();
    sb.run(&["plan", "dev", "--from", "validate"]).assert_code(0);
    let calls = sb.calls();
    assert!(calls[0].starts_with("terraform validate") && calls[1].starts_with("terraform plan"), "{calls:?}");

    let out = plan_dev().run(&["plan", "dev", "--from", "apply"]);
    out.assert_code(2);
    assert!(
        out.stderr().contains("has no step `apply`; its steps are: preflight, state-backend, init, validate, plan"),
        "{}",
        out.stderr()
    );

    let out = plan_dev().run(&["plan", "dev", "--resume"]);
    out.assert_code(2);
    assert!(out.stderr().contains("nothing to resume"), "{}", out.stderr());
}

#[test]
fn github_actions_get_groups_annotations_and_a_step_summary() {
    let sb = plan_dev();
    let summary = sb.path("summary.md");
    let sb = sb.env("GITHUB_ACTIONS", "true").env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let out = Run(sb
        .command(&["plan", "dev"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap());
    out.assert_code(0);
    assert!(out.stdout().contains("::group::[1/5] preflight"), "{}", out.stdout());
    assert!(out.stdout().contains("::endgroup::"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("### cargo xtask plan dev")
            && md.contains("| plan | done |")
            && md.contains("1 to add, 0 to change, 0 to destroy"),
        "{md}"
    );

    let failing = sb.standin("terraform", "exit 3");
    let out = Run(failing
        .command(&["plan", "dev"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap());
    out.assert_code(1);
    assert!(out.stdout().contains("::error title=step init failed::"), "{}", out.stdout());
}

#[test]
fn account_guard_refuses_other_accounts_before_anything_changes() {
    let sb = plan_dev().standin("aws", r#"case "$*" in *get-caller-identity*) echo 999988887777 ;; esac"#);
    let out = sb.run(&["plan", "dev"]);
    out.assert_code(2);
    assert!(out.stderr().contains("the AWS credentials belong to account 999988887777, but"), "{}", out.stderr());
    assert!(!sb.calls().iter().any(|c| c.starts_with("terraform")), "{:?}", sb.calls());
}
