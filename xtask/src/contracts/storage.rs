//! The storage contract: every volume claim names a StorageClass that exists, or a default exists.
//!
//! Claims are the overlay's PersistentVolumeClaims and StatefulSet `volumeClaimTemplates`, and in the
//! merged Helm values of each release the environment gets: every `persistence` block (unless
//! `enabled: false`; its class is `storageClass` or `storageClassName`), every `volumeClaimTemplate`
//! (`spec.storageClassName`), and any other `storageClassName` / `storageClass` key. Classes are the
//! overlay's StorageClass objects; the default one carries
//! `storageclass.kubernetes.io/is-default-class: "true"`. A claim without a class (or with the charts'
//! empty string) takes the default; a PVC's `storageClassName: ""` (a chart's `-`) asks for no class
//! and binds only a PersistentVolume made by hand, which the overlay doesn't hold.

use serde_norway::Value;

use super::workflows::key_line;
use super::{HelmRelease, Inputs, Object};
use crate::finding::Finding;

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// What a claim asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Class {
    Default,
    Named(String),
    /// `""` on a claim (a chart's `-`): static binding only.
    None,
}

/// The overlay's StorageClasses: (name, whether it is the default).
pub fn classes(objects: &[Object]) -> Vec<(String, bool)> {
    objects
        .iter()
        .filter(|o| o.kind == "StorageClass")
        .map(|o| (o.name.clone(), o.text(&["metadata", "annotations", DEFAULT_CLASS]) == Some("true")))
        .collect()
}

fn claim_class(v: Option<&Value>, chart: bool) -> Class {
    match v.and_then(Value::as_str) {
        None => Class::Default,
        Some("") if chart => Class::Default,
        Some("") | Some("-") => Class::None,
        Some(name) => Class::Named(name.to_string()),
    }
}

/// The claims in Helm values: (key path, the class key's path if set, the class).
pub fn value_claims(values: &Value) -> Vec<(Vec<String>, Class)> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Class)>) {
        let Some(map) = v.as_mapping() else { return };
        for (k, child) in map {
            let Some(key) = k.as_str() else { continue };
            path.push(key.to_string());
            match key {
                "persistence" if child.is_mapping() => {
                    if child.get("enabled").and_then(Value::as_bool) != Some(false) {
                        let at = ["storageClass", "storageClassName"].into_iter().find(|k| child.get(*k).is_some());
                        let class = claim_class(at.and_then(|k| child.get(k)), true);
                        let mut p = path.clone();
                        p.extend(at.map(str::to_string));
                        out.push((p, class));
                    }
                }
                "volumeClaimTemplate" if child.is_mapping() => {
                    let spec = child.get("spec").unwrap_or(child);
                    let set = spec.get("storageClassName");
                    let mut p = path.clone();
                    if set.is_some() {
                        p.extend(child.get("spec").map(|_| "spec".to_string()));
                        p.push("storageClassName".into());
                    }
                    out.push((p, claim_class(set, false)));
                }
                "storageClass" | "storageClassName" if child.as_str().is_some_and(|s| !s.is_empty()) => {
                    out.push((path.clone(), claim_class(Some(child), true)));
                }
                _ => walk(child, path, out),
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(values, &mut Vec::new(), &mut out);
    out
}

/// What is wrong with a claim of `class` among `classes`, if anything.
fn problem(class: &Class, classes: &[(String, bool)], overlay: &str) -> Option<String> {
    let have: Vec<&str> = classes.iter().map(|(n, _)| n.as_str()).collect();
    let have = if have.is_empty() { "none".to_string() } else { have.join(", ") };
    match class {
        Class::Named(name) if !classes.iter().any(|(n, _)| n == name) => {
            Some(format!("names StorageClass `{name}`, which the overlay `{overlay}` doesn't have (it has: {have})"))
        }
        Class::Default if !classes.iter().any(|(_, d)| *d) => Some(format!(
            "takes the default StorageClass, but no StorageClass of the overlay `{overlay}` is marked `{DEFAULT_CLASS}: \"true\"` (it has: {have})"
        )),
        Class::None => Some(
            "asks for no StorageClass (\"\"): it binds only a PersistentVolume made by hand, and there is none".into(),
        ),
        _ => None,
    }
}

/// A finding at a values path: the environment's file when it sets the path, else the shared one.
pub(super) fn at_values(release: &HelmRelease, path: &[String], message: String) -> Finding {
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    for file in release.files.iter().rev() {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if let Some(line) = key_line(&text, &keys) {
            return Finding::new(file, Some(line), format!("release {}: {message}", release.release.name));
        }
    }
    release.finding(message)
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let classes = classes(&inputs.overlay.objects);
    let overlay = inputs.env.overlay();
    let mut findings = Vec::new();
    for o in &inputs.overlay.objects {
        let claims: Vec<(String, Class)> = match o.kind.as_str() {
            "PersistentVolumeClaim" => {
                vec![("".into(), claim_class(o.value.get("spec").and_then(|s| s.get("storageClassName")), false))]
            }
            "StatefulSet" => o
                .value
                .get("spec")
                .and_then(|s| s.get("volumeClaimTemplates"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|t| {
                    let name = t.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("?");
                    (
                        format!("volumeClaimTemplate `{name}` "),
                        claim_class(t.get("spec").and_then(|s| s.get("storageClassName")), false),
                    )
                })
                .collect(),
            _ => continue,
        };
        for (what, class) in claims {
            if let Some(p) = problem(&class, &classes, overlay) {
                findings.push(o.finding(&inputs.overlay.dir, format!("{what}{p}")));
            }
        }
    }
    for release in &inputs.releases {
        for (path, class) in value_claims(&release.values) {
            if let Some(p) = problem(&class, &classes, overlay) {
                let key = path.join(".");
                findings.push(at_values(release, &path, format!("`{key}` {p}")));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_in_values_take_their_class_or_the_default() {
        let values: Value = serde_norway::from_str(
            "loki:\n  singleBinary:\n    persistence: {size: 10Gi}\ntempo:\n  persistence: {enabled: false}\nprometheus:\n  storageSpec:\n    volumeClaimTemplate:\n      spec: {storageClassName: gp2}\nglobal: {storageClass: fast}\nraw:\n  persistence: {storageClass: '-'}\n",
        )
        .unwrap();
        let found: Vec<(String, Class)> = value_claims(&values).into_iter().map(|(p, c)| (p.join("."), c)).collect();
        assert_eq!(
            found,
            [
                ("loki.singleBinary.persistence".to_string(), Class::Default),
                (
                    "prometheus.storageSpec.volumeClaimTemplate.spec.storageClassName".to_string(),
                    Class::Named("gp2".into())
                ),
                ("global.storageClass".to_string(), Class::Named("fast".into())),
                ("raw.persistence.storageClass".to_string(), Class::None),
            ]
        );
        let gp3 = [("gp3".to_string(), true)];
        assert_eq!(problem(&Class::Default, &gp3, "dev"), None);
        assert_eq!(
            problem(&Class::Named("gp2".into()), &gp3, "dev").unwrap(),
            "names StorageClass `gp2`, which the overlay `dev` doesn't have (it has: gp3)"
        );
        assert!(problem(&Class::Default, &[("gp3".into(), false)], "dev")
            .unwrap()
            .starts_with("takes the default StorageClass, but no StorageClass of the overlay `dev` is marked"));
    }
}
