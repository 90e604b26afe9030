//! An environment as terraform sees it: which root it runs in and against what (real AWS, the emulator,
//! or an emulated plan), its files (plan, plan JSON, outputs, kubeconfig, backend settings), its
//! endpoint — shown in `--dry-run` and live when a step runs — and its recorded outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::config::{Config, Environment};
use crate::engine::{Cmd, StepCtx};
use crate::env_files::EnvFiles;
use crate::terraform::{copy_tree, emulator_override, env_vars, tf_dir, Terraform};
use crate::tools::{self, Tools};
use crate::{context::Context, emulator};

/// Said where `{env}` has no Kubernetes cluster to deploy to.
pub const NO_CLUSTER: &str =
    "`{env}` has no Kubernetes cluster (the emulator runs no EKS data plane): its Helm releases, \
mesh and workloads are rendered and validated, not installed.";

/// What `--dry-run` shows where a terraform output goes (the outputs are recorded when the step runs).
pub fn output_placeholder(name: &str) -> String {
    format!("<terraform output {name}>")
}

/// The alert subscription an emulated plan uses where none is set (see [`Target::emulated_alert_emails`]).
pub const EMULATED_ALERT_EMAILS: &str = r#"["alerts@emulated-plan.invalid"]"#;

/// The root variable an environment rebuilt from another's backups takes its restore source from.
pub const RESTORE_SOURCE_VARIABLE: &str = "db_restore_automated_backups_arn";

/// Shown by `--dry-run` where the emulator's port is not known yet.
pub const ENDPOINT_PLACEHOLDER: &str = "http://127.0.0.1:<emulator port>";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Against {
    /// The environment's real AWS account and remote state.
    Aws,
    /// `local`: the emulator, with remote state in the emulator's S3.
    Emulator,
    /// `plan <env> --emulated`: the emulator, from empty local state; the real backend untouched.
    EmulatedPlan,
}

/// One environment's terraform, wherever it runs.
pub struct Target {
    pub config: Config,
    pub env: Environment,
    pub against: Against,
    work: PathBuf,
    root: PathBuf,
    source: PathBuf,
}

/// `terraform output -json` of an environment root, as the `outputs` step records it: each output by
/// name. Each root exports the stack's outputs as one object output, `stack`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Outputs(BTreeMap<String, RecordedOutput>);

/// One entry of `terraform output -json`. The value is free-form on purpose: it is whatever the root
/// declares (a string, a list, or the `stack` object holding the stack's outputs), so it stays a `Value`.
#[derive(Debug, serde::Deserialize)]
struct RecordedOutput {
    #[serde(default)]
    value: serde_json::Value,
}

impl Outputs {
    pub fn parse(text: &str) -> serde_json::Result<Outputs> {
        serde_json::from_str(text)
    }

    /// The outputs the `outputs` step recorded at `path` (`terraform output -json`).
    pub fn read(path: &Path) -> Result<Outputs> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {} (the `outputs` step writes it)", path.display()))?;
        Outputs::parse(&text).with_context(|| format!("{} is not JSON", path.display()))
    }

    /// A root output's value (`Null` when it is declared and null).
    pub fn root(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name).map(|o| &o.value)
    }

    /// An entry of the `stack` output.
    pub fn in_stack(&self, name: &str) -> Option<&serde_json::Value> {
        self.root("stack").and_then(serde_json::Value::as_object).and_then(|stack| stack.get(name))
    }
}

impl Target {
    pub fn new(ctx: &Context, env_name: &str, emulated_plan: bool) -> Result<Target> {
        let config = ctx.config()?;
        let env = config.env(env_name)?.clone();
        let source = EnvFiles::of(&ctx.root, &env).terraform_dir();
        if !source.join("main.tf").is_file() {
            return Err(crate::error::usage(format!(
                "environment `{}` has no terraform root at {} (add one, or remove it from {})",
                env.name,
                source.display(),
                config.path.display()
            )));
        }
        let against = match (env.emulator, emulated_plan) {
            (_, true) => Against::EmulatedPlan,
            (true, false) => Against::Emulator,
            (false, false) => Against::Aws,
        };
        Ok(Target { config, env, against, work: ctx.work.clone(), root: ctx.root.clone(), source })
    }

    /// Whether this environment's `emulator_omissions` name the feature (always false off the emulator).
    pub fn omits(&self, feature: &str) -> bool {
        self.uses_emulator()
            && self.files().emulator_omissions().is_ok_and(|list| list.iter().any(|(k, _)| k == feature))
    }

    /// The environment's files in the repository (its terraform root, its overlay's files).
    pub fn files(&self) -> EnvFiles<'_> {
        EnvFiles::of(&self.root, &self.env)
    }

    pub fn uses_emulator(&self) -> bool {
        self.against != Against::Aws
    }

    fn label(&self) -> String {
        match self.against {
            Against::EmulatedPlan => format!("{}-emulated", self.env.name),
            _ => self.env.name.clone(),
        }
    }

    /// The environment's root in the repository (terraform/environments/<env>).
    pub fn source_dir(&self) -> PathBuf {
        self.source.clone()
    }

    /// Where this target's scratch copy of terraform/ lives (emulator targets only).
    fn scratch(&self) -> PathBuf {
        self.work.join("emulated").join(self.label())
    }

    /// The root module terraform runs in.
    pub fn dir(&self) -> PathBuf {
        match self.against {
            Against::Aws => self.source.clone(),
            _ => self.scratch().join("terraform").join("environments").join(&self.env.name),
        }
    }

    /// The bootstrap root (the state bucket), in the same tree as [`Target::dir`].
    pub fn bootstrap_terraform(&self, ctx: &Context, endpoint: Option<&str>) -> Result<Terraform> {
        let dir = match self.against {
            Against::Aws => tf_dir(&ctx.root).join("bootstrap"),
            _ => self.scratch().join("terraform").join("bootstrap"),
        };
        Ok(Terraform::new(ctx, dir, &format!("bootstrap-{}", self.label()))?.with_env(self.aws_env(endpoint)))
    }

    /// The bootstrap root's local state (it creates the bucket remote state lives in).
    pub fn bootstrap_state(&self) -> PathBuf {
        self.work.join("terraform").join("bootstrap").join(format!("{}.tfstate", self.label()))
    }

    pub fn file(&self, kind: &str) -> PathBuf {
        self.work.join("plans").join(format!("{}.{kind}", self.label()))
    }

    pub fn plan_file(&self) -> PathBuf {
        self.file("tfplan")
    }

    pub fn plan_json(&self) -> PathBuf {
        self.file("plan.json")
    }

    pub fn outputs_file(&self) -> PathBuf {
        self.work.join("outputs").join(format!("{}.json", self.label()))
    }

    /// The terraform outputs recorded by the `outputs` step.
    pub fn outputs(&self) -> Result<Outputs> {
        Outputs::read(&self.outputs_file())
    }

    /// A terraform output recorded by the `outputs` step, as text.
    pub fn output(&self, name: &str) -> Result<String> {
        let path = self.outputs_file();
        let outputs = self.outputs()?;
        let top = outputs.root(name);
        let nested = outputs.in_stack(name);
        let declared = top.is_some() || nested.is_some();
        let value = match top {
            Some(v) if !v.is_null() => v,
            _ => nested.unwrap_or(&serde_json::Value::Null),
        };
        match value {
            // The output exists and is null: what sets it is off in this environment.
            serde_json::Value::Null if declared => {
                let env = &self.env.name;
                let main_tf = self.files().shown_main_tf();
                let fix = match name {
                    "certificate_arn" => format!(
                        "the ACM certificate is issued once the zone is delegated: point the parent zone or registrar at \
                         output name_servers, set dns_delegated = true in {main_tf} and deploy \
                         again (docs/INFRASTRUCTURE.md, \"First apply in a new account\")"
                    ),
                    _ => format!("what creates it is switched off in {main_tf}"),
                };
                anyhow::bail!("terraform output `{name}` is null in `{env}`: {fix}")
            }
            serde_json::Value::Null => anyhow::bail!("terraform has no output `{name}` (see {})", path.display()),
            serde_json::Value::String(s) => Ok(s.clone()),
            other => Ok(other.to_string()),
        }
    }

    /// Left by a deploy that brought the environment up from off-hours, for its last step to return it.
    pub fn offhours_marker(&self) -> PathBuf {
        self.work.join("schedule").join(format!("{}.woken", self.label()))
    }

    /// `terraform output -json` of the target.
    pub fn output_cmd(&self, ctx: &Context, endpoint: Option<&str>) -> Result<Cmd> {
        Ok(self.terraform(ctx, endpoint)?.cmd(["output", "-json", "-no-color"]))
    }

    /// Runs `terraform output -json` and records it where [`Target::output`] reads it; how many there are.
    pub fn record_outputs(&self, c: &mut StepCtx, ctx: &Context, endpoint: Option<&str>) -> Result<usize> {
        #[derive(serde::Deserialize)]
        struct Outputs(std::collections::BTreeMap<String, serde::de::IgnoredAny>);
        let json = c.output(&self.output_cmd(ctx, endpoint)?)?;
        let path = self.outputs_file();
        self.ensure_dirs()?;
        std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
        Ok(serde_json::from_str::<Outputs>(&json).map(|o| o.0.len()).unwrap_or(0))
    }

    /// The project-local kubeconfig for this environment's cluster.
    pub fn kubeconfig(&self) -> PathBuf {
        self.work.join("kube").join(format!("{}.config", self.label()))
    }

    pub fn backend_file(&self) -> PathBuf {
        self.work.join("terraform").join(format!("{}.backend.hcl", self.label()))
    }

    /// The remote-state bucket: `{project}-{env}-tfstate-{account}` (bucket names are global).
    pub fn state_bucket(&self) -> String {
        format!("{}-{}-tfstate-{}", self.config.project, self.env.name, self.env.account_id)
    }

    /// The emulator's endpoint now: the running one, or an error saying how to get one.
    pub fn live_endpoint(&self, ctx: &Context) -> Result<String> {
        emulator::running(ctx).map(|r| r.endpoint()).ok_or_else(|| {
            // Not resumable: the advice printed is "Run again" (recovery.rs).
            anyhow::Error::new(crate::error::RunAgain(
                "the emulator is not running (its state went with it): run the whole command again, without --resume/--from"
                    .into(),
            ))
        })
    }

    /// The endpoint a running step uses: the emulator's for emulator targets, `None` for real AWS.
    pub fn endpoint(&self, ctx: &Context) -> Result<Option<String>> {
        if self.uses_emulator() {
            self.live_endpoint(ctx).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The endpoint to show in `--dry-run`: the running emulator's, or a placeholder.
    pub fn shown_endpoint(&self, ctx: &Context) -> Option<String> {
        self.uses_emulator()
            .then(|| emulator::running(ctx).map(|r| r.endpoint()).unwrap_or_else(|| ENDPOINT_PLACEHOLDER.into()))
    }

    /// Environment for AWS CLI calls and terraform: the emulator's, or nothing extra for real AWS.
    pub fn aws_env(&self, endpoint: Option<&str>) -> Vec<(String, String)> {
        match endpoint {
            Some(ep) => emulator::aws_env(ep, &self.env.region),
            None => vec![
                ("AWS_REGION".into(), self.env.region.clone()),
                ("AWS_DEFAULT_REGION".into(), self.env.region.clone()),
            ],
        }
    }

    pub fn terraform(&self, ctx: &Context, endpoint: Option<&str>) -> Result<Terraform> {
        Ok(Terraform::new(ctx, self.dir(), &self.label())?.with_env(self.aws_env(endpoint)))
    }

    pub fn aws(&self, ctx: &Context, endpoint: Option<&str>) -> Cmd {
        let mut cmd = Tools::new(ctx).cmd(tools::AWS);
        // Some AWS CLI v1 commands ignore AWS_ENDPOINT_URL: the emulator is named on the command line too.
        if let Some(ep) = endpoint {
            cmd = cmd.args(["--endpoint-url", ep]);
        }
        for (k, v) in self.aws_env(endpoint) {
            cmd = cmd.env(k, v);
        }
        cmd
    }

    /// `-var`s for plan/apply/destroy. An emulated plan runs in the emulator's account, so that is the
    /// account the provider is allowed to use there.
    pub fn vars(&self) -> Vec<String> {
        let mut env = self.env.clone();
        if self.against == Against::EmulatedPlan {
            env.account_id = emulator::ACCOUNT_ID.to_string();
        }
        let mut vars = env_vars(&self.config, &env);
        if let Some(emails) = self.emulated_alert_emails() {
            vars.extend(["-var".to_string(), format!("alert_emails={emails}")]);
        }
        if let Some(arn) = self.emulated_restore_source() {
            vars.extend(["-var".to_string(), format!("{RESTORE_SOURCE_VARIABLE}={arn}")]);
        }
        vars
    }

    /// The same for the restore source of an environment rebuilt from another's backups (`dr`): where
    /// its root declares `db_restore_automated_backups_arn` and `TF_VAR_db_restore_automated_backups_arn`
    /// is not set, an ARN of the emulator's account that names no backups stands in. Never used against
    /// AWS, where the plan refuses the environment without it.
    pub fn emulated_restore_source(&self) -> Option<String> {
        let unset = std::env::var_os(format!("TF_VAR_{RESTORE_SOURCE_VARIABLE}")).is_none_or(|v| v.is_empty());
        let declared = crate::terraform::tf_files(&self.source).iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| t.contains(&format!("variable \"{RESTORE_SOURCE_VARIABLE}\"")))
        });
        (self.against == Against::EmulatedPlan && !self.env.emulator && unset && declared).then(|| {
            format!("arn:aws:rds:{}:{}:auto-backup:ab-emulatedplanstandin", self.env.region, emulator::ACCOUNT_ID)
        })
    }

    /// An emulated plan of a real environment runs without the settings each environment keeps out of
    /// the repository: where `TF_VAR_alert_emails` is not set, a reserved `.invalid` address (RFC 2606)
    /// stands in, so the plan is the environment's in full. Never used against AWS.
    pub fn emulated_alert_emails(&self) -> Option<&'static str> {
        let unset = std::env::var_os("TF_VAR_alert_emails").is_none_or(|v| v.is_empty());
        (self.against == Against::EmulatedPlan && !self.env.emulator && unset).then_some(EMULATED_ALERT_EMAILS)
    }

    /// Makes the root ready to run: for emulator targets a fresh scratch copy of terraform/ (when
    /// `fresh`) and the override that points the provider (and for `--emulated` the backend) at the
    /// emulator; for every target the backend settings file.
    pub fn prepare(&self, ctx: &Context, endpoint: Option<&str>, fresh: bool) -> Result<()> {
        if let (Some(endpoint), true) = (endpoint, self.uses_emulator()) {
            let copy = self.scratch().join("terraform");
            if fresh || !copy.is_dir() {
                let _ = std::fs::remove_dir_all(&copy);
                copy_tree(&tf_dir(&ctx.root), &copy)?;
            }
            let mut roots = vec![(self.source.clone(), self.dir(), self.against == Against::EmulatedPlan)];
            roots.push((tf_dir(&ctx.root).join("bootstrap"), copy.join("bootstrap"), false));
            for (source, dir, local_backend) in roots.into_iter().filter(|(s, ..)| s.is_dir()) {
                let path = dir.join("xtask_emulator_override.tf");
                let text = emulator_override(
                    &source,
                    endpoint,
                    local_backend.then(|| self.scratch().join("terraform.tfstate")),
                )?;
                std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        if self.against != Against::EmulatedPlan {
            let file = self.backend_file();
            std::fs::create_dir_all(file.parent().unwrap()).context("creating the terraform settings directory")?;
            std::fs::write(&file, self.backend_settings(endpoint))
                .with_context(|| format!("writing {}", file.display()))?;
        }
        self.ensure_dirs()
    }

    /// The directories plans and outputs are written to.
    pub fn ensure_dirs(&self) -> Result<()> {
        for file in [self.plan_file(), self.outputs_file()] {
            let dir = file.parent().expect("a file in a directory");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(())
    }

    /// The S3 backend settings: state per environment, encrypted, locked with terraform's S3 lockfile.
    pub fn backend_settings(&self, endpoint: Option<&str>) -> String {
        let mut text = format!(
            "# Written by cargo xtask for `{}`.\nbucket       = \"{}\"\nkey          = \"{}/terraform.tfstate\"\nregion       = \"{}\"\nencrypt      = true\nuse_lockfile = true\n",
            self.env.name,
            self.state_bucket(),
            self.env.name,
            self.env.region
        );
        if let Some(ep) = endpoint.filter(|_| self.uses_emulator()) {
            text.push_str(&format!(
                "# the local AWS emulator\nendpoints = {{ s3 = \"{ep}\", sts = \"{ep}\", iam = \"{ep}\" }}\nuse_path_style              = true\nskip_credentials_validation = true\nskip_metadata_api_check     = true\nskip_requesting_account_id  = true\n"
            ));
        }
        text
    }

    /// Removes the emulated plan's state so the next plan starts from nothing.
    pub fn reset_emulated_state(&self) {
        let _ = std::fs::remove_file(self.scratch().join("terraform.tfstate"));
    }
}
