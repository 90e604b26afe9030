//! What a terraform run that did not finish left behind, found and said: the S3 backend's state lock
//! (`use_lockfile` writes `<key>.tflock` next to the state in the state bucket; a terraform killed by a
//! second interrupt never removes it) and resources left tainted by an interrupted or failed apply —
//! the data resources among them with how to check them and keep them (`terraform untaint`) instead of
//! letting the next apply replace them.

use std::path::Path;

use anyhow::Result;

use crate::context::Context;
use crate::engine::{quote, Cmd, StepCtx};
use crate::recovery;
use crate::target::Target;
use crate::tfplan::{ModuleValues, State, DATA_RESOURCES};

/// The lock terraform holds while it works on the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLock {
    pub id: String,
    pub who: String,
    pub operation: String,
    pub created: String,
}

impl StateLock {
    /// Terraform's lock info JSON (`{"ID": …, "Operation": …, "Who": …, "Created": …}`).
    pub fn parse(text: &str) -> Option<StateLock> {
        #[derive(serde::Deserialize)]
        struct Info {
            #[serde(rename = "ID", default)]
            id: String,
            #[serde(rename = "Who", default)]
            who: String,
            #[serde(rename = "Operation", default)]
            operation: String,
            #[serde(rename = "Created", default)]
            created: String,
        }
        let info: Info = serde_json::from_str(text.trim()).ok()?;
        let lock = StateLock { id: info.id, who: info.who, operation: info.operation, created: info.created };
        (!lock.id.is_empty()).then_some(lock)
    }

    pub fn describe(&self) -> String {
        format!("ID {}, held by {} since {} ({})", self.id, self.who, self.created, self.operation)
    }
}

/// `s3://<state bucket>/<env>/terraform.tfstate.tflock` (the key `Target::backend_settings` writes).
pub fn lock_url(target: &Target) -> String {
    format!("s3://{}/{}/terraform.tfstate.tflock", target.state_bucket(), target.env.name)
}

/// Prints the lock object to stdout.
pub fn read_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Cmd {
    target.aws(ctx, endpoint).args(["s3", "cp", &lock_url(target), "-"])
}

pub fn remove_cmd(ctx: &Context, target: &Target, endpoint: Option<&str>) -> Cmd {
    target.aws(ctx, endpoint).args(["s3", "rm", &lock_url(target)])
}

/// The AWS CLI's answer for a missing object (`aws s3 cp` does a HeadObject first).
pub fn is_missing(stderr: &str) -> bool {
    stderr.contains("404")
        || stderr.contains("Not Found")
        || stderr.contains("NoSuchKey")
        || stderr.contains("NoSuchBucket")
}

/// `cargo xtask unlock <env> --yes`, as the user typed the environment.
pub fn unlock_advice(target: &Target) -> String {
    format!("cargo xtask unlock {} --yes", target.env.name)
}

/// After a step's terraform command: when it did not finish, say what it left (the lock after a forced
/// interrupt; tainted resources after an apply that stopped short). The result is passed through.
pub fn after_terraform(
    c: &mut StepCtx,
    ctx: &Context,
    target: &Target,
    endpoint: Option<&str>,
    result: Result<()>,
    applying: bool,
) -> Result<()> {
    let Err(err) = result else { return Ok(()) };
    if recovery::run_again(&err) {
        return Err(err); // the emulator is gone, and everything with it
    }
    if held_by_another_run(&err) {
        say_held_lock(c, ctx, target, endpoint);
        return Err(err); // nothing ran: nothing was left tainted
    }
    if recovery::forced(&err) {
        match c.attempt(&read_cmd(ctx, target, endpoint)) {
            Ok(Ok(text)) => match StateLock::parse(&text) {
                Some(lock) => {
                    crate::engine::say(format!(
                        "The run left terraform's state lock in {}: {}.",
                        lock_url(target),
                        lock.describe()
                    ));
                    crate::engine::say(format!(
                        "Nothing else holds it: remove it with `{}` (it shows the holder first; without --yes it asks), then resume.",
                        unlock_advice(target)
                    ));
                }
                None => crate::engine::say(format!(
                    "{} exists but is not terraform's lock info; see `cargo xtask unlock {}`",
                    lock_url(target),
                    target.env.name
                )),
            },
            Ok(Err(stderr)) if is_missing(&stderr) => crate::engine::say("No state lock was left behind."),
            Ok(Err(stderr)) => crate::engine::say(format!(
                "Could not read the state lock ({}); `cargo xtask unlock {}` shows it",
                stderr.lines().last().unwrap_or_default(),
                target.env.name
            )),
            Err(e) => crate::engine::say(format!("Could not read the state lock: {e:#}")),
        }
    }
    if applying {
        tainted_report(c, ctx, target, endpoint);
    }
    Err(err)
}

/// terraform could not take the state lock: another run holds it, or a cancelled or killed one left it.
fn held_by_another_run(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("Error acquiring the state lock")
}

/// The lock that stopped terraform, read from the bucket, and what to do about it.
fn say_held_lock(c: &mut StepCtx, ctx: &Context, target: &Target, endpoint: Option<&str>) {
    let holder = match c.attempt(&read_cmd(ctx, target, endpoint)) {
        Ok(Ok(text)) => StateLock::parse(&text).map(|l| l.describe()),
        _ => None,
    };
    crate::engine::say(format!(
        "The state of `{}` is locked ({}){}: another run is working on it, or a cancelled or killed run left the lock.",
        target.env.name,
        lock_url(target),
        holder.map(|h| format!(": {h}")).unwrap_or_default()
    ));
    crate::engine::say(format!(
        "If that run is still going, wait for it. If it was cancelled (its job or process is gone), remove the lock with `{}` (it shows the holder first), then resume.",
        unlock_advice(target)
    ));
}

/// Lists the resources the state marks tainted; for data resources, how to check and keep them.
fn tainted_report(c: &mut StepCtx, ctx: &Context, target: &Target, endpoint: Option<&str>) {
    let Ok(tf) = target.terraform(ctx, endpoint) else { return };
    let show = tf.cmd(["show", "-json", "-no-color"]);
    let Ok(Ok(json)) = c.attempt(&show) else {
        crate::engine::say("Could not read the state to look for tainted resources (it may still be locked).");
        return;
    };
    let Ok(state) = serde_json::from_str::<State>(&json) else { return };
    let tainted = state.values.map(|v| collect_tainted(&v.root_module)).unwrap_or_default();
    if tainted.is_empty() {
        crate::engine::say("No resource is tainted: the next plan picks up where the apply stopped.");
        return;
    }
    let (data, other): (Vec<_>, Vec<_>) = tainted.iter().partition(|(_, kind)| DATA_RESOURCES.contains(&kind.as_str()));
    crate::engine::say(format!(
        "{} resource(s) were left tainted (made, but not finished): the next apply replaces them{}",
        tainted.len(),
        if other.is_empty() {
            String::new()
        } else {
            format!(": {}", other.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", "))
        }
    ));
    for (address, kind) in data {
        let state_show = shell_line(&tf.cmd(["state", "show", address.as_str()]));
        let untaint = shell_line(&tf.cmd(["untaint", address.as_str()]));
        crate::engine::say(format!(
            "  data resource {address} ({kind}) is tainted: replacing it loses its data. Check it is whole \
             (`{state_show}`, and its status in AWS); if it is, keep it with `{untaint}` before resuming."
        ));
    }
}

/// (address, type) of every resource the state marks tainted, in this module and its children.
fn collect_tainted(module: &ModuleValues) -> Vec<(String, String)> {
    module.all().into_iter().filter(|r| r.tainted).map(|r| (r.address.clone(), r.kind.clone())).collect()
}

/// A command as one line a person can paste anywhere: absolute paths, `-chdir` for the directory.
pub fn shell_line(cmd: &Cmd) -> String {
    let (exe, args, cwd, env) = cmd.parts();
    let mut words: Vec<String> = env.map(|(k, v)| format!("{k}={}", quote(v))).collect();
    words.push(quote(&exe_name(&exe, &cmd.program)));
    if let (Some(dir), "terraform") = (cwd, cmd.program.as_str()) {
        words.push(format!("-chdir={}", quote(&dir.to_string_lossy())));
    }
    words.extend(args.iter().map(|a| quote(a)));
    crate::redact::apply(&words.join(" ")).into_owned()
}

fn exe_name(exe: &Path, program: &str) -> String {
    // The tool as found on PATH reads best; a project-installed one needs its path.
    match which::which(program) {
        Ok(p) if p == exe => program.to_string(),
        _ => exe.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_lock_info_parses() {
        let text = r#"{"ID":"8c1c-4e1f","Operation":"OperationTypeApply","Info":"","Who":"root@vm","Version":"1.11.4","Created":"2026-12-01T10:00:00Z","Path":"b/local/terraform.tfstate"}"#;
        let lock = StateLock::parse(text).unwrap();
        assert_eq!(lock.describe(), "ID 8c1c-4e1f, held by root@vm since 2026-12-01T10:00:00Z (OperationTypeApply)");
        assert_eq!(StateLock::parse("not json"), None);
    }

    #[test]
    fn tainted_resources_are_found_in_child_modules() {
        let state: ModuleValues = serde_json::from_value(serde_json::json!({"child_modules": [{"resources": [
            {"address": "module.stack.aws_db_instance.main", "type": "aws_db_instance", "tainted": true},
            {"address": "module.stack.aws_vpc.main", "type": "aws_vpc"}
        ]}]}))
        .unwrap();
        let out = collect_tainted(&state);
        assert_eq!(out, [("module.stack.aws_db_instance.main".to_string(), "aws_db_instance".to_string())]);
    }
}
