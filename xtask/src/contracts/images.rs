//! The images contract: every image the rendered overlay runs is in the environment's own registry
//! (`<account>.dkr.ecr.<region>.amazonaws.com`, the account and region of xtask.toml), in a repository
//! the plan creates (`aws_ecr_repository` by its name) or under a prefix of a pull-through cache rule
//! the plan creates (`aws_ecr_pull_through_cache_rule`). An image anywhere else crosses the NAT to a
//! registry nobody scans or keeps, and a repository the plan doesn't make has nothing to pull.
//!
//! Only environments that render their own overlay are checked: `local` renders dev's for the
//! emulator's account, and `dr` renders production's, whose images are in production's region.

use serde_norway::Value;

use super::{Inputs, Object};
use crate::finding::Finding;

/// An image reference: its registry host (Docker Hub's when it names none) and repository path.
#[derive(Debug, PartialEq, Eq)]
pub struct Image {
    pub host: String,
    pub repository: String,
}

pub fn parse(image: &str) -> Image {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (name, _tag) = match without_digest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (without_digest, ""),
    };
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            Image { host: first.to_string(), repository: rest.to_string() }
        }
        Some(_) => Image { host: "docker.io".into(), repository: name.to_string() },
        None => Image { host: "docker.io".into(), repository: format!("library/{name}") },
    }
}

/// Every (container name, image) of an object's pod template.
fn images(object: &Object) -> Vec<(String, String)> {
    let Some(spec) = object.pod_spec() else { return Vec::new() };
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_sequence))
        .flatten()
        .filter_map(|c| {
            let image = c.get("image").and_then(Value::as_str)?;
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            Some((name.to_string(), image.to_string()))
        })
        .collect()
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let env = &inputs.env;
    if env.overlay != env.name {
        return Vec::new();
    }
    let plan = &inputs.plan;
    let host = format!("{}.dkr.ecr.{}.amazonaws.com", env.account, env.region);
    let repositories: Vec<(&str, &str)> =
        plan.of_type("aws_ecr_repository").filter_map(|r| Some((r.text("name")?, r.address.as_str()))).collect();
    let prefixes: Vec<(&str, &str)> = plan
        .of_type("aws_ecr_pull_through_cache_rule")
        .filter_map(|r| Some((r.text("ecr_repository_prefix")?, r.address.as_str())))
        .collect();
    let made = || {
        let mut names: Vec<String> = repositories.iter().map(|(n, _)| n.to_string()).collect();
        names.extend(prefixes.iter().map(|(p, _)| format!("{p}/…")));
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let mut findings = Vec::new();
    for object in &inputs.overlay.objects {
        for (container, image) in images(object) {
            let parsed = parse(&image);
            let what = format!("container {container} runs `{image}`");
            if parsed.host != host {
                findings.push(object.finding(
                    &inputs.overlay.dir,
                    format!(
                        "{what}, from {}, not from {}'s registry {host}: pull it from a repository the plan creates (aws_ecr_repository: {}) or through a pull-through cache prefix (aws_ecr_pull_through_cache_rule) — set `newName` in the overlay's `images:`",
                        parsed.host,
                        env.name,
                        made()
                    ),
                ));
                continue;
            }
            let in_repository = repositories.iter().any(|(n, _)| *n == parsed.repository);
            let in_cache = prefixes.iter().any(|(p, _)| parsed.repository.starts_with(&format!("{p}/")));
            if !in_repository && !in_cache {
                findings.push(object.finding(
                    &inputs.overlay.dir,
                    format!(
                        "{what}, but the plan ({}) creates no ECR repository `{}` and no pull-through cache rule for its prefix; it creates {}",
                        plan.path.display(),
                        parsed.repository,
                        made()
                    ),
                ));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_reference_is_split_into_registry_and_repository() {
        let cases = [
            (
                "1.dkr.ecr.us-east-1.amazonaws.com/authorworks/gateway:0.9.0",
                ("1.dkr.ecr.us-east-1.amazonaws.com", "authorworks/gateway"),
            ),
            ("ghcr.io/cloudnative-pg/pgbouncer:1.25.2@sha256:ab", ("ghcr.io", "cloudnative-pg/pgbouncer")),
            ("grafana/loki:3.0", ("docker.io", "grafana/loki")),
            ("redis", ("docker.io", "library/redis")),
            ("localhost:5000/app", ("localhost:5000", "app")),
        ];
        for (image, (host, repository)) in cases {
            assert_eq!(parse(image), Image { host: host.into(), repository: repository.into() }, "{image}");
        }
    }
}
