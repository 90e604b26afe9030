//! The images contract: every image the rendered overlay runs is in the environment's own registry
//! (`<account>.dkr.ecr.<region>.amazonaws.com`, the account and region of xtask.toml), in a repository
//! the plan creates (`aws_ecr_repository` by its name) or under a prefix of a pull-through cache rule
//! the plan creates (`aws_ecr_pull_through_cache_rule`). An image anywhere else crosses the NAT to a
//! registry nobody scans or keeps, and a repository the plan doesn't make has nothing to pull.
//!
//!
//! The Helm releases the same: every image-valued key of a release's merged values (`registry`,
//! `imageRegistry`, `repository`, `image`, an image's `name`) is under
//! `${terraform:registry_host}/<prefix>/` for a prefix of a pull-through cache rule of the plan, the
//! registry host bound from terraform's output at install. Charts are not rendered here (validate
//! reaches no chart repository): an image a chart takes from its own defaults, with no key in our
//! values, is not seen — helm-values/README.md, "Images", lists each release's keys, checked against
//! the charts' renders.
//!
//! The overlay names the registry the same way, `${terraform:registry_host}/<repository>`: a host spelled
//! out would be one environment's, wrong for every other that renders the overlay (dr runs
//! production's in us-west-2, where us-east-1's registry is the one thing a regional failover can't
//! reach).
//!
//! An environment with a DR region (production) replicates every service repository its overlay pulls
//! from to that region (`aws_ecr_replication_configuration`, a PREFIX_MATCH filter covering the
//! repository): those copies are what dr pulls.
//!
//! Only environments that render their own overlay are checked: `local` renders dev's for the
//! emulator's account, and `dr` renders production's, whose service repositories are production's
//! replicas (made by replication, not in dr's plan).

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
    if env.overlay() != env.name() {
        return Vec::new();
    }
    let mut findings = overlay_images(inputs);
    findings.extend(release_images(inputs));
    findings.extend(replication(inputs));
    findings
}

/// One rule of a planned `aws_ecr_replication_configuration`, as the plan JSON holds it.
#[derive(Debug, Default, serde::Deserialize)]
struct ReplicationConfiguration {
    #[serde(default)]
    rule: Vec<ReplicationRule>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ReplicationRule {
    #[serde(default)]
    destination: Vec<ReplicationDestination>,
    #[serde(default)]
    repository_filter: Vec<RepositoryFilter>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ReplicationDestination {
    #[serde(default)]
    region: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct RepositoryFilter {
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    filter_type: Option<String>,
}

/// The rules of planned replication configurations (`replication_configuration` values) that copy to `region`.
fn rules_to<'a>(configurations: impl Iterator<Item = &'a serde_json::Value>, region: &str) -> Vec<ReplicationRule> {
    configurations
        .filter_map(|v| serde_json::from_value::<Vec<ReplicationConfiguration>>(v.clone()).ok())
        .flatten()
        .flat_map(|c| c.rule)
        .filter(|rule| rule.destination.iter().any(|d| d.region.as_deref() == Some(region)))
        .collect()
}

/// Whether one of `rules` copies `repository`: a rule without filters copies every repository, a
/// PREFIX_MATCH filter those whose name starts with it (ECR API Reference, RepositoryFilter).
fn replicates(rules: &[ReplicationRule], repository: &str) -> bool {
    rules.iter().any(|rule| {
        rule.repository_filter.is_empty()
            || rule.repository_filter.iter().any(|f| {
                f.filter_type.as_deref() == Some("PREFIX_MATCH")
                    && f.filter.as_deref().is_some_and(|p| repository.starts_with(p))
            })
    })
}

/// Every service repository the overlay pulls from is replicated to the environment's DR region.
fn replication(inputs: &Inputs) -> Vec<Finding> {
    let (env, plan) = (&inputs.env, &inputs.plan);
    let Some(dr_region) = env.dr_region() else { return Vec::new() };
    let rules = rules_to(
        plan.of_type("aws_ecr_replication_configuration").filter_map(|r| r.known("replication_configuration")),
        dr_region,
    );
    let covered = |repository: &str| replicates(&rules, repository);
    let services: Vec<&str> = plan.of_type("aws_ecr_repository").filter_map(|r| r.text("name")).collect();
    let mut findings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for object in &inputs.overlay.objects {
        for (container, image) in images(object) {
            let parsed = parse(&image);
            if parsed.host != REGISTRY_BINDING
                || !services.contains(&parsed.repository.as_str())
                || covered(&parsed.repository)
                || !seen.insert(parsed.repository.clone())
            {
                continue;
            }
            findings.push(object.finding(
                &inputs.overlay.dir,
                format!(
                    "container {container} runs `{image}`, but the plan ({}) does not replicate ECR repository `{}` to {}'s DR region {dr_region} (aws_ecr_replication_configuration, a PREFIX_MATCH filter covering it): the DR environment runs this overlay there and would have no image to pull",
                    plan.path.display(),
                    parsed.repository,
                    env.name()
                ),
            ));
        }
    }
    findings
}

fn overlay_images(inputs: &Inputs) -> Vec<Finding> {
    let env = &inputs.env;
    let plan = &inputs.plan;
    let host = REGISTRY_BINDING;
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
                        "{what}, from {}, not from {host}, the registry of the environment that runs it (`{}`'s, {}.dkr.ecr.{}.amazonaws.com, bound at deploy): pull it from a repository the plan creates (aws_ecr_repository: {}) or through a pull-through cache prefix (aws_ecr_pull_through_cache_rule) — set `newName` in the overlay's `images:` to `{host}/<repository>`",
                        parsed.host,
                        env.name(),
                        env.account(),
                        env.region(),
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

/// How the releases' values name the registry: terraform's `registry_host`, bound at install.
pub const REGISTRY_BINDING: &str = "${terraform:registry_host}";

/// What an image-valued key of a values file holds.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    /// A registry (`registry`, `imageRegistry`): the chart puts the repository after it.
    Registry,
    /// A repository or a whole reference (`repository`, `image`, an image `name`); `alone` when
    /// no `registry` beside it says where a relative one comes from (Docker Hub, or the chart's).
    Reference { alone: bool },
}

/// Every image-valued key a release's merged values write: (dotted path, value, what it holds).
/// A mapping is an image's when its key names one (`image`, `thanosImage`, `initChownData.image`) or
/// it holds a `repository` with a `tag` or `pullPolicy` (tempo's `tempo:`); templated values (`{{ }}`)
/// take their image from a key that is checked itself.
fn value_images(value: &Value, path: &str, in_image: bool, out: &mut Vec<(String, String, Part)>) {
    match value {
        Value::Mapping(map) => {
            let has = |k: &str| map.contains_key(k);
            let here_image = in_image || (has("repository") && (has("tag") || has("pullPolicy")));
            for (k, v) in map {
                let Some(key) = k.as_str() else { continue };
                let at = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                match v {
                    Value::String(text) if text.contains("{{") => {}
                    Value::String(text) => {
                        let part = if key == "imageRegistry" || (here_image && key == "registry") {
                            Some(Part::Registry)
                        } else if key == "image" || key.ends_with("Image") {
                            Some(Part::Reference { alone: true })
                        } else if here_image && (key == "repository" || (key == "name" && text.contains('/'))) {
                            Some(Part::Reference { alone: !has("registry") })
                        } else {
                            None
                        };
                        if let Some(part) = part {
                            out.push((at, text.clone(), part));
                        }
                    }
                    _ => value_images(v, &at, here_image || key.to_ascii_lowercase().contains("image"), out),
                }
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                value_images(v, &format!("{path}[{i}]"), in_image, out);
            }
        }
        _ => {}
    }
}

/// Why an image-valued key is not under `${terraform:registry_host}/<prefix>/` for one of
/// `prefixes`, or `None` when it is.
fn off_cache(value: &str, part: &Part, prefixes: &[&str]) -> Option<String> {
    let under = |p: &&str| {
        let root = format!("{REGISTRY_BINDING}/{p}");
        match part {
            Part::Registry => value == root || value.starts_with(&format!("{root}/")),
            Part::Reference { .. } => value.starts_with(&format!("{root}/")),
        }
    };
    if prefixes.iter().any(under) {
        return None;
    }
    let first = value.split('/').next().unwrap_or_default();
    Some(if first == REGISTRY_BINDING {
        let prefix = value.split('/').nth(1).unwrap_or_default();
        format!("the cache has no prefix `{prefix}`")
    } else if matches!(part, Part::Registry)
        || (value.contains('/') && (first.contains(['.', ':']) || first == "localhost"))
    {
        format!("pulled from {first} directly, across the NAT and unscanned")
    } else if matches!(part, Part::Reference { alone: true }) {
        let upstream = if value.contains('/') { "Docker Hub" } else { "Docker Hub's official images" };
        format!("pulled from {upstream} directly (a reference without a registry), across the NAT and unscanned")
    } else {
        return None;
    })
}

/// Every image a release's values write is pulled through the plan's pull-through cache.
fn release_images(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let rules: Vec<(&str, &str, &str)> = plan
        .of_type("aws_ecr_pull_through_cache_rule")
        .filter_map(|r| {
            Some((r.text("ecr_repository_prefix")?, r.text("upstream_registry_url").unwrap_or("?"), r.address.as_str()))
        })
        .collect();
    let prefixes: Vec<&str> = rules.iter().map(|(p, _, _)| *p).collect();
    let made = if rules.is_empty() {
        "none".to_string()
    } else {
        rules.iter().map(|(p, u, a)| format!("{p} ← {u} ({a})")).collect::<Vec<_>>().join(", ")
    };
    // The prefix whose upstream a value names, for the advice.
    let prefix_of = |value: &str| {
        let host = value.split('/').next().unwrap_or_default();
        let host = if host == "docker.io" { "registry-1.docker.io" } else { host };
        rules.iter().find(|(_, u, _)| *u == host).map(|(p, _, _)| {
            format!(" — write `{REGISTRY_BINDING}/{p}` for `{}`", value.split('/').next().unwrap_or_default())
        })
    };
    let mut findings = Vec::new();
    for release in &inputs.releases {
        let mut found = Vec::new();
        value_images(&release.values, "", false, &mut found);
        for (path, value, part) in found {
            if let Some(why) = off_cache(&value, &part, &prefixes) {
                findings.push(release.finding_at(
                    &value,
                    format!(
                        "`{path}: {value}` is {why}: every image of a release comes through {}'s pull-through cache, `{REGISTRY_BINDING}/<prefix>/<upstream path>` for a prefix of the plan ({}): {made}{}",
                        inputs.env.name(),
                        plan.path.display(),
                        prefix_of(&value).unwrap_or_default()
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

    fn offending(values: &str) -> Vec<String> {
        let value: Value = serde_norway::from_str(values).unwrap();
        let mut found = Vec::new();
        value_images(&value, "", false, &mut found);
        found
            .into_iter()
            .filter_map(|(path, v, part)| {
                off_cache(&v, &part, &["quay", "k8s", "docker-hub"]).map(|why| format!("{path}: {why}"))
            })
            .collect()
    }

    #[test]
    fn replication_covers_a_repository_by_prefix_to_the_dr_region_only() {
        // As the plan JSON holds the ecr module's rule.
        let planned = serde_json::json!([{"rule": [{
            "destination": [{"region": "us-west-2", "registry_id": "123456789012"}],
            "repository_filter": [{"filter": "authorworks/", "filter_type": "PREFIX_MATCH"}]
        }]}]);
        let to_dr = rules_to([&planned].into_iter(), "us-west-2");
        assert!(replicates(&to_dr, "authorworks/gateway"));
        assert!(!replicates(&to_dr, "github/cloudnative-pg/pgbouncer"), "outside the prefix");
        assert!(rules_to([&planned].into_iter(), "eu-west-1").is_empty(), "another region's rule covers nothing");
        let unfiltered = serde_json::json!([{"rule": [{"destination": [{"region": "us-west-2"}]}]}]);
        assert!(replicates(&rules_to([&unfiltered].into_iter(), "us-west-2"), "anything/at-all"));
        assert!(!replicates(&[], "authorworks/gateway"), "no configuration, nothing copied");
    }

    #[test]
    fn release_images_through_the_cache_pass() {
        let values = r#"
image: {repository: "${terraform:registry_host}/k8s/metrics-server/metrics-server", tag: v1}
imageRegistry: "${terraform:registry_host}/quay"
registry: txt
grafana:
  image: {registry: "${terraform:registry_host}/docker-hub", repository: grafana/grafana}
tempo: {registry: "${terraform:registry_host}/docker-hub", repository: grafana/tempo, tag: ""}
proxy: {image: {name: "${terraform:registry_host}/quay/linkerd/proxy"}}
controllerImage: "${terraform:registry_host}/quay/linkerd/controller"
initContainers:
  - {name: plugin, image: "${terraform:registry_host}/quay/x/plugin:v1"}
extraContainers:
  - {name: sidecar, image: "{{ .Values.global.image.repository }}:v1"}
"#;
        assert_eq!(offending(values), Vec::<String>::new());
    }

    #[test]
    fn release_images_past_the_cache_are_named_with_their_path() {
        let values = r#"
image: {repository: registry.k8s.io/metrics-server/metrics-server}
alertmanager: {alertmanagerSpec: {image: {registry: quay.io, repository: prometheus/alertmanager}}}
otel: {image: {repository: otel/opentelemetry-collector-k8s, tag: v1}}
busybox: {initChownData: {image: {registry: "${terraform:registry_host}/dockerhub", repository: library/busybox}}}
initContainers:
  - {name: plugin, image: "ghcr.io/x/plugin:v1"}
  - {name: redis, image: "redis:7"}
"#;
        assert_eq!(
            offending(values),
            [
                "image.repository: pulled from registry.k8s.io directly, across the NAT and unscanned",
                "alertmanager.alertmanagerSpec.image.registry: pulled from quay.io directly, across the NAT and unscanned",
                "otel.image.repository: pulled from Docker Hub directly (a reference without a registry), across the NAT and unscanned",
                "busybox.initChownData.image.registry: the cache has no prefix `dockerhub`",
                "initContainers[0].image: pulled from ghcr.io directly, across the NAT and unscanned",
                "initContainers[1].image: pulled from Docker Hub's official images directly (a reference without a registry), across the NAT and unscanned",
            ]
        );
    }

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
