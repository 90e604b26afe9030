//! Known secret values, removed from everything the xtask prints or logs.
//!
//! A value is registered the moment the xtask learns it (a credential in its environment, a secret
//! environment variable it passes to a tool, a private key it generates); from then on every line that
//! reaches the terminal, a step log or the GitHub summary goes through [`apply`].

use std::borrow::Cow;
use std::sync::Mutex;

const MASK: &str = "***";
/// Shorter values would mask ordinary words; no real secret is this short.
const MIN_LEN: usize = 6;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Environment variables whose values are secrets wherever they come from.
pub const SECRET_ENV_VARS: &[&str] =
    &["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"];

/// Registers the secrets found in the xtask's own environment.
pub fn register_from_env() {
    for name in SECRET_ENV_VARS {
        if let Ok(value) = std::env::var(name) {
            add(&value);
        }
    }
}

/// Registers a secret value (and each of its lines, so a multi-line key is masked line by line too).
pub fn add(secret: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for candidate in std::iter::once(secret.trim()).chain(secret.lines().map(str::trim)) {
        if candidate.len() >= MIN_LEN && !secrets.iter().any(|s| s == candidate) {
            secrets.push(candidate.to_string());
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The text with every registered secret replaced by `***`.
pub fn apply(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for secret in secrets.iter() {
        out = out.replace(secret.as_str(), MASK);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_values_and_their_lines() {
        add("s3cr3t-value-1");
        add("-----BEGIN KEY-----\nAAAAbbbbCCCC\n-----END KEY-----");
        assert_eq!(apply("token=s3cr3t-value-1!"), "token=***!");
        assert_eq!(apply("line AAAAbbbbCCCC here"), "line *** here");
        assert!(matches!(apply("nothing to hide"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_registered() {
        add("abc");
        assert_eq!(apply("abc"), "abc");
    }
}
