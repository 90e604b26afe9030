//! The identity map in docs/SECURITY.md: who runs as what and may touch what, generated from the same
//! inputs as the contracts (so `validate` keeps it true, like the modules' README tables).
//!
//! Two tables between `<!-- BEGIN_IDENTITY_MAP -->` and `<!-- END_IDENTITY_MAP -->`, made from the
//! inputs of [`FROM`] (every environment has the same stack, so the same identities; names are shown
//! with `<env>` for the environment): each workload of the overlay and each Helm release that asks for
//! an IRSA role → its ServiceAccount → its role (the ServiceAccounts the workload-identity contract
//! reads) → what the role's inline policies allow (per statement: its Sid, actions, and resources —
//! an ARN that is known only after apply is counted, not named) and its managed policies; and each
//! workflow job that asks for an OIDC token → the triggers and GitHub environments it runs with (the
//! CI contract's reader) → the role it assumes. A stale table is a finding naming the file.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ci, identity, workflows, Inputs, Resource};
use crate::finding::Finding;

/// Where the map lives, relative to the repository root.
pub const FILE: &str = "docs/SECURITY.md";
/// The environment whose inputs the map is made from.
pub const FROM: &str = "dev";
pub const BEGIN: &str = "<!-- BEGIN_IDENTITY_MAP -->";
pub const END: &str = "<!-- END_IDENTITY_MAP -->";

/// `authorworks-dev-media-service` → `authorworks-<env>-media-service`.
fn general(name: &str, inputs: &Inputs) -> String {
    let (project, env) = (inputs.env.project(), inputs.env.name());
    name.replace(&format!("{project}-{env}-"), &format!("{project}-<env>-"))
        .replace(&format!("{project}/{env}/"), &format!("{project}/<env>/"))
}

fn role_name(role: &Resource, inputs: &Inputs) -> String {
    format!("`{}`", general(role.text("name").unwrap_or(&role.address), inputs))
}

/// A resource's address below the stack, its modules written as a path: `security.aws_kms_key.this["s3"]`,
/// and `storage.buckets.aws_s3_bucket.this["loki"]` for a bucket the storage module makes through its
/// building block (the last module alone, `buckets`, would not say whose bucket it is).
fn short_address(address: &str) -> String {
    address.split_once(".module.").map_or(address, |(_, below)| below).replace(".module.", ".")
}

/// An ARN without its partition, service, region and account: `security-group/*`, `*`.
fn short_arn(arn: &str) -> String {
    let rest = arn.split(':').skip(5).collect::<Vec<_>>().join(":");
    if rest.is_empty() {
        arn.to_string()
    } else {
        rest
    }
}

/// Actions, up to three per service by name and more as a count (`ec2: 16 actions`).
fn actions(list: &[String]) -> String {
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in list {
        let (service, _) = a.split_once(':').unwrap_or(("", a));
        by_service.entry(service).or_default().push(a);
    }
    let mut out = Vec::new();
    for (service, actions) in by_service {
        if actions.len() <= 3 {
            out.extend(actions.iter().map(|a| format!("`{a}`")));
        } else {
            out.push(format!("{service}: {} actions", actions.len()));
        }
    }
    out.join(", ")
}

/// What a role may touch: each allowing statement of its inline policies, then its managed policies.
pub fn may_touch(inputs: &Inputs, role: &Resource) -> String {
    let plan = &inputs.plan;
    let attached = |kind: &'static str| {
        plan.of_type(kind).filter(move |p| plan.attribute_sources(p, "role").iter().any(|r| r.address == role.address))
    };
    let mut parts = Vec::new();
    for grant in plan.grants(role) {
        // The resources the policy's documents (or locals) refer to, for ARNs known only at apply.
        let mut refers: Vec<String> = grant
            .refers
            .iter()
            .filter(|r| !(r.data && r.kind == "aws_iam_policy_document"))
            .map(|r| format!("`{}`", short_address(&r.address)))
            .collect();
        refers.sort();
        refers.dedup();
        let statements = plan.statements(grant.policy, "policy");
        if statements.is_empty() {
            let mut on = refers.clone();
            on.extend(grant.patterns.iter().map(|p| format!("`{}`", general(&short_arn(p), inputs))));
            let on = if on.is_empty() { "resources known at apply".to_string() } else { on.join(", ") };
            let name = general(grant.policy.text("name").unwrap_or(&grant.policy.address), inputs);
            parts.push(format!("`{name}`: {} on {on}", actions(&grant.actions)));
            continue;
        }
        let unknowns = statements.iter().any(|s| s.resources.iter().any(Option::is_none));
        for s in statements {
            let mut on: Vec<String> =
                s.resources.iter().flatten().map(|r| format!("`{}`", general(&short_arn(r), inputs))).collect();
            let unknown = s.resources.iter().filter(|r| r.is_none()).count();
            if unknown > 0 {
                on.push(format!("{unknown} ARN(s) known at apply"));
            }
            let verb = if s.allow { "" } else { "denies " };
            let sid = s.sid.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
            parts.push(format!("{sid}{verb}{} on {}", actions(&s.actions), on.join(", ")));
        }
        if !refers.is_empty() && unknowns {
            parts.push(format!("(those ARNs: {})", refers.join(", ")));
        }
    }
    for a in attached("aws_iam_role_policy_attachment") {
        if let Some(arn) = a.text("policy_arn").filter(|arn| arn.contains(":aws:policy/")) {
            parts.push(format!("AWS managed policy `{}`", arn.rsplit('/').next().unwrap_or(arn)));
        }
    }
    if parts.is_empty() {
        "nothing (no policy)".into()
    } else {
        parts.join("; ")
    }
}

/// The tables, as they go between the markers.
pub fn tables(inputs: &Inputs) -> String {
    let plan = &inputs.plan;
    let mut out = String::new();
    out.push_str(&format!(
        "Generated by `cargo xtask docs` from the `{FROM}` environment's plan, overlay, Helm values and workflows; `cargo xtask validate` fails when it is stale, or when another real environment's would differ. Names are shown with `<env>` for the environment.\n\n"
    ));
    out.push_str("| Who | ServiceAccount | IAM role | May touch |\n|-----|----------------|----------|-----------|\n");
    let claims = identity::claims(inputs);
    let mut rows: BTreeMap<String, String> = BTreeMap::new();
    for o in inputs.overlay.objects.iter().filter(|o| o.pod_spec().is_some()) {
        let spec = o.pod_spec().unwrap_or(&o.value);
        let sa = spec.get("serviceAccountName").and_then(serde_norway::Value::as_str).unwrap_or("default");
        let claim = claims.iter().find(|c| c.namespace == o.namespace && c.name == sa);
        let (role, touch) = match claim.and_then(|c| c.roles.first()) {
            Some(r) => (role_name(r, inputs), may_touch(inputs, r)),
            None if claim.is_some() => ("(names no role in the plan)".into(), "–".into()),
            None => ("–".into(), "nothing in AWS".into()),
        };
        rows.insert(
            format!("0 {} {}", o.namespace, o.name),
            format!("| {} `{}` | `{}/{sa}` | {role} | {touch} |\n", o.kind, o.name, o.namespace),
        );
    }
    for c in claims.iter().filter(|c| c.says.starts_with("output ")) {
        let output = c.says.trim_start_matches("output ");
        let release = inputs.releases.iter().find(|r| r.release.set_from_terraform.values().any(|o| o == output));
        let who = release.map_or_else(|| "release".to_string(), |r| format!("release `{}`", r.release.name));
        let (role, touch) = match c.roles.first() {
            Some(r) => (role_name(r, inputs), may_touch(inputs, r)),
            None => ("(names no role in the plan)".into(), "–".into()),
        };
        rows.insert(
            format!("1 {who} {}", c.name),
            format!("| {who} | `{}/{}` | {role} | {touch} |\n", c.namespace, c.name),
        );
    }
    out.extend(rows.into_values());
    out.push_str("\n| Workflow job | Runs on | GitHub environment | IAM role |\n|--------------|---------|--------------------|----------|\n");
    for w in &inputs.workflows {
        let all = workflows::jobs(w);
        for job in all.iter().filter(|j| j.oidc) {
            let live = ci::job_triggers(&all, job);
            let roles: Vec<String> = job
                .roles
                .iter()
                .map(|(r, _)| match ci::assumed_role(plan, r) {
                    Ok(role) => role_name(role, inputs),
                    Err(_) => format!("`{r}` (no role in the plan)"),
                })
                .collect();
            let roles = if roles.is_empty() { "–".to_string() } else { roles.join(", ") };
            let mut by_trigger: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for run in job.runs().unwrap_or_default().into_iter().filter(|r| live.contains(&r.trigger)) {
                let envs = by_trigger.entry(run.trigger).or_default();
                let env = run.environment.map_or("(none)".into(), |e| format!("`{e}`"));
                if !envs.contains(&env) {
                    envs.push(env);
                }
            }
            for (trigger, envs) in by_trigger {
                out.push_str(&format!(
                    "| {} | {trigger} | {} | {roles} |\n",
                    job.label().replace(" job ", " "),
                    envs.join(", ")
                ));
            }
        }
    }
    out
}

/// `text` with the tables between the markers replaced; `None` without the markers.
pub fn with_tables(text: &str, tables: &str) -> Option<String> {
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    Some(format!("{}\n{tables}{}", &text[..start], &text[end..]))
}

/// The contract: the map in [`FILE`] is what the inputs of [`FROM`] make.
/// For [`FROM`], and every other real environment: one map holds for all of them.
pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let path = inputs.root.join(FILE);
    if !(inputs.env.name() == FROM || inputs.env.real()) || !path.is_file() {
        return Vec::new();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mine = tables(inputs);
    let Some(updated) = with_tables(&text, &mine) else {
        return vec![Finding::new(&path, None, format!("no {BEGIN} / {END} markers for the identity map"))];
    };
    if updated == text {
        return Vec::new();
    }
    let line = text.lines().position(|l| l.contains(BEGIN)).map(|i| i + 1);
    if inputs.env.name() == FROM {
        return vec![Finding::new(&path, line, "the identity map is stale: run `cargo xtask docs`")];
    }
    let written = text.split(BEGIN).nth(1).and_then(|t| t.split(END).next()).unwrap_or("");
    // A workflow job that runs in GitHub environments of other environments only (operations.yml's
    // matrix leaves dr out) has no role here: its row is not this environment's to compare.
    let env = inputs.env.name();
    let ours = |l: &&str| {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        let workflow_row = cells.len() > 4 && cells[1].contains(".yml");
        !workflow_row
            || cells[3] == "(none)"
            || cells[3]
                .split(", ")
                .any(|e| e.trim_matches('`') == env || e.trim_matches('`').ends_with(&format!("-{env}")))
    };
    let mine: Vec<&str> = mine.lines().filter(ours).collect();
    let written: Vec<&str> = written.lines().filter(ours).collect();
    let extra = mine.iter().find(|l| !written.contains(l)).map(|l| format!("it has `{l}`"));
    let lacks = || written.iter().find(|w| !w.is_empty() && !mine.contains(w)).map(|w| format!("it lacks `{w}`"));
    let Some(differs) = extra.or_else(lacks) else { return Vec::new() };
    vec![Finding::new(
        &path,
        line,
        format!("the identity map is {FROM}'s, but `{}`'s differs (run `cargo xtask docs`; if it still differs, the environments' identities differ): {differs}", inputs.env.name()),
    )]
}

/// Writes the map into `root`'s [`FILE`]; whether it changed.
pub fn write(root: &Path, inputs: &Inputs) -> anyhow::Result<bool> {
    let path = root.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let updated = with_tables(&text, &tables(inputs))
        .ok_or_else(|| anyhow::anyhow!("{}: no {BEGIN} / {END} markers to fill", path.display()))?;
    if updated == text {
        return Ok(false);
    }
    std::fs::write(&path, updated).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_listed_up_to_three_per_service() {
        let list: Vec<String> =
            ["s3:GetObject", "kms:Decrypt", "ec2:A", "ec2:B", "ec2:C", "ec2:D"].map(String::from).to_vec();
        assert_eq!(actions(&list), "ec2: 4 actions, `kms:Decrypt`, `s3:GetObject`");
    }

    #[test]
    fn an_address_keeps_every_module_below_the_stack() {
        assert_eq!(
            short_address(r#"module.stack.module.storage.module.buckets.aws_s3_bucket.this["loki"]"#),
            r#"storage.buckets.aws_s3_bucket.this["loki"]"#
        );
        assert_eq!(
            short_address(r#"module.stack.module.security.aws_kms_key.this["s3"]"#),
            r#"security.aws_kms_key.this["s3"]"#
        );
        assert_eq!(short_address("aws_s3_bucket.b"), "aws_s3_bucket.b");
    }

    #[test]
    fn the_tables_go_between_the_markers() {
        let text = format!("# Security\n\n{BEGIN}\nold\n{END}\n\nmore\n");
        assert_eq!(with_tables(&text, "new\n").unwrap(), format!("# Security\n\n{BEGIN}\nnew\n{END}\n\nmore\n"));
        assert_eq!(with_tables("no markers", "x"), None);
    }
}
