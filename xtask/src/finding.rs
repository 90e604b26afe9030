//! [`Finding`]: one problem a check found — file, line where there is one, message. A leaf type every
//! check returns (terraform conventions, kubernetes policies, the release list, checkov).

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem: where (file, line) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl Finding {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Finding {
        Finding { file: file.to_path_buf(), line, message: message.into() }
    }

    /// The finding with its file shown relative to `root`.
    pub fn relative_to(mut self, root: &Path) -> Finding {
        if let Ok(rel) = self.file.strip_prefix(root) {
            self.file = rel.to_path_buf();
        }
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}
