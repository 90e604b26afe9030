//! The run journal: `<work>/journal/<pipeline>.json`, written after every step; what `--resume`,
//! `--from` and `--only` read.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Done,
    Skipped,
    Failed,
    Interrupted,
}

#[derive(Serialize, Deserialize, Debug)]
pub(super) struct Journal {
    pub(super) pipeline: String,
    pub(super) steps: Vec<JournalStep>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub(super) struct JournalStep {
    pub(super) name: String,
    pub(super) status: Status,
    pub(super) seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<String>,
}

/// Writes the journal; a step's note passes through the secrets registry like every printed line (the
/// journal is uploaded as a CI artifact).
pub(super) fn save_journal(journal: &Journal, work: &Path, invocation: &str) -> Result<()> {
    let path = work.join("journal").join(format!("{}.json", invocation.replace(' ', "-")));
    let text = serde_json::to_string_pretty(journal).context("serialising the journal")?;
    let text = crate::redact::apply(&text);
    fs::write(&path, text.as_ref()).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal is uploaded as a CI artifact: a note that holds a registered secret is masked.
    #[test]
    fn notes_are_masked_in_the_saved_journal() {
        crate::redact::add("journal-secret-value-42");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("journal")).unwrap();
        let journal = Journal {
            pipeline: "x".into(),
            steps: vec![JournalStep {
                name: "s".into(),
                status: Status::Done,
                seconds: 1.0,
                note: Some("made with journal-secret-value-42".into()),
            }],
        };
        save_journal(&journal, dir.path(), "x dev").unwrap();
        let text = std::fs::read_to_string(dir.path().join("journal/x-dev.json")).unwrap();
        assert!(text.contains("made with ***") && !text.contains("journal-secret-value-42"), "{text}");
    }
}
