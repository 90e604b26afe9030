//! Tool versions and pinned digests: what a tool says its version is, how two versions compare,
//! and whether a downloaded file is the one the pin names.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use ring::digest::Context as Digest;

use crate::engine::Cmd;

/// Runs a quick query (a version) with a time limit; its stdout and stderr, or `None`.
pub fn capture(program: &Path, args: &[&str]) -> Option<String> {
    let cmd = Cmd::new(program.to_string_lossy()).exe(Some(program.to_path_buf())).args(args.iter().copied());
    cmd.probe(Duration::from_secs(20), true).filter(|p| p.success).map(|p| p.stdout)
}

/// The first `1.2` or `1.2.3` (optionally after a `v`) in a tool's version output.
pub fn parse_version(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '/' | ',' | '"' | '+' | '-'))
        .map(|w| w.trim_start_matches('v'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// `a >= b` for dotted versions.
pub fn at_least(version: &str, min: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    let (mut a, mut b) = (parse(version), parse(min));
    let n = a.len().max(b.len());
    a.resize(n, 0);
    b.resize(n, 0);
    a >= b
}

pub(super) fn check_digest(algorithm: &'static ring::digest::Algorithm, path: &Path, expected_hex: &str) -> Result<()> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = DigestWriter(Digest::new(algorithm));
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    let actual = crate::digest::hex(hasher.0.finish().as_ref());
    if actual != expected_hex {
        bail!("{}: digest {actual} is not the pinned {expected_hex}", path.display());
    }
    Ok(())
}

struct DigestWriter(Digest);

impl std::io::Write for DigestWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::digest::{SHA256, SHA512};

    /// FIPS 180-2's "abc" vectors: the pins are checked with the right algorithm, and a mismatch fails.
    #[test]
    fn digests_are_checked_against_their_pins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abc");
        std::fs::write(&file, "abc").unwrap();
        check_digest(&SHA256, &file, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").unwrap();
        let sha512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                      2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        check_digest(&SHA512, &file, sha512).unwrap();
        let e = check_digest(&SHA256, &file, &"0".repeat(64)).unwrap_err().to_string();
        assert!(e.contains("is not the pinned"), "{e}");
    }

    #[test]
    fn versions_are_read_from_tool_output() {
        assert_eq!(parse_version("Terraform v1.11.4\non linux_amd64").as_deref(), Some("1.11.4"));
        assert_eq!(parse_version("aws-cli/1.45.11 Python/3.11.7 Linux/6.1").as_deref(), Some("1.45.11"));
        assert_eq!(
            parse_version("Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0").as_deref(),
            Some("1.32.4")
        );
        assert_eq!(parse_version("v4.1.4+g05fa379").as_deref(), Some("4.1.4"));
        assert_eq!(parse_version("no version here"), None);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(at_least("1.11.4", "1.10.0"));
        assert!(at_least("1.10", "1.10.0"));
        assert!(!at_least("1.9.8", "1.10.0"));
        assert!(at_least("4.1.4", "3.14.0"));
    }
}
