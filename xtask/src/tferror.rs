//! A failed tool's error, said in one line: for terraform its own `Error:` summary with the file and
//! line in the repository (mapped back from the scratch copy the emulator targets run in), and the first
//! line of its explanation; for any tool, its name and subcommand rather than a 300-character command
//! line (the full command is in the step log). A terraform error in the configuration — a variable's
//! validation, a precondition, an unsupported argument: anything at a file:line during init, validate or
//! plan that is not an API call — is bad input (exit 2), not a failed step.

use std::path::{Component, Path, PathBuf};

use crate::engine::Cmd;
use crate::error::usage;

/// The error for a tool that exited non-zero; `lines` is what it printed (redacted), `how` the exit.
pub fn explain(cmd: &Cmd, root: &Path, lines: &[String], how: &str) -> anyhow::Error {
    let short = short_name(cmd);
    if cmd.program == "terraform" {
        if let Some(e) = first_error(lines) {
            let at = e
                .location
                .as_ref()
                .map(|(file, line)| format!(" ({}:{line})", repo_path(cmd, root, file)))
                .unwrap_or_default();
            let detail = e.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default();
            let message = format!("`{short}`: {}{at}{detail}", e.summary);
            let sub = cmd.args.first().map(String::as_str).unwrap_or_default();
            let in_config = e.location.is_some()
                && matches!(sub, "init" | "validate" | "plan")
                && (!e.with_resource || e.summary.to_lowercase().contains("condition"));
            return if in_config { usage(message) } else { anyhow::anyhow!(message) };
        }
    }
    anyhow::anyhow!("`{short}` failed with {how} (the full command is in the step log)")
}

/// `terraform plan`, `aws s3api list-buckets`, `helm upgrade`: the program and its subcommand words.
fn short_name(cmd: &Cmd) -> String {
    let mut words = vec![cmd.program.clone()];
    words.extend(
        cmd.args
            .iter()
            .filter(|a| !a.starts_with('-') && !a.contains('/') && !a.contains(':') && !a.contains('='))
            .take(2)
            .cloned(),
    );
    words.join(" ")
}

struct TfError {
    summary: String,
    location: Option<(String, usize)>,
    with_resource: bool,
    detail: Option<String>,
}

fn first_error(lines: &[String]) -> Option<TfError> {
    let clean: Vec<&str> = lines.iter().map(|l| l.trim_start_matches(['│', '╷', '╵']).trim_end()).collect();
    let start = clean.iter().position(|l| l.trim_start().starts_with("Error: "))?;
    let summary = clean[start].trim_start().trim_start_matches("Error: ").trim().to_string();
    let mut error = TfError { summary, location: None, with_resource: false, detail: None };
    for line in &clean[start + 1..] {
        let trimmed = line.trim();
        if trimmed.starts_with("Error: ") {
            break;
        }
        if trimmed.starts_with("with ") {
            error.with_resource = true;
        } else if let Some(rest) = trimmed.strip_prefix("on ") {
            if error.location.is_none() {
                error.location = parse_location(rest);
            }
        } else if error.detail.is_none()
            && !trimmed.is_empty()
            && !line.starts_with(' ')
            && !line.starts_with('\t')
            && !trimmed.starts_with("Warning:")
        {
            error.detail = Some(trimmed.to_string());
        }
    }
    Some(error)
}

/// `main.tf line 12, in module "stack":` → (`main.tf`, 12)
fn parse_location(rest: &str) -> Option<(String, usize)> {
    let (file, after) = rest.split_once(" line ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    Some((file.to_string(), digits.parse().ok()?))
}

/// A path terraform printed (relative to the directory it ran in) as a path in the repository.
fn repo_path(cmd: &Cmd, root: &Path, file: &str) -> String {
    let Some(cwd) = &cmd.cwd else { return file.to_string() };
    let rel_cwd = match cwd.strip_prefix(root) {
        Ok(rel) => rel.to_path_buf(),
        // A scratch copy: `<work>/emulated/<env>/terraform/environments/<env>` is terraform/environments/<env>.
        Err(_) => {
            let parts: Vec<Component> = cwd.components().collect();
            let at = (0..parts.len()).rev().find(|&i| {
                parts[i].as_os_str() == "terraform"
                    && parts
                        .get(i + 1)
                        .is_some_and(|n| ["environments", "bootstrap", "modules"].iter().any(|k| n.as_os_str() == *k))
            });
            match at {
                Some(i) => parts[i..].iter().collect(),
                None => return file.to_string(),
            }
        }
    };
    let mut out = PathBuf::new();
    for c in rel_cwd.join(file).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn a_variable_validation_is_bad_input_at_the_repository_line() {
        let out = lines(
            "\nError: Invalid value for variable\n\n  on main.tf line 10, in module \"stack\":\n  10:   vpc_cidr = \"10.2.0.0/33\"\n    ├────────────────\n    │ var.vpc_cidr is \"10.2.0.0/33\"\n\nvpc_cidr must be a /16 to /28 block.\n\nThis was checked by the validation rule at ../../modules/network/variables.tf:5,3-13.\n",
        );
        let cmd = Cmd::new("terraform")
            .args(["plan", "-input=false", "-out=/w/plans/local.tfplan"])
            .cwd("/w/emulated/local/terraform/environments/local");
        let err = explain(&cmd, Path::new("/repo"), &out, "exit status 1");
        assert_eq!(crate::error::classify(&err).0, crate::error::EXIT_USAGE);
        assert_eq!(
            err.to_string(),
            "`terraform plan`: Invalid value for variable (terraform/environments/local/main.tf:10): vpc_cidr must be a /16 to /28 block."
        );
    }

    #[test]
    fn an_api_error_during_apply_is_a_failed_step() {
        let out = lines(
            "Error: creating Route53 Record: InvalidChangeBatch: already exists\n\n  with module.stack.module.dns.aws_route53_record.caa,\n  on ../../modules/dns/main.tf line 16, in resource \"aws_route53_record\" \"caa\":\n  16: resource \"aws_route53_record\" \"caa\" {\n",
        );
        let cmd = Cmd::new("terraform")
            .args(["apply", "-input=false", "/w/plans/local.tfplan"])
            .cwd("/repo/terraform/environments/dev");
        let err = explain(&cmd, Path::new("/repo"), &out, "exit status 1");
        assert_eq!(crate::error::classify(&err).0, crate::error::EXIT_FAILED);
        assert!(err.to_string().contains("(terraform/modules/dns/main.tf:16)"), "{err}");
    }

    #[test]
    fn other_tools_are_named_by_their_subcommand() {
        let cmd =
            Cmd::new("aws").args(["--endpoint-url", "http://127.0.0.1:5000", "s3api", "list-buckets", "--query", "x"]);
        let err = explain(&cmd, Path::new("/repo"), &[], "exit status 255");
        assert_eq!(
            err.to_string(),
            "`aws s3api list-buckets` failed with exit status 255 (the full command is in the step log)"
        );
    }
}
