//! validate's cache: a check whose inputs are what they were when it last passed answers from that
//! run instead of running again. Content-addressed: a check's key is a SHA-256 over exactly what it
//! reads — its name, the files under the paths it declares ([`Reads`]; `terraform::tree_files`'
//! selection), the tools it runs (pinned version, and the binary found: path, size, mtime), what else
//! it names (the emulated plan's key), the configuration file and the xtask binary itself — so an
//! edit re-runs only the checks that read the edited file. Only a passing check is stored (under
//! `<work>/validate-cache/<check>/<key>.json`, with its warnings); a failing one always runs again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context as _, Result};

use super::Outcome;
use crate::context::Context;
use crate::tools::{self, Tool, Tools};

/// A part of a key computed when the check is looked up (the emulated plan's key).
type Also<'a> = Box<dyn Fn() -> Result<String> + Send + Sync + 'a>;

/// What a check's outcome depends on, besides the configuration file and the xtask binary (in every key).
#[derive(Default)]
pub struct Reads<'a> {
    /// Files and directories relative to the repository root.
    paths: Vec<String>,
    tools: Vec<&'static Tool>,
    also: Option<Also<'a>>,
}

impl<'a> Reads<'a> {
    /// The files and directories (relative to the root) the check reads.
    pub fn paths(paths: &[&str]) -> Reads<'a> {
        Reads { paths: paths.iter().map(|p| p.to_string()).collect(), ..Reads::default() }
    }

    /// The tools the check runs.
    pub fn tools(mut self, tools: &[&'static Tool]) -> Reads<'a> {
        self.tools.extend_from_slice(tools);
        self
    }

    /// Something else the outcome depends on, computed at lookup.
    pub fn also(mut self, part: impl Fn() -> Result<String> + Send + Sync + 'a) -> Reads<'a> {
        self.also = Some(Box::new(part));
        self
    }
}

/// How many passing outcomes a check keeps (an edit undone finds its old key again).
const KEPT: usize = 4;

/// The cache of one validate run: where it lives, whether lookups are made (`--no-cache` makes none
/// but still stores), and the digests already taken (a file read by several checks is hashed once).
pub struct Cache<'a> {
    ctx: &'a Context,
    dir: PathBuf,
    lookup: bool,
    files: Mutex<HashMap<PathBuf, String>>,
    xtask: OnceLock<String>,
}

impl<'a> Cache<'a> {
    pub fn new(ctx: &'a Context, lookup: bool) -> Cache<'a> {
        Cache { ctx, dir: ctx.work.join("validate-cache"), lookup, files: Mutex::default(), xtask: OnceLock::new() }
    }

    /// The key of a check named `name` that reads `reads`.
    pub fn key(&self, name: &str, reads: &Reads) -> Result<String> {
        let root = &self.ctx.root;
        let mut text = format!("check {name}\nxtask {}\n", self.xtask()?);
        let config = self.ctx.config_path.clone().unwrap_or_else(|| root.join(crate::config::FILE_NAME));
        text.push_str(&format!("config {}\n", self.file(&config)?));
        if let Some(mirror) = &self.ctx.provider_mirror {
            text.push_str(&format!("mirror {}\n", mirror.display()));
        }
        for tool in &reads.tools {
            text.push_str(&tool_line(self.ctx, tool));
        }
        for path in &reads.paths {
            let at = root.join(path);
            let files = if at.is_dir() { crate::terraform::tree_files(&at)? } else { vec![at.clone()] };
            for file in files {
                let rel = file.strip_prefix(root).unwrap_or(&file).display().to_string();
                let digest = if file.exists() { self.file(&file)? } else { "missing".into() };
                text.push_str(&format!("file {rel} {digest}\n"));
            }
        }
        if let Some(also) = &reads.also {
            text.push_str(&format!("also {}\n", also()?));
        }
        Ok(crate::digest::sha256_hex(text.as_bytes()))
    }

    /// The outcome stored under `key`, when lookups are made and there is one.
    pub fn load(&self, name: &str, key: &str) -> Option<Outcome> {
        if !self.lookup {
            return None;
        }
        let text = std::fs::read_to_string(self.entry(name, key)).ok()?;
        let mut outcome = serde_json::from_str::<Outcome>(&text).ok().filter(|o| o.findings.is_empty())?;
        outcome.warnings.iter_mut().for_each(|w| w.file = self.ctx.root.join(&w.file));
        Some(outcome)
    }

    /// Stores a passing outcome under `key` (a failing one is never stored), keeping the newest few;
    /// its warnings' files relative to the root, as the key's are.
    pub fn store(&self, name: &str, key: &str, outcome: &Outcome) -> Result<()> {
        if !outcome.findings.is_empty() {
            return Ok(());
        }
        let warnings = outcome.warnings.iter().map(|w| w.clone().relative_to(&self.ctx.root)).collect();
        let outcome = Outcome { findings: Vec::new(), warnings, plan: outcome.plan.clone() };
        let path = self.entry(name, key);
        let dir = path.parent().expect("an entry has a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&outcome)?).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        entries.sort();
        let stale = entries.len().saturating_sub(KEPT);
        for (_, old) in entries.into_iter().take(stale).filter(|(_, p)| *p != path) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }

    fn entry(&self, name: &str, key: &str) -> PathBuf {
        let slug: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        self.dir.join(slug).join(format!("{key}.json"))
    }

    /// A file's SHA-256, taken once per run.
    fn file(&self, path: &Path) -> Result<String> {
        if let Some(digest) = self.files.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(digest.clone());
        }
        let digest = crate::digest::sha256_file(path)?;
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), digest.clone());
        Ok(digest)
    }

    /// The xtask binary's SHA-256: a change to the xtask's code is a change to every check.
    fn xtask(&self) -> Result<String> {
        if let Some(digest) = self.xtask.get() {
            return Ok(digest.clone());
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let digest = crate::digest::sha256_file(&exe)?;
        Ok(self.xtask.get_or_init(|| digest).clone())
    }
}

/// A tool as a key sees it: its pinned version and the binary found (path, size, mtime).
fn tool_line(ctx: &Context, tool: &Tool) -> String {
    let pin = tools::pinned_version(tool).unwrap_or("-");
    let found = Tools::new(ctx).find(tool);
    let meta = found.as_deref().and_then(|p| std::fs::metadata(p).ok());
    let (size, mtime) = meta.map_or((0, 0), |m| {
        let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        (m.len(), mtime.map_or(0, |d| d.as_nanos()))
    });
    let path = found.map(|p| p.display().to_string()).unwrap_or_else(|| "missing".into());
    format!("tool {} {pin} {path} {size} {mtime}\n", tool.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/.terraform")).unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("a/main.tf"), "x").unwrap();
        std::fs::write(dir.path().join("a/.terraform/junk"), "1").unwrap();
        std::fs::write(dir.path().join("b/other.tf"), "y").unwrap();
        std::fs::write(dir.path().join("xtask.toml"), "").unwrap();
        let overrides = crate::cli::Overrides {
            root: Some(dir.path().to_path_buf()),
            work_dir: Some(dir.path().join("work")),
            ..Default::default()
        };
        let ctx = Context::new(None, overrides);
        (dir, ctx)
    }

    #[test]
    fn a_key_changes_with_what_the_check_reads_and_nothing_else() {
        let (dir, ctx) = sandbox();
        let reads = Reads::paths(&["a"]);
        let key = |ctx: &Context| Cache::new(ctx, true).key("c", &reads).unwrap();
        let first = key(&ctx);
        std::fs::write(dir.path().join("b/other.tf"), "changed").unwrap();
        std::fs::write(dir.path().join("a/.terraform/junk"), "2").unwrap();
        assert_eq!(key(&ctx), first, "b/ and dot-directories are not read");
        std::fs::write(dir.path().join("a/main.tf"), "x2").unwrap();
        assert_ne!(key(&ctx), first, "a/main.tf is read");
        std::fs::write(dir.path().join("xtask.toml"), "# changed").unwrap();
        let before = key(&ctx);
        std::fs::write(dir.path().join("xtask.toml"), "# changed again").unwrap();
        assert_ne!(key(&ctx), before, "the configuration is in every key");
        let other = Cache::new(&ctx, true).key("d", &reads).unwrap();
        assert_ne!(other, key(&ctx), "the check's name is in its key");
        let also = Reads::paths(&["a"]).also(|| Ok("plan-1".into()));
        assert_ne!(Cache::new(&ctx, true).key("c", &also).unwrap(), key(&ctx));
    }

    #[test]
    fn only_passing_outcomes_are_stored_and_lookups_can_be_off() {
        let (_dir, ctx) = sandbox();
        let cache = Cache::new(&ctx, true);
        let failed =
            Outcome { findings: vec![crate::finding::Finding::new(Path::new("f"), None, "bad")], ..Default::default() };
        cache.store("c", "k1", &failed).unwrap();
        assert!(cache.load("c", "k1").is_none(), "a failure is not stored");
        let warning = crate::finding::Finding::new(&ctx.root.join("w"), Some(2), "soon");
        let passed = Outcome { warnings: vec![warning], ..Default::default() };
        cache.store("c", "k2", &passed).unwrap();
        assert_eq!(cache.load("c", "k2").unwrap().warnings, passed.warnings);
        let stored = std::fs::read_to_string(cache.entry("c", "k2")).unwrap();
        assert!(stored.contains(r#""file":"w""#), "stored relative to the root: {stored}");
        assert!(Cache::new(&ctx, false).load("c", "k2").is_none(), "--no-cache looks nothing up");
        for k in 3..10 {
            cache.store("c", &format!("k{k}"), &passed).unwrap();
        }
        assert_eq!(std::fs::read_dir(ctx.work.join("validate-cache/c")).unwrap().count(), KEPT);
        assert!(cache.load("c", "k9").is_some());
    }
}
