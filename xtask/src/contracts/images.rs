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
    /// The tag, empty when the reference names none (Docker's `latest`).
    pub tag: String,
    /// Whether the reference pins a digest (`@sha256:…`).
    pub digest: bool,
}

pub fn parse(image: &str) -> Image {
    let (without_digest, digest) = match image.split_once('@') {
        Some((name, _)) => (name, true),
        None => (image, false),
    };
    let (name, tag) = match without_digest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (without_digest, ""),
    };
    let (host, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        Some(_) => ("docker.io".to_string(), name.to_string()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    Image { host, repository, tag: tag.to_string(), digest }
}

/// Tags that name a branch or "the newest": they only work if CI pushes them again, which an
/// IMMUTABLE repository refuses (ECR's PutImage answers ImageTagAlreadyExistsException).
const MOVING_TAGS: &[&str] = &["", "latest", "main", "master", "develop"];

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
    let immutable = |name: &str| {
        plan.of_type("aws_ecr_repository")
            .find(|r| r.text("name") == Some(name))
            .filter(|r| r.text("image_tag_mutability").is_some_and(|m| m.starts_with("IMMUTABLE")))
            .map(|r| r.address.clone())
    };
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
            if let Some(address) = immutable(&parsed.repository).filter(|_| !parsed.digest) {
                if MOVING_TAGS.contains(&parsed.tag.as_str()) {
                    findings.push(object.finding(
                        &inputs.overlay.dir,
                        format!(
                            "{what}, a moving tag `{}`, but {address} has immutable tags: CI can push that tag once and never again, so the environment would run the first build forever — pin a release or commit tag in the overlay's `images:` (`newTag`)",
                            if parsed.tag.is_empty() { "latest" } else { &parsed.tag }
                        ),
                    ));
                }
            }
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
            let parsed = parse(image);
            assert_eq!((parsed.host.as_str(), parsed.repository.as_str()), (host, repository), "{image}");
        }
    }

    #[test]
    fn the_tag_and_digest_are_kept() {
        let cases = [
            ("1.dkr.ecr.us-east-1.amazonaws.com/authorworks/gateway:0.9.0", "0.9.0", false),
            ("ghcr.io/cloudnative-pg/pgbouncer:1.25.2@sha256:ab", "1.25.2", true),
            ("localhost:5000/app", "", false),
            ("redis:latest", "latest", false),
        ];
        for (image, tag, digest) in cases {
            let parsed = parse(image);
            assert_eq!((parsed.tag.as_str(), parsed.digest), (tag, digest), "{image}");
        }
    }
}
