//! The one error type of rule loading: where in which file, which keyword, what is wrong.

use std::fmt;

/// A rule that could not be loaded, or a rule file that could not be read.
///
/// Displayed as `file:line:col: keyword: what is wrong` (the keyword part is left out when the
/// problem is not tied to one keyword, e.g. a missing `(`). Lines and columns count from 1; a
/// column of 0 means "the whole line" and a line of 0 "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// File name as given to the loader (`<text>` for rules given as a string).
    pub file: String,
    /// Line of the rule text where the problem is.
    pub line: usize,
    /// Column (in characters) on that line.
    pub col: usize,
    /// The keyword whose value is wrong, if any.
    pub keyword: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if let Some(k) = &self.keyword {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// An error found while parsing one rule, before the loader knows the file name and the
/// line/column mapping: a byte offset into the rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the (joined) rule text.
    pub offset: usize,
    /// The keyword concerned, if any.
    pub keyword: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// An error at `offset` not tied to a keyword.
    pub fn at(offset: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            keyword: None,
            message: message.into(),
        }
    }

    /// An error about the keyword `keyword` found at `offset`.
    pub fn keyword(offset: usize, keyword: &str, message: impl Into<String>) -> ParseError {
        ParseError {
            offset,
            keyword: Some(keyword.to_string()),
            message: message.into(),
        }
    }
}

/// Result of parsing one keyword value: a message only; the caller knows where and which.
pub(crate) type ValueResult<T> = Result<T, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_keyword() {
        let e = RuleError {
            file: "a.rules".into(),
            line: 3,
            col: 17,
            keyword: Some("depth".into()),
            message: "depth is smaller than the content".into(),
        };
        assert_eq!(
            e.to_string(),
            "a.rules:3:17: depth: depth is smaller than the content"
        );
        let e = RuleError {
            keyword: None,
            message: "missing (".into(),
            ..e
        };
        assert_eq!(e.to_string(), "a.rules:3:17: missing (");
    }
}
