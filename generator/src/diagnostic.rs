//! Problems found in a spec, each with the file, a JSON pointer to the
//! spot, and a sentence saying what is wrong and what to do.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Generation goes on, but the user should know (a construct typed
    /// loosely, an unsupported part skipped).
    Warning,
    /// Nothing is written.
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The spec file, as the user named it.
    pub file: String,
    /// A JSON pointer (RFC 6901) into that file; empty for the whole file.
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{level}: {}#{}: {}",
            self.file, self.pointer, self.message
        )
    }
}

/// Collects the diagnostics of one spec file.
#[derive(Debug, Default)]
pub struct Diagnostics {
    file: String,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>) -> Self {
        Diagnostics {
            file: file.into(),
            items: Vec::new(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn error(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, pointer.into(), message.into());
    }

    pub fn warning(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, pointer.into(), message.into());
    }

    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.severity == Severity::Error)
            .count()
    }

    fn push(&mut self, severity: Severity, pointer: String, message: String) {
        let diagnostic = Diagnostic {
            severity,
            file: self.file.clone(),
            pointer,
            message,
        };
        // The same schema reached from two places reports once.
        if !self.items.contains(&diagnostic) {
            self.items.push(diagnostic);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for diagnostic in other.items {
            if !self.items.contains(&diagnostic) {
                self.items.push(diagnostic);
            }
        }
    }
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn push_pointer(pointer: &str, token: &str) -> String {
    let token = token.replace('~', "~0").replace('/', "~1");
    format!("{pointer}/{token}")
}

/// The reference tokens of a JSON pointer, unescaped.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let pointer = push_pointer("/paths", "/opportunity/{id}/");
        assert_eq!(pointer, "/paths/~1opportunity~1{id}~1");
        assert_eq!(
            pointer_tokens(&push_pointer(&pointer, "a~b")),
            ["paths", "/opportunity/{id}/", "a~b"]
        );
    }
}
