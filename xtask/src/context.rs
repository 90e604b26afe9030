//! What every command gets: where the repository is, where the xtask keeps its own files and tools,
//! which configuration file to read. Resolved once by `main.rs` from the command line and the
//! `XTASK_*` overrides cli.rs reads.

use std::path::{Path, PathBuf};

use crate::{cli, config, engine};

pub struct Context {
    pub root: PathBuf,
    pub work: PathBuf,
    /// Where the project installs the tools it can install itself.
    pub tools_dir: PathBuf,
    /// A provider mirror named explicitly (`XTASK_TF_PROVIDER_MIRROR`); the usual places are searched after it.
    pub provider_mirror: Option<PathBuf>,
    /// `--config`, when given; `config()` falls back to the repository's xtask.toml.
    pub config_path: Option<PathBuf>,
}

impl Context {
    pub fn new(config_path: Option<PathBuf>, overrides: cli::Overrides) -> Context {
        // The repository root: the xtask crate's parent unless the caller points elsewhere.
        let root = overrides.root.unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository root").to_path_buf()
        });
        let work = overrides.work_dir.unwrap_or_else(|| root.join("target").join("xtask"));
        let tools_dir = overrides.tools_dir.unwrap_or_else(|| root.join(".tools"));
        Context { root, work, tools_dir, provider_mirror: overrides.tf_provider_mirror, config_path }
    }

    /// The configuration, loaded and validated; any problem is a usage error (exit 2).
    pub fn config(&self) -> anyhow::Result<config::Config> {
        let path = self.config_path.clone().unwrap_or_else(|| self.root.join(config::FILE_NAME));
        config::Config::load(&path)
    }
}

impl engine::Workspace for Context {
    fn root(&self) -> &Path {
        &self.root
    }
    fn work(&self) -> &Path {
        &self.work
    }
}
