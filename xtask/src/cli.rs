//! The command line: every command and flag, documented here and nowhere else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Stand up and run the AuthorWorks platform: terraform, helm, kubectl and the AWS CLI as ordered, resumable steps.",
    after_help = "Environments: dev, staging, production, dr (production rebuilt in its DR region; real AWS) and local (the dev stack on an AWS emulator).\n\
                  Exit codes: 0 success, 1 a step failed, 2 bad usage or configuration, 3 drift found (`drift`), 130 interrupted.",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Configuration file [default: xtask.toml in the repository root]
    #[arg(long, global = true, value_name = "FILE", env = "XTASK_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The `XTASK_*` variables besides `XTASK_CONFIG` (a flag's fallback above): where tests and CI point
/// the xtask. Read here, once, and handed down in the `Context`; no other module reads an `XTASK_*`
/// variable (`xtask_variables_are_read_only_in_cli_rs`).
#[derive(Debug, Default)]
pub struct Overrides {
    /// `XTASK_ROOT`: the repository root (tests point it at a scratch copy).
    pub root: Option<PathBuf>,
    /// `XTASK_WORK_DIR`: the xtask's own files (journal, logs, plans, emulator state).
    pub work_dir: Option<PathBuf>,
    /// `XTASK_TOOLS_DIR`: where `tools install` puts the tools it installs.
    pub tools_dir: Option<PathBuf>,
    /// `XTASK_TF_PROVIDER_MIRROR`: a local directory holding terraform's providers.
    pub tf_provider_mirror: Option<PathBuf>,
}

impl Overrides {
    pub fn from_env() -> Overrides {
        let path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Overrides {
            root: path("XTASK_ROOT"),
            work_dir: path("XTASK_WORK_DIR"),
            tools_dir: path("XTASK_TOOLS_DIR"),
            tf_provider_mirror: path("XTASK_TF_PROVIDER_MIRROR"),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check every tool (found, version, minimum, how to install), AWS credentials and the emulator
    Doctor(DoctorArgs),
    /// Install the pinned tools the project can install itself (helm, the emulator, checkov, …)
    Tools(ToolsArgs),
    /// Start, stop or inspect the local AWS emulator (moto server on 127.0.0.1)
    Emulator(EmulatorArgs),
    /// Validate the infrastructure code: terraform fmt and validate, module conventions
    Validate(ValidateArgs),
    /// Regenerate the Inputs/Outputs tables in the terraform module READMEs from the code
    Docs,
    /// Create the environment's remote-state bucket if it is missing
    Bootstrap(EnvRunArgs),
    /// Plan an environment to a saved file and summarise the changes
    Plan(PlanArgs),
    /// Deploy an environment: preflight, plan, gates, apply the saved plan, record outputs
    Deploy(DeployArgs),
    /// Destroy an environment's stack (protected environments need confirmation)
    Destroy(DestroyArgs),
    /// The Linkerd mesh: trust anchor, install (cert-manager issues the issuer), check, forced issuer renewal
    Mesh(MeshArgs),
    /// RDS snapshot (tagged, waited on), copy to the DR region, retention pruning, state backup
    Backup(BackupArgs),
    /// Restore the database from a snapshot or a point in time into a new instance terraform owns, and switch the services to it
    Restore(RestoreArgs),
    /// Restore the newest snapshot into a scratch instance (here or in the DR region), check it, delete it, report the time
    RestoreDrill(DrillArgs),
    /// Off-hours for unprotected environments: node groups to zero and the database stopped, and back
    Schedule(ScheduleArgs),
    /// Monthly cost estimate from the plan, priced per resource, against the budget (exit 1 over it)
    CostReport(CostReportArgs),
    /// Show the terraform state lock an interrupted run left, and remove it when asked
    Unlock(UnlockArgs),
    /// Compare the real infrastructure with the state (a refresh-only plan) and list what drifted
    #[command(
        after_help = "Lists each resource that differs from the state and each changed attribute (sensitive values \
                      masked), and writes target/xtask/plans/<env>.drift.md. Nothing is changed.\n\
                      Exit codes: 0 in sync, 3 drift found, 1 a step failed, 2 bad usage or configuration, 130 interrupted."
    )]
    Drift(EnvRunArgs),
    /// Reach the private Kubernetes API: port-forward through the environment's bastion (Session
    /// Manager) and write a kubeconfig that uses it; holds until Ctrl-C
    Tunnel(TunnelArgs),
    /// Refuse (exit 2) a commit that has not deployed successfully to the environment this one is promoted from
    Promotion(PromotionArgs),
    /// Post the environment's plan and cost change on a pull request, or update its earlier comment in place
    PrComment(PrCommentArgs),
    /// Move a cluster one Kubernetes minor: preflight, control plane, add-ons, node groups, releases, verify
    #[command(
        long_about = "Move an environment's EKS cluster one Kubernetes minor version, in order: the preflight (the cluster \
                      runs the minor below --to; no EKS upgrade insight is ERROR; no rendered object uses an API removed \
                      by --to; every release, add-on and the project's kubectl support it; node version skew stays within \
                      Kubernetes' policy) refuses with the list of what is in the way (exit 2, nothing changed); then the \
                      control plane (terraform: kubernetes_version only, an in-place update, written into the \
                      environment's main.tf when it says the minor below — commit it), the managed add-ons (the versions \
                      EKS lists for --to), the node groups (rolled by EKS within the PodDisruptionBudgets), the releases \
                      that follow the Kubernetes minor, and a verify. Every step is waited on and resumable (--resume); a \
                      control plane can't go back a minor. On `local` (the emulator has none of the upgrade APIs) the \
                      preflight runs what it can and the version change is planned and checked, not applied."
    )]
    Upgrade(UpgradeArgs),
}

pub use crate::engine::RunArgs;

#[derive(Args, Debug)]
pub struct EnvRunArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Skip the AWS credentials check (it calls `aws sts get-caller-identity`)
    #[arg(long)]
    pub offline: bool,
}

#[derive(Args, Debug)]
pub struct ToolsArgs {
    #[command(subcommand)]
    pub action: ToolsAction,
}

#[derive(Subcommand, Debug)]
pub enum ToolsAction {
    /// Install helm, the emulator, checkov and kubernetes-validate, pinned, into .tools/ (a no-op when present)
    Install(RunArgsOnly),
}

#[derive(Args, Debug)]
pub struct RunArgsOnly {
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct EmulatorArgs {
    #[command(subcommand)]
    pub action: EmulatorAction,
}

#[derive(Subcommand, Debug)]
pub enum EmulatorAction {
    /// Start the emulator in the background (reports the running one instead of starting a second)
    Start,
    /// Stop the emulator this project started
    Stop,
    /// Say whether the emulator runs, and where
    Status,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Run only the checks whose name contains this text (repeat for several)
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// List the checks and exit
    #[arg(long)]
    pub list: bool,
    /// Run every check, even one whose inputs are unchanged since it last passed (the results are
    /// still stored for the next run)
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Plan this environment's configuration against the local emulator from empty state: no cloud
    /// credentials, the real backend untouched — the full set of resources the environment would have
    #[arg(long)]
    pub emulated: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Don't ask for confirmation in protected environments (for CI)
    #[arg(long)]
    pub yes: bool,
    /// Let the plan destroy or replace data resources (databases, buckets, KMS keys, the cluster) in a
    /// protected environment
    #[arg(long)]
    pub allow_destroy: bool,
    /// Apply even when the plan's cost estimate is over the budget or incomplete (still reported)
    #[arg(long)]
    pub no_cost_gate: bool,
    /// Apply this saved plan instead of planning (`cargo xtask plan <env>` writes
    /// target/xtask/plans/<env>.tfplan and its meta beside it). Refused (exit 2, nothing changed) when
    /// it is another environment's or another commit's, or stale (the state moved since): plan again
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Confirm without a prompt by giving the environment's name again (required for protected
    /// environments when there is no terminal)
    #[arg(long, value_name = "ENV")]
    pub confirm: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct MeshArgs {
    #[command(subcommand)]
    pub action: MeshAction,
}

#[derive(Subcommand, Debug)]
pub enum MeshAction {
    /// Generate the trust anchor (ECDSA P-256) into Secrets Manager, or keep the stored one
    Certs(EnvRunArgs),
    /// Place the trust anchor for cert-manager, apply the issuer's Issuer and Certificate, install linkerd-crds and linkerd-control-plane (local: verify only)
    Install(EnvRunArgs),
    /// `linkerd check` when the CLI is present, else wait for the control plane (local: check the trust anchor)
    Check(EnvRunArgs),
    /// Have cert-manager issue a new identity issuer now (it renews it by itself every 2 days) and wait for it
    RotateIssuer(EnvRunArgs),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Prune this command's snapshots older than this many days instead of the environment's retention
    /// (the terraform output backup_retention_days)
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
#[command(
    after_help = "The instance in service (and its read replicas) is renamed aside to <name>-retired-<time> and kept \
until you delete it (on the emulator it is deleted: the emulator can't tell two instances apart); the new one takes \
its name, terraform owns it, and the services are bound to it again and PgBouncer restarted. Protected environments \
ask for the name typed back (or --yes). The measured time is recorded in target/xtask/plans/<env>.restore.json."
)]
pub struct RestoreArgs {
    /// Environment: dev, staging, production or local
    pub env: String,
    /// Restore this snapshot (identifier, or ARN) [default: the newest available snapshot of the environment's database, automated or `backup`'s]
    #[arg(long, value_name = "ID", conflicts_with = "to_time")]
    pub snapshot: Option<String>,
    /// Restore the automated backups as they were at this time (RFC 3339, e.g. 2026-12-04T09:30:00Z; within the retention window)
    #[arg(long, value_name = "TIME")]
    pub to_time: Option<String>,
    /// Don't ask for confirmation in protected environments (for CI)
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Environment: dev, staging, production or local
    pub env: String,
    /// Where to rehearse: the environment's own region [default], or `dr` (its dr_region in xtask.toml:
    /// the newest snapshot copy `backup` made there)
    #[arg(long, value_name = "dr|REGION")]
    pub region: Option<String>,
    /// The DB subnet group of the scratch instance [default: the database's own; in the DR region the
    /// region's default VPC]
    #[arg(long, value_name = "NAME")]
    pub db_subnet_group: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// Environment (unprotected only, e.g. dev or local)
    pub env: String,
    #[command(subcommand)]
    pub action: ScheduleAction,
}

#[derive(Subcommand, Debug)]
pub enum ScheduleAction {
    /// Record the node group sizes, scale them to zero, stop the database
    Down(RunArgsOnly),
    /// Restore the recorded sizes and start the database
    Up(RunArgsOnly),
}

#[derive(Args, Debug)]
pub struct CostReportArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Price this plan JSON (`terraform show -json`) instead of the environment's saved or emulated plan
    #[arg(long, value_name = "FILE", conflicts_with = "actual")]
    pub plan: Option<PathBuf>,
    /// Compare with this base plan JSON (e.g. the base branch's plan): each resource whose monthly cost
    /// changes, with its delta, and the total before, after and the change; the gate applies to the new total
    #[arg(long, value_name = "BASE_PLAN_JSON", conflicts_with = "actual")]
    pub compare_to: Option<PathBuf>,
    /// Output: a table, markdown (PR comments, the GitHub step summary) or JSON
    #[arg(long, value_enum, default_value = "table")]
    pub format: CostFormat,
    /// Report without failing when the estimate is over the budget or incomplete
    #[arg(long)]
    pub no_gate: bool,
    /// Last month's actual spend from Cost Explorer instead of the estimate (local: the emulator's answer)
    #[arg(long)]
    pub actual: bool,
    /// With --actual: print the AWS CLI calls and run nothing
    #[arg(long, requires = "actual")]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Environment: dev, staging, production or local
    pub env: String,
    /// The Kubernetes minor to move to, e.g. 1.36: the one above the cluster's (or the cluster's own, to
    /// finish an upgrade whose control plane moved already)
    #[arg(long, value_name = "MINOR")]
    pub to: String,
    /// Don't ask for confirmation in protected environments (for CI)
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Environment: dev, staging, production, dr or local
    pub env: String,
    /// Remove the lock without asking (it is still refused while a run of this checkout holds it)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Opens `aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost` \
through the bastion (the SSM parameter /<project>/<env>/bastion/tunnel names it and the cluster) to the \
cluster endpoint's port 443, and writes target/xtask/kube/<env>-tunnel.config: server \
https://127.0.0.1:<port>, tls-server-name the endpoint's host, credentials from `aws eks get-token` with \
your AWS identity (the admin or developer role). In another terminal: export KUBECONFIG=<that file>. \
Ctrl-C closes the tunnel (exit 0). Needs the AWS CLI and its Session Manager plugin (cargo xtask doctor).")]
pub struct TunnelArgs {
    /// Environment: dev, staging or production (local has no cluster and the emulator no sessions)
    pub env: String,
    /// Local port on 127.0.0.1 the API is forwarded to
    #[arg(long, default_value_t = 8443, value_parser = clap::value_parser!(u16).range(1024..))]
    pub port: u16,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
#[command(after_help = "Asks GitHub's deployments API through `gh api` (authenticated by GH_TOKEN). The order of \
                        promotion is `promote_from` in xtask.toml (dev → staging → production). Exit 0: the commit \
                        may deploy; 2: refused, in one line, or bad input.")]
pub struct PromotionArgs {
    /// Environment to deploy to (staging, production); one without `promote_from` takes any commit
    pub env: String,
    /// The commit to deploy: its full 40-character id
    #[arg(long, value_name = "SHA")]
    pub commit: String,
    /// The GitHub repository, OWNER/NAME
    #[arg(long, value_name = "OWNER/NAME", env = "GITHUB_REPOSITORY")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
#[command(after_help = "The comment carries a hidden marker per environment; the comment the workflow's bot wrote \
                        earlier is replaced, never a person's. Through `gh api` (authenticated by GH_TOKEN); every \
                        registered secret is masked in the body.")]
pub struct PrCommentArgs {
    /// Environment whose plan the comment shows
    pub env: String,
    /// The pull request's number
    #[arg(long, value_name = "NUMBER")]
    pub pr: u64,
    /// A markdown file to show, in order (repeat) [default: the plan's summary and cost change,
    /// target/xtask/plans/<env>.summary.md and <env>.cost.md]
    #[arg(long, value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// The commit the plan was made from, named in the comment
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The workflow run, linked from the comment
    #[arg(long, value_name = "URL")]
    pub run_url: Option<String>,
    /// The GitHub repository, OWNER/NAME
    #[arg(long, value_name = "OWNER/NAME", env = "GITHUB_REPOSITORY")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostFormat {
    Table,
    Markdown,
    Json,
}
