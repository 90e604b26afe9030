//! The binding contract: every `${terraform:NAME}` / `${terraform:NAME.KEY}` in the rendered overlay
//! names an output of the environment's `stack` (and, with a KEY, a key of that map output) in the
//! plan — so `deploy` can bind it. The same for each output reference a release's values files name
//! (`deploy` binds those before helm reads them: [`crate::bindings::bind_values`]).

use super::Inputs;
use crate::finding::Finding;

/// Why the plan can't bind `b`, or `None` when it can.
fn unbindable(plan: &super::Plan, b: &crate::bindings::Binding) -> Option<String> {
    if !plan.has_output(&b.name) {
        return Some(format!("the stack has no output `{}` in {}", b.name, plan.path.display()));
    }
    match (&b.key, plan.output_keys(&b.name)) {
        (Some(key), Some(keys)) if !keys.contains(key) => Some(format!(
            "the stack output `{}` has no key `{key}` in {} ({})",
            b.name,
            plan.path.display(),
            match keys.is_empty() {
                true => "it is an empty map here".to_string(),
                false => format!("its keys: {}", keys.into_iter().collect::<Vec<_>>().join(", ")),
            }
        )),
        _ => None,
    }
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let mut findings = Vec::new();
    for release in &inputs.releases {
        let mut seen = Vec::new();
        for file in &release.files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for b in crate::bindings::references(&text).into_iter().filter(crate::bindings::is_output_reference) {
                if seen.contains(&b.text) {
                    continue;
                }
                seen.push(b.text.clone());
                if let Some(why) = unbindable(plan, &b) {
                    findings.push(release.finding_at(&b.text, format!("{} can't be bound: {why}", b.text)));
                }
            }
        }
    }
    for o in &inputs.overlay.objects {
        let text = serde_norway::to_string(&o.value).unwrap_or_default();
        let mut seen = Vec::new();
        for b in crate::bindings::references(&text) {
            if seen.contains(&b.text) {
                continue;
            }
            seen.push(b.text.clone());
            if let Some(why) = unbindable(plan, &b) {
                let at = inputs.overlay.locate(&b.text);
                let mut f = o.finding(&inputs.overlay.dir, format!("{} can't be bound: {why}", b.text));
                if let Some((file, line)) = at {
                    (f.file, f.line) = (file, Some(line));
                }
                findings.push(f);
            }
        }
    }
    findings
}
