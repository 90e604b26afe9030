//! One-shot commands — git rev-parse, a kustomize render, terraform fmt, checkov, kubernetes-validate —
//! through xshell's `cmd!`: run to their end outside any pipeline, never echoed, stdin closed, output
//! captured, the exit status returned for the caller to judge. A program that is not there gets the one
//! not-found wording every process start uses ([`crate::error::not_found`]).
//!
//! Long-running tools run through the engine's `Cmd` instead (process group, log tee, signals).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
pub use xshell::cmd;
use xshell::Shell;

use crate::engine::Cmd;
use crate::error::not_found;

/// What a one-shot command printed and how it ended.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Standard output, then standard error.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A shell whose commands run in `dir`.
pub fn at(dir: &Path) -> Result<Shell> {
    let sh = Shell::new()?;
    sh.change_dir(dir);
    Ok(sh)
}

/// The program's path, as a tool lookup found it, or the not-found error.
pub fn program(found: Option<PathBuf>, name: &str) -> Result<PathBuf> {
    found.ok_or_else(|| anyhow!(not_found(name)))
}

/// Runs a one-shot command to its end; `program` is the name its not-found error gives. `cmd` makes
/// the command, again if its executable was busy ([`crate::engine::start_when_not_busy`]; xshell keeps
/// the io::Error to itself, so its text says which).
pub fn run<'a>(program: &str, cmd: impl Fn() -> xshell::Cmd<'a>) -> Result<Output> {
    let busy = format!("(os error {})", libc::ETXTBSY);
    let output = crate::engine::start_when_not_busy(|| {
        cmd().quiet().ignore_status().output().map_err(|e| match e.to_string() {
            text if text.ends_with(&busy) => std::io::Error::from_raw_os_error(libc::ETXTBSY),
            text => std::io::Error::other(text),
        })
    });
    match output {
        Ok(out) => Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Err(e) if e.to_string().starts_with("command not found") => Err(anyhow!(not_found(program))),
        Err(e) => Err(anyhow!("running {program}: {e}")),
    }
}

/// Runs an engine [`Cmd`] — the very command `--dry-run` shows — as a one-shot command.
pub fn run_cmd(cmd: &Cmd) -> Result<Output> {
    let (exe, args, cwd, env) = cmd.parts();
    let sh = Shell::new()?;
    if let Some(dir) = cwd {
        sh.change_dir(dir);
    }
    let env: Vec<(&str, &str)> = env.collect();
    run(&cmd.program, || sh.cmd(&exe).args(args).envs(env.iter().copied()))
}

/// The commit checked out at `root` (`git rev-parse HEAD`), or `None` outside a git checkout.
pub fn git_head(root: &Path) -> Option<String> {
    let sh = at(root).ok()?;
    let out = run("git", || cmd!(sh, "git rev-parse --verify HEAD")).ok()?;
    let sha = out.stdout.trim();
    (out.success && sha.len() >= 40 && sha.chars().all(|c| c.is_ascii_hexdigit())).then(|| sha.to_string())
}

/// Whether tracked files under `dir` (relative to `root`) differ from the checked-out commit.
pub fn git_changed(root: &Path, dir: &str) -> Option<bool> {
    let sh = at(root).ok()?;
    let out = run("git", || cmd!(sh, "git status --porcelain --untracked-files=no -- {dir}")).ok()?;
    out.success.then(|| !out.stdout.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    /// A script still open for writing can't be executed (ETXTBSY); once the writer closes it, the
    /// run started meanwhile goes through.
    #[test]
    fn a_script_busy_while_written_runs_once_it_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("tool");
        let mut file = std::fs::File::create(&script).unwrap();
        file.write_all(b"#!/bin/sh\necho ran\n").unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o755)).unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(file);
        });
        let sh = super::at(dir.path()).unwrap();
        let out = super::run("tool", || sh.cmd(&script)).unwrap();
        closer.join().unwrap();
        assert!(out.success && out.stdout.trim() == "ran", "{}", out.combined());
    }
}
