//! The plan bundle: what `plan <env>` writes into `<work>/plans/` and `deploy <env> --plan` applies —
//! `<env>.tfplan` (terraform's saved plan), `<env>.plan.json` (its JSON, sensitive values masked),
//! `<env>.summary.md` (what a pull request and a job summary show) and `<env>.plan-meta.json` (the
//! environment, the commit, the state lineage and serial it was planned against, terraform's version,
//! the time, and the SHA-256 of the plan and its JSON). Before a saved plan is applied, the bundle is
//! checked against this checkout (same environment, same commit, the files the meta names) and, once
//! terraform is initialised, against the state (not moved since): anything else is refused with what
//! to do.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{Cmd, Step};
use crate::error::{usage, Refused};
use crate::target::{Against, Target};
use crate::tfplan::{Plan, PlanSummary};
use crate::{clock, context::Context, cost, offhours, shell};

/// The four files of one saved plan.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub tfplan: PathBuf,
    pub json: PathBuf,
    pub summary: PathBuf,
    pub meta: PathBuf,
}

/// What a plan was made from, written next to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub environment: String,
    /// Planned against the emulator from empty state (`plan <env> --emulated`): never applied.
    pub emulated: bool,
    /// The commit checked out (`None` outside a git checkout).
    pub commit: Option<String>,
    /// terraform/ had changes not in that commit.
    pub uncommitted_terraform_changes: bool,
    /// The state the plan was made against; `None` when the environment had no state yet.
    pub state: Option<StateRef>,
    pub terraform_version: Option<String>,
    /// When the plan was made (RFC 3339, UTC).
    pub created: String,
    pub tfplan_sha256: String,
    pub plan_json_sha256: String,
    /// `N to add, N to change, N to destroy`.
    pub summary: String,
}

/// A state's identity and version: terraform refuses a saved plan once either moved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateRef {
    pub lineage: String,
    pub serial: u64,
}

impl StateRef {
    /// From `terraform state pull` (the state itself; empty when there is none yet).
    pub fn from_pull(text: &str) -> Result<Option<StateRef>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let state: StateRef =
            serde_json::from_str(text).context("`terraform state pull` did not print a terraform state")?;
        Ok(Some(state))
    }

    pub fn describe(state: &Option<StateRef>) -> String {
        match state {
            Some(s) => format!("serial {} (lineage {})", s.serial, s.lineage),
            None => "no state yet".to_string(),
        }
    }
}

impl Bundle {
    /// The bundle `plan` writes for a target.
    pub fn of(target: &Target) -> Bundle {
        Bundle {
            tfplan: target.plan_file(),
            json: target.plan_json(),
            summary: target.file("summary.md"),
            meta: target.file("plan-meta.json"),
        }
    }

    /// The bundle a saved plan file (`…/<name>.tfplan`) belongs to: the other files beside it.
    pub fn at(tfplan: &Path) -> Result<Bundle> {
        let name = tfplan.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(stem) = name.strip_suffix(".tfplan") else {
            return Err(usage(format!(
                "--plan {}: not a saved plan (`cargo xtask plan <env>` writes target/xtask/plans/<env>.tfplan)",
                tfplan.display()
            )));
        };
        let tfplan = std::path::absolute(tfplan).unwrap_or_else(|_| tfplan.to_path_buf());
        let dir = tfplan.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Bundle {
            json: dir.join(format!("{stem}.plan.json")),
            summary: dir.join(format!("{stem}.summary.md")),
            meta: dir.join(format!("{stem}.plan-meta.json")),
            tfplan,
        })
    }

    /// Writes the JSON (masked), the meta and the summary of the plan just saved; `shown` is
    /// `terraform show -json` of it, `state` what `terraform state pull` printed (or `None` for an
    /// emulated plan). Returns the summary.
    pub fn write(&self, ctx: &Context, target: &Target, shown: &str, state: Option<&str>) -> Result<PlanSummary> {
        let plan = Plan::parse(shown)?;
        plan.register_secrets();
        let summary = PlanSummary::of(&plan);
        let terraform_version = plan.terraform_version.clone();
        std::fs::write(&self.json, plan.masked_json()).with_context(|| format!("writing {}", self.json.display()))?;
        let state = match state {
            Some(text) => StateRef::from_pull(text)?,
            None => None,
        };
        let commit = shell::git_head(&ctx.root);
        let meta = Meta {
            environment: target.env.name.clone(),
            emulated: target.against == Against::EmulatedPlan,
            uncommitted_terraform_changes: commit.is_some() && shell::git_changed(&ctx.root, "terraform") == Some(true),
            commit,
            state,
            terraform_version,
            created: clock::utc_rfc3339(),
            tfplan_sha256: crate::digest::sha256_file(&self.tfplan)?,
            plan_json_sha256: crate::digest::sha256_file(&self.json)?,
            summary: summary.line(),
        };
        let text = serde_json::to_string_pretty(&meta).expect("the meta serializes");
        std::fs::write(&self.meta, text + "\n").with_context(|| format!("writing {}", self.meta.display()))?;
        let cost = match cost::price(ctx, &target.env, &self.json) {
            Ok(priced) => format!("cost: {}", priced.line()),
            Err(e) => format!("cost: not estimated ({e:#})"),
        };
        let md = summary.markdown(&title(&meta), &facts(&meta, &cost));
        std::fs::write(&self.summary, md).with_context(|| format!("writing {}", self.summary.display()))?;
        Ok(summary)
    }

    /// The checks that need no tool: the meta is there and is this environment's and this commit's, the
    /// plan and its JSON are the files it names, and the plan can be applied. Bad input otherwise
    /// (exit 2), nothing changed.
    pub fn check(&self, ctx: &Context, target: &Target) -> Result<Meta> {
        let plan_again = format!("make a plan of this checkout with `cargo xtask plan {}`", target.env.name);
        if !self.tfplan.is_file() {
            return Err(usage(format!("--plan {}: no such file ({plan_again})", self.tfplan.display())));
        }
        let text = std::fs::read_to_string(&self.meta).map_err(|e| {
            usage(format!(
                "{}: {e}: a saved plan is applied only with the meta `cargo xtask plan` writes beside it ({plan_again})",
                self.meta.display()
            ))
        })?;
        let meta: Meta = serde_json::from_str(&text).map_err(|e| {
            usage(format!(
                "{}:{}: not the meta `cargo xtask plan` writes: {e} ({plan_again})",
                self.meta.display(),
                e.line()
            ))
        })?;
        if meta.environment != target.env.name {
            return Err(usage(format!(
                "{} is a plan of `{}`, not `{}`: refusing to apply it. Nothing changed; {plan_again}",
                self.tfplan.display(),
                meta.environment,
                target.env.name
            )));
        }
        if meta.emulated {
            return Err(usage(format!(
                "{} was planned against the emulator from empty state (`plan {} --emulated`): it can't be applied. Nothing changed; {plan_again}",
                self.tfplan.display(),
                meta.environment
            )));
        }
        let head = shell::git_head(&ctx.root);
        if meta.commit != head {
            let show =
                |c: &Option<String>| c.as_deref().map(short).unwrap_or("no commit (not a git checkout)").to_string();
            return Err(usage(format!(
                "{} was planned at commit {}, but this checkout is at {}: refusing to apply it. Nothing changed; check out {} or {plan_again}",
                self.tfplan.display(),
                show(&meta.commit),
                show(&head),
                show(&meta.commit)
            )));
        }
        for (file, recorded) in [(&self.tfplan, &meta.tfplan_sha256), (&self.json, &meta.plan_json_sha256)] {
            let actual = crate::digest::sha256_file(file).map_err(|e| usage(format!("{e:#} ({plan_again})")))?;
            if &actual != recorded {
                return Err(usage(format!(
                    "{} is not the file planned with {} (its SHA-256 differs from the meta's): refusing to apply it. Nothing changed; {plan_again}",
                    file.display(),
                    self.meta.display()
                )));
            }
        }
        let plan = Plan::read(&self.json)?;
        if plan.errored {
            return Err(usage(format!(
                "{}: planning stopped at an error, so the plan can't be applied. Nothing changed; fix it and {plan_again}",
                self.json.display()
            )));
        }
        let scaling = offhours::unappliable_scaling(&plan);
        if !scaling.is_empty() {
            let env = &target.env.name;
            return Err(usage(format!(
                "{} sets node groups below their minimum size, which EKS refuses: {}. It was made while `{env}` was in \
                 off-hours (node groups at zero). Nothing changed; bring `{env}` up (`cargo xtask schedule {env} up`) and \
                 {plan_again}, or run `cargo xtask deploy {env}`, which brings it up before it plans and returns it to off-hours after",
                self.tfplan.display(),
                scaling.join(", ")
            )));
        }
        Ok(meta)
    }

    /// `deploy --plan`, once terraform is initialised: the state is still the one the plan was made
    /// against (`terraform state pull`), or the plan is refused as stale, naming both serials.
    pub fn current_step<'a>(&'a self, ctx: &'a Context, target: &'a Target, meta: &'a Meta) -> Step<'a> {
        let pull = move |endpoint: Option<&str>| -> Result<Cmd> {
            Ok(target.terraform(ctx, endpoint)?.cmd(["state", "pull"]))
        };
        let shown = pull(target.shown_endpoint(ctx).as_deref()).into_iter().collect();
        let env = &target.env.name;
        Step::new(
            "plan-check",
            format!("The state of `{env}` is still the one the saved plan was made against"),
            shown,
            move |c| {
                let endpoint = target.endpoint(ctx)?;
                let now = StateRef::from_pull(&c.output(&pull(endpoint.as_deref())?)?)?;
                if let Some(message) = self.stale(target, meta, &now) {
                    let advice = format!("Plan again: `cargo xtask plan {env}`, then deploy the new plan with --plan.");
                    return Err(anyhow::Error::new(Refused { message, advice }));
                }
                c.note(format!(
                    "{}; planned at {} against {}",
                    meta.summary,
                    commit_text(meta),
                    StateRef::describe(&meta.state)
                ));
                c.fact(format!("plan {env}: {} (applying the saved plan {})", meta.summary, self.tfplan.display()));
                c.fact(format!("plan summary: {}", self.summary.display()));
                Ok(())
            },
        )
        .note(format!(
            "the plan's environment, commit and files (SHA-256) were checked against {} before this run",
            self.meta.display()
        ))
    }

    /// The state terraform would apply the plan to, against the one it was planned against.
    pub fn stale(&self, target: &Target, meta: &Meta, now: &Option<StateRef>) -> Option<String> {
        if &meta.state == now {
            return None;
        }
        let env = &target.env.name;
        let moved = match (&meta.state, now) {
            (Some(a), Some(b)) if a.lineage == b.lineage => {
                format!("the state moved from serial {} to serial {} since", a.serial, b.serial)
            }
            (a, b) => format!(
                "the state changed since: planned against {}, now {}",
                StateRef::describe(a),
                StateRef::describe(b)
            ),
        };
        Some(format!(
            "{} is stale: it was planned against `{env}`'s state at {}, and {moved} (another apply ran). \
             Refusing to apply it; nothing changed. Plan again — `cargo xtask plan {env}` — review the new plan, and deploy that one",
            self.tfplan.display(),
            StateRef::describe(&meta.state),
        ))
    }
}

impl Bundle {
    /// Under GitHub Actions, the summary appended to the job summary — when this run wrote it
    /// (`since`: the run's start), or always (`None`: `deploy --plan` shows the plan it applied).
    pub fn publish(&self, since: Option<std::time::SystemTime>) -> Result<()> {
        if crate::engine::Ui::detect(false).mode != crate::engine::Mode::GitHub {
            return Ok(());
        }
        let written = std::fs::metadata(&self.summary).and_then(|m| m.modified()).ok();
        if written.is_none() || since.is_some_and(|s| written.is_some_and(|w| w < s)) {
            return Ok(());
        }
        let text =
            std::fs::read_to_string(&self.summary).with_context(|| format!("reading {}", self.summary.display()))?;
        crate::github::append_step_summary(&format!("\n{text}"))
    }
}

fn commit_text(meta: &Meta) -> String {
    meta.commit.as_deref().map(|c| format!("commit {}", short(c))).unwrap_or_else(|| "no commit".into())
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn title(meta: &Meta) -> String {
    if meta.emulated {
        format!("Plan of `{}` (emulated, from empty state)", meta.environment)
    } else {
        format!("Plan of `{}`", meta.environment)
    }
}

fn facts(meta: &Meta, cost: &str) -> Vec<String> {
    let commit = match &meta.commit {
        Some(c) if meta.uncommitted_terraform_changes => {
            format!("commit `{}` with uncommitted changes in terraform/", short(c))
        }
        Some(c) => format!("commit `{}`", short(c)),
        None => "not a git checkout".to_string(),
    };
    let state = if meta.emulated {
        "emulated: empty state".to_string()
    } else {
        format!("state {}", StateRef::describe(&meta.state))
    };
    let tf = meta.terraform_version.as_deref().map(|v| format!(", terraform {v}")).unwrap_or_default();
    vec![format!("{commit}, {state}{tf}, planned {}", meta.created), cost.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_pull_gives_lineage_and_serial_and_nothing_when_empty() {
        let text = r#"{"version": 4, "terraform_version": "1.11.4", "serial": 12, "lineage": "8c1c-4e1f", "outputs": {}, "resources": []}"#;
        assert_eq!(StateRef::from_pull(text).unwrap(), Some(StateRef { lineage: "8c1c-4e1f".into(), serial: 12 }));
        assert_eq!(StateRef::from_pull("\n").unwrap(), None);
        assert!(StateRef::from_pull("not a state").is_err());
    }

    #[test]
    fn a_bundle_is_found_beside_its_plan_file() {
        let b = Bundle::at(Path::new("/w/plans/dev.tfplan")).unwrap();
        assert_eq!(b.json, Path::new("/w/plans/dev.plan.json"));
        assert_eq!(b.meta, Path::new("/w/plans/dev.plan-meta.json"));
        assert_eq!(b.summary, Path::new("/w/plans/dev.summary.md"));
        assert!(Bundle::at(Path::new("/w/plans/dev.plan.json")).is_err());
    }
}
