//! Pins that don't rot: renovate.json's custom managers, applied here the way Renovate applies them
//! (each `managerFilePatterns` regex against the repository-relative path, each `matchStrings` regex
//! against the whole file, named groups for the dependency), must find every chart of
//! helm-values/releases.toml, every image tag a values file pins and every package the tool table
//! installs — so a new pin can't be added where the update bot doesn't see it. Terraform, actions,
//! cargo and the toolchain are Renovate's built-in managers, which must stay enabled.

use std::path::Path;

use regex_lite::Regex;
use serde::Deserialize;

use crate::common::{repo_root, Sandbox};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    extends: Vec<String>,
    #[serde(default)]
    enabled_managers: Vec<String>,
    #[serde(default)]
    custom_managers: Vec<CustomManager>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomManager {
    custom_type: String,
    manager_file_patterns: Vec<String>,
    match_strings: Vec<String>,
    datasource_template: Option<String>,
}

/// One dependency a custom manager extracts.
#[derive(Debug, PartialEq)]
struct Dep {
    datasource: String,
    name: String,
    value: String,
    registry: Option<String>,
}

fn config(text: &str) -> Config {
    serde_json::from_str(text).expect("renovate.json parses")
}

/// A `managerFilePatterns` entry: `/regex/` (the only form used here; a glob is refused so the test
/// never guesses what Renovate would match).
fn file_pattern(pattern: &str) -> Regex {
    let inner = pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .unwrap_or_else(|| panic!("renovate.json: managerFilePatterns `{pattern}` is not a /regex/"));
    Regex::new(inner).unwrap_or_else(|e| panic!("renovate.json: managerFilePatterns `{pattern}`: {e}"))
}

/// What the custom managers extract from `rel` (a repository-relative path) whose content is `text`.
fn extract(config: &Config, rel: &str, text: &str) -> Vec<Dep> {
    let mut deps = Vec::new();
    for manager in config.custom_managers.iter().filter(|m| m.custom_type == "regex") {
        if !manager.manager_file_patterns.iter().any(|p| file_pattern(p).is_match(rel)) {
            continue;
        }
        for source in &manager.match_strings {
            let regex = Regex::new(source).unwrap_or_else(|e| panic!("renovate.json: matchStrings `{source}`: {e}"));
            for caps in regex.captures_iter(text) {
                let group = |name: &str| caps.name(name).map(|m| m.as_str().to_string());
                let datasource = group("datasource").or_else(|| manager.datasource_template.clone());
                deps.push(Dep {
                    datasource: datasource.unwrap_or_else(|| panic!("`{source}` gives no datasource")),
                    name: group("depName").unwrap_or_else(|| panic!("`{source}` captures no depName")),
                    value: group("currentValue").unwrap_or_else(|| panic!("`{source}` captures no currentValue")),
                    registry: group("registryUrl"),
                });
            }
        }
    }
    deps
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[derive(Deserialize)]
struct ReleaseList {
    release: Vec<Release>,
}

#[derive(Deserialize)]
struct Release {
    name: String,
    chart: String,
    repository: String,
    version: String,
}

/// The releases of a release list whose chart, repository and version no custom manager finds.
fn unseen_releases(config: &Config, list: &str) -> Vec<String> {
    let releases: ReleaseList = toml::from_str(list).expect("releases.toml parses");
    let deps = extract(config, "helm-values/releases.toml", list);
    releases
        .release
        .iter()
        .filter(|r| {
            !deps.iter().any(|d| {
                d.datasource == "helm"
                    && d.name == r.chart
                    && d.value == r.version
                    && d.registry.as_deref() == Some(r.repository.as_str())
            })
        })
        .map(|r| format!("release `{}` (chart {} {} from {})", r.name, r.chart, r.version, r.repository))
        .collect()
}

#[test]
fn renovate_sees_every_chart_of_the_release_list() {
    let config = config(&read("renovate.json"));
    let list = read("helm-values/releases.toml");
    let unseen = unseen_releases(&config, &list);
    assert!(
        unseen.is_empty(),
        "renovate.json's custom managers do not find {unseen:?} in helm-values/releases.toml: keep `chart`, \
         `repository` and `version` on consecutive lines, as every release has them"
    );
    // The check can fail: a release written another way is reported.
    let odd = format!(
        "{list}\n[[release]]\nname = \"odd\"\nversion = \"1.0.0\"\nchart = \"odd\"\nrepository = \"https://charts.example\"\n"
    );
    assert_eq!(unseen_releases(&config, &odd), ["release `odd` (chart odd 1.0.0 from https://charts.example)"]);
}

/// Every `tag:` a values file pins (an image tag above the chart's default), with where it is.
fn pinned_tags(value: &serde_norway::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_norway::Value::Mapping(map) => {
            for (k, v) in map {
                let key = k.as_str().unwrap_or_default();
                let here = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                match v.as_str() {
                    Some(tag) if key == "tag" && !tag.is_empty() => out.push((here, tag.to_string())),
                    // `image: <repository>:<tag>` (a container written out, as an init container is);
                    // a templated one (`{{ … }}`) takes its tag from a pinned key.
                    Some(image) if key == "image" && !image.contains("{{") => {
                        // After the registry host binding (`${terraform:registry_host}`), whose `:` is no tag's.
                        let image = match image.strip_prefix("${") {
                            Some(rest) => rest.split_once('}').map_or("", |(_, after)| after),
                            None => image,
                        };
                        if let Some((_, tag)) = image.rsplit_once(':').filter(|(repo, _)| !repo.is_empty()) {
                            out.push((here, tag.to_string()));
                        }
                    }
                    _ => pinned_tags(v, &here, out),
                }
            }
        }
        serde_norway::Value::Sequence(items) => items.iter().for_each(|v| pinned_tags(v, path, out)),
        _ => {}
    }
}

/// The `tag:` pins of one values file that no custom manager finds.
fn unseen_tags(config: &Config, rel: &str, text: &str) -> Vec<String> {
    let value: serde_norway::Value = serde_norway::from_str(text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut tags = Vec::new();
    pinned_tags(&value, "", &mut tags);
    let deps = extract(config, rel, text);
    tags.into_iter()
        .filter(|(_, tag)| !deps.iter().any(|d| &d.value == tag && !d.name.is_empty()))
        .map(|(path, tag)| format!("{rel}: {path} = {tag}"))
        .collect()
}

#[test]
fn renovate_sees_every_image_tag_pinned_in_values() {
    let config = config(&read("renovate.json"));
    let mut unseen = Vec::new();
    let mut seen = 0;
    for dir in std::fs::read_dir(repo_root().join("helm-values")).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("values") && name.ends_with(".yaml")) {
                continue;
            }
            let rel = format!("helm-values/{}/{name}", dir.file_name().to_string_lossy());
            let text = read(&rel);
            seen += extract(&config, &rel, &text).len();
            unseen.extend(unseen_tags(&config, &rel, &text));
        }
    }
    assert!(
        unseen.is_empty(),
        "image tags pinned where renovate.json does not look: {unseen:?}; put \
         `# renovate: datasource=docker depName=<image>` on the line above each"
    );
    assert!(seen >= 1, "the values files pin image tags (cluster-autoscaler's at least), and Renovate finds them");
    // The check can fail: a tag pinned without the annotation is reported.
    let bare = "image:\n  repository: example.org/thing\n  tag: v1.2.3\n";
    assert_eq!(
        unseen_tags(&config, "helm-values/thing/values.yaml", bare),
        ["helm-values/thing/values.yaml: image.tag = v1.2.3"]
    );
    let written_out = "initContainers:\n  - name: plugin\n    image: example.org/plugin:v0.1.0\n";
    assert_eq!(
        unseen_tags(&config, "helm-values/thing/values.yaml", written_out),
        ["helm-values/thing/values.yaml: initContainers.image = v0.1.0"]
    );
    // An image written out through the pull-through cache is seen (its depName is the upstream image).
    let cached = "initContainers:\n  - name: plugin\n    # renovate: datasource=docker depName=ghcr.io/x/plugin\n    image: \"${terraform:registry_host}/github/x/plugin:v0.1.0\"\n";
    assert_eq!(unseen_tags(&config, "helm-values/thing/values.yaml", cached), Vec::<String>::new());
    let deps = extract(&config, "helm-values/thing/values.yaml", cached);
    assert_eq!(
        deps.iter().map(|d| (d.name.as_str(), d.value.as_str())).collect::<Vec<_>>(),
        [("ghcr.io/x/plugin", "v0.1.0")]
    );
}

/// What `tools install` installs, from its dry run: npm packages (`name@version`) and pip requirements.
fn installed_pins(dry_run: &str) -> (Vec<String>, Vec<String>) {
    let mut npm = Vec::new();
    let mut pip = Vec::new();
    for line in dry_run.lines().map(str::trim).filter_map(|l| l.strip_prefix("$ ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.starts_with(&["npm", "pack"]) {
            npm.push(words[2].to_string());
        } else if words.first().is_some_and(|w| w.ends_with("/pip")) && words.get(1) == Some(&"install") {
            pip.push(words.last().unwrap().trim_matches('\'').to_string());
        }
    }
    (npm, pip)
}

#[test]
fn renovate_sees_every_tool_the_project_installs() {
    let config = config(&read("renovate.json"));
    let out = Sandbox::new().run(&["tools", "install", "--dry-run"]);
    out.assert_code(0);
    let (npm, pip) = installed_pins(&out.stdout());
    assert!(
        !npm.is_empty() && pip.len() >= 3,
        "the dry run shows the npm package and the pip installs:\n{}",
        out.stdout()
    );
    let deps = extract(&config, "xtask/src/tools/mod.rs", &read("xtask/src/tools/mod.rs"));
    let found = |datasource: &str, name: &str, version: &str| {
        deps.iter().any(|d| d.datasource == datasource && d.name == name && d.value == version)
    };
    let mut unseen: Vec<&String> = npm
        .iter()
        .filter(|p| {
            let (name, version) = p.rsplit_once('@').unwrap();
            !found("npm", name, version)
        })
        .collect();
    unseen.extend(pip.iter().filter(|r| {
        let (name, version) = r.split_once("==").unwrap_or_else(|| panic!("`{r}` is not pinned with =="));
        !found("pypi", name.split('[').next().unwrap(), version)
    }));
    assert!(
        unseen.is_empty(),
        "tools install installs {unseen:?}, which renovate.json's managers don't find in xtask/src/tools/mod.rs"
    );
}

#[test]
fn renovate_keeps_its_builtin_managers_for_terraform_actions_and_cargo() {
    let config = config(&read("renovate.json"));
    let enabled = &config.enabled_managers;
    for manager in ["custom.regex", "terraform", "github-actions", "cargo", "rust-toolchain"] {
        assert!(enabled.is_empty() || enabled.iter().any(|m| m == manager), "renovate.json must enable `{manager}`");
    }
    assert!(
        config.extends.iter().any(|e| e == "helpers:pinGitHubActionDigests"),
        "actions stay pinned to a commit SHA (helpers:pinGitHubActionDigests)"
    );
    // What those managers read is there to read.
    let root = repo_root();
    let count = |dir: &str, name: &dyn Fn(&str) -> bool| {
        crate::common::walk(&root.join(dir))
            .iter()
            .filter(|p| !p.components().any(|c| c.as_os_str() == ".terraform"))
            .filter(|p| name(&p.file_name().unwrap().to_string_lossy()))
            .count()
    };
    let kinds = [
        ("terraform versions.tf", count("terraform", &|n| n == "versions.tf")),
        ("workflow", count(".github/workflows", &|n| n.ends_with(".yml") || n.ends_with(".yaml"))),
        ("Cargo.toml", count("xtask", &|n| n == "Cargo.toml")),
    ];
    for (kind, n) in kinds {
        assert!(n > 0, "no {kind} found for Renovate's built-in manager");
    }
    assert!(Path::new(&root.join("Cargo.lock")).is_file(), "Cargo.lock, which lock file maintenance refreshes");
}
