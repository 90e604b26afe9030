//! Error kinds and the stable exit codes: 0 success, 1 a step failed, 2 bad usage or configuration,
//! 130 interrupted. A leaf: every other module may use it, it uses none.

use std::fmt;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// `drift`: the real infrastructure differs from the state (the run itself succeeded).
pub const EXIT_DRIFT: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Bad usage or configuration: exit 2, nothing changed.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

/// The one wording for a program that is not there, wherever a process is started.
pub fn not_found(program: &str) -> String {
    format!("`{program}` not found: run `cargo xtask doctor` to see how to install it")
}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// The 1-based line of a byte offset into `text`: the `file:line` of a usage error found by a parser
/// that reports spans (TOML, YAML).
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Bad input found by a step (exit 2, nothing changed) that resuming can't fix: `advice` is the line
/// printed instead of "Resume with" (e.g. a stale saved plan: plan again).
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub advice: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for Refused {}

/// Whether an error is bad usage or input (exit 2).
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<Usage>() || e.is::<Refused>())
}

/// A tool stopped because the xtask was interrupted.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}
impl std::error::Error for Interrupted {}

/// A tool was killed by a second interrupt: it did not finish its own shutdown (terraform may have
/// left its state lock behind).
#[derive(Debug)]
pub struct Forced(pub String);

impl fmt::Display for Forced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` was killed by a second interrupt (forced), before it finished its own shutdown", self.0)
    }
}

/// The step can't be resumed: the whole command must run again (e.g. the emulator, and its state, are gone).
#[derive(Debug)]
pub struct RunAgain(pub String);

impl fmt::Display for RunAgain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RunAgain {}

/// The engine has already told the user what happened; `main` only sets the exit code.
#[derive(Debug)]
pub struct Reported(pub u8);

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reported (exit {})", self.0)
    }
}
impl std::error::Error for Reported {}

/// The exit code for an error, and whether it has been reported already.
pub fn classify(err: &anyhow::Error) -> (u8, bool) {
    if let Some(Reported(code)) = err.downcast_ref::<Reported>() {
        return (*code, true);
    }
    if is_usage(err) {
        (EXIT_USAGE, false)
    } else if err.chain().any(|e| e.is::<Interrupted>()) {
        (EXIT_INTERRUPTED, false)
    } else {
        (EXIT_FAILED, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;

    #[test]
    fn classify_maps_exit_codes() {
        assert_eq!(classify(&usage("bad")), (EXIT_USAGE, false));
        let refused = Refused { message: "stale".into(), advice: "plan again".into() };
        assert_eq!(classify(&anyhow::Error::new(refused)), (EXIT_USAGE, false));
        assert_eq!(classify(&anyhow::Error::new(Interrupted).context("x")), (EXIT_INTERRUPTED, false));
        assert_eq!(classify(&anyhow!("boom")), (EXIT_FAILED, false));
        assert_eq!(classify(&anyhow::Error::new(Reported(EXIT_FAILED))), (EXIT_FAILED, true));
    }
}
