//! The binding contract: every `${terraform:NAME}` / `${terraform:NAME.KEY}` in the rendered overlay
//! names an output of the environment's `stack` (and, with a KEY, a key of that map output) in the
//! plan — so `deploy` can bind it.

use super::Inputs;
use crate::finding::Finding;

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let mut findings = Vec::new();
    for o in &inputs.overlay.objects {
        let text = serde_norway::to_string(&o.value).unwrap_or_default();
        let mut seen = Vec::new();
        for b in crate::bindings::references(&text) {
            if seen.contains(&b.text) {
                continue;
            }
            seen.push(b.text.clone());
            let missing = if !plan.has_output(&b.name) {
                Some(format!("the stack has no output `{}` in {}", b.name, plan.path.display()))
            } else {
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
            };
            if let Some(why) = missing {
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
