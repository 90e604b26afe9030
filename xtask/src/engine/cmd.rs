//! [`Cmd`]: one external command — program, arguments, working directory, the environment that
//! matters and secret stdin — and how it is shown (quoted, secrets masked, paths relative to the root).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::redact;

/// One external command: program, arguments, working directory and the environment that matters.
#[derive(Clone, Debug)]
pub struct Cmd {
    /// What the user reads: the tool's name.
    pub program: String,
    /// What is executed: the resolved path, when the tool was found.
    exe: Option<PathBuf>,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub(super) env: Vec<(String, String, bool)>,
    /// Secret input fed to the tool's stdin (never shown, never logged).
    pub(super) stdin: Option<Arc<Vec<u8>>>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd { program: program.into(), exe: None, args: Vec::new(), cwd: None, env: Vec::new(), stdin: None }
    }

    /// Runs `exe` while showing `program`.
    pub fn exe(mut self, exe: Option<PathBuf>) -> Cmd {
        self.exe = exe;
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(dir.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((key.into(), value.into(), false));
        self
    }

    /// Feeds `input` to the tool's standard input; its content is registered as a secret.
    pub fn stdin_secret(mut self, input: String) -> Cmd {
        redact::add(&input);
        self.stdin = Some(Arc::new(input.into_bytes()));
        self
    }

    /// Shows that secret input goes to stdin, for `--dry-run` where the input is not known yet.
    pub fn stdin_placeholder(mut self) -> Cmd {
        self.stdin = Some(Arc::new(Vec::new()));
        self
    }

    /// The command as a shell line (secrets masked), with paths shown relative to `root`.
    pub fn display(&self, root: &Path) -> String {
        let env = self.env_display(root);
        let line = self.display_without_env(root);
        if env.is_empty() {
            line
        } else {
            format!("{env} {line}")
        }
    }

    /// Program and arguments only.
    pub fn display_without_env(&self, root: &Path) -> String {
        let mut words = vec![quote(&self.program)];
        words.extend(self.args.iter().map(|a| quote(&rel(root, a))));
        if self.stdin.is_some() {
            words.push("< (secret values on stdin)".into());
        }
        redact::apply(&words.join(" ")).into_owned()
    }

    /// The environment variables the command sets, as `K=V` words (secrets masked).
    pub fn env_display(&self, root: &Path) -> String {
        let words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v, secret)| if *secret { format!("{k}=***") } else { format!("{k}={}", quote(&rel(root, v))) })
            .collect();
        redact::apply(&words.join(" ")).into_owned()
    }

    /// The program's path: as resolved when the command was built, else looked up on PATH now.
    pub(super) fn resolved(&self) -> PathBuf {
        self.exe.clone().or_else(|| which::which(&self.program).ok()).unwrap_or_else(|| PathBuf::from(&self.program))
    }

    /// What to execute: the program's path, arguments, working directory and environment.
    pub fn parts(&self) -> (PathBuf, &[String], Option<&PathBuf>, impl Iterator<Item = (&str, &str)>) {
        (self.resolved(), &self.args, self.cwd.as_ref(), self.env.iter().map(|(k, v, _)| (k.as_str(), v.as_str())))
    }

    pub fn cwd_display(&self, root: &Path) -> Option<String> {
        self.cwd.as_ref().map(|d| rel(root, &d.to_string_lossy()))
    }
}

/// A word as a POSIX shell reads it back: as it is when nothing in it is special to the shell (`a=b`
/// and `-out=x:y` included: they are arguments, never the first word), else quoted. The one quoting of
/// every command line the xtask shows.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        return word.to_string();
    }
    shlex::try_quote(word).map(|q| q.into_owned()).unwrap_or_else(|_| word.to_string())
}

/// Paths under the repository are shown relative to it: shorter, and the same on every machine.
pub(super) fn rel(root: &Path, text: &str) -> String {
    let prefix = format!("{}/", root.display());
    text.replace(&prefix, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_masks() {
        let root = Path::new("/repo");
        let cmd = Cmd::new("terraform")
            .args(["plan", "-out=/repo/target/x.tfplan", "-var", "name=a b"])
            .env("TF_IN_AUTOMATION", "1");
        assert_eq!(cmd.display(root), "TF_IN_AUTOMATION=1 terraform plan -out=target/x.tfplan -var 'name=a b'");
    }

    #[test]
    fn words_are_quoted_only_when_the_shell_needs_it() {
        let cases = [
            ("a=b", "a=b"),
            ("-target=module.a[\"k\"]", "'-target=module.a[\"k\"]'"),
            ("it's", "\"it's\""),
            ("", "''"),
        ];
        for (word, shown) in cases {
            assert_eq!(quote(word), shown, "{word}");
        }
    }
}
