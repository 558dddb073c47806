//! Reads rules from text, files and directories.
//!
//! A rule file holds one rule per line; a line ending in `\` continues on the next one; blank
//! lines and lines starting with `#` (disabled rules included) are skipped. A directory
//! loads every `*.rules` file in it, in name order. Each rule is parsed, its addresses and
//! ports resolved with the [`Vars`], its classtype looked up; a second rule with the same
//! `(gid, sid)` is an error. By default the first error stops loading; with
//! [`LoadOptions::skip_invalid`] the rest still load and the bad ones are listed in
//! [`LoadedRules::skipped`] with their errors.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::classification::{ClassType, Classifications};
use super::error::{ParseError, RuleError};
use super::header::{AddrMatch, PortMatch};
use super::lexer::lex;
use super::parser::parse_rule;
use super::vars::Vars;
use super::Rule;

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Address and port variables. By default every documented group is `any`.
    pub vars: Vars,
    /// Classtypes. By default the shipped `signatures/classification.config`.
    pub classifications: Classifications,
    /// Keep loading after a bad rule (and list it) instead of failing. By default off.
    pub skip_invalid: bool,
}

/// A rule that loaded, with where it came from and its resolved header.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// The rule.
    pub rule: Rule,
    /// File it came from (`<text>` for text).
    pub file: String,
    /// Line it starts on.
    pub line: usize,
    /// Source addresses, resolved.
    pub src: AddrMatch,
    /// Source ports, resolved.
    pub src_ports: PortMatch,
    /// Destination addresses, resolved.
    pub dst: AddrMatch,
    /// Destination ports, resolved.
    pub dst_ports: PortMatch,
    /// Its classtype, when it names one.
    pub class: Option<ClassType>,
}

/// A rule that did not load (in `skip_invalid` mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRule {
    /// The rule's text (continuation lines joined).
    pub text: String,
    /// Why.
    pub error: RuleError,
}

/// Rules loaded so far.
#[derive(Debug, Clone, Default)]
pub struct LoadedRules {
    /// Rules that loaded, in load order.
    pub rules: Vec<LoadedRule>,
    /// Rules that did not (only in `skip_invalid` mode).
    pub skipped: Vec<SkippedRule>,
    ids: HashSet<(u32, u32)>,
}

/// Loads rules from a string; `name` stands for the file name in errors.
pub fn load_text(name: &str, text: &str, opts: &LoadOptions) -> Result<LoadedRules, RuleError> {
    let mut l = LoadedRules::default();
    l.add_text(name, text, opts)?;
    Ok(l)
}

/// Loads one rule file.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<LoadedRules, RuleError> {
    let mut l = LoadedRules::default();
    l.add_file(path, opts)?;
    Ok(l)
}

/// Loads every `*.rules` file of a directory, in name order.
pub fn load_dir(path: &Path, opts: &LoadOptions) -> Result<LoadedRules, RuleError> {
    let mut l = LoadedRules::default();
    l.add_dir(path, opts)?;
    Ok(l)
}

fn io_error(path: &Path, e: std::io::Error) -> RuleError {
    RuleError {
        file: path.display().to_string(),
        line: 0,
        col: 0,
        keyword: None,
        message: format!("can't read: {e}"),
    }
}

/// Where a byte offset of a joined rule lies in the file.
struct Segments {
    /// (offset in the joined text, line number).
    starts: Vec<(usize, usize)>,
}

impl Segments {
    fn locate(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let (start, line) = self
            .starts
            .iter()
            .rev()
            .find(|(s, _)| *s <= offset)
            .copied()
            .unwrap_or((0, 0));
        let col = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }
}

impl LoadedRules {
    /// Loads more rules from a string.
    pub fn add_text(
        &mut self,
        name: &str,
        text: &str,
        opts: &LoadOptions,
    ) -> Result<(), RuleError> {
        let mut buf = String::new();
        let mut segs = Segments { starts: Vec::new() };
        let lines: Vec<&str> = text.lines().collect();
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if buf.is_empty() {
                let t = line.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
            }
            segs.starts.push((buf.len(), i + 1));
            let trimmed = line.trim_end();
            if let Some(cont) = trimmed.strip_suffix('\\') {
                buf.push_str(cont);
                if i + 1 < lines.len() {
                    continue;
                }
            } else {
                buf.push_str(line);
            }
            self.add_one(name, &buf, &segs, opts)?;
            buf.clear();
            segs.starts.clear();
        }
        Ok(())
    }

    /// Loads more rules from a file.
    pub fn add_file(&mut self, path: &Path, opts: &LoadOptions) -> Result<(), RuleError> {
        let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        self.add_text(&path.display().to_string(), &text, opts)
    }

    /// Loads a file, or every `*.rules` file of a directory (in name order).
    pub fn add_path(&mut self, path: &Path, opts: &LoadOptions) -> Result<(), RuleError> {
        if path.is_dir() {
            self.add_dir(path, opts)
        } else {
            self.add_file(path, opts)
        }
    }

    /// Loads every `*.rules` file of a directory, in name order.
    pub fn add_dir(&mut self, path: &Path, opts: &LoadOptions) -> Result<(), RuleError> {
        let mut files: Vec<_> = fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rules") && p.is_file())
            .collect();
        files.sort();
        for f in files {
            self.add_file(&f, opts)?;
        }
        Ok(())
    }

    fn add_one(
        &mut self,
        file: &str,
        text: &str,
        segs: &Segments,
        opts: &LoadOptions,
    ) -> Result<(), RuleError> {
        match self.build(file, text, segs, opts) {
            Ok(r) => {
                self.rules.push(r);
                Ok(())
            }
            Err(e) => {
                let error = {
                    let (line, col) = segs.locate(text, e.offset);
                    RuleError {
                        file: file.to_string(),
                        line,
                        col,
                        keyword: e.keyword,
                        message: e.message,
                    }
                };
                if opts.skip_invalid {
                    self.skipped.push(SkippedRule {
                        text: text.trim().to_string(),
                        error,
                    });
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    fn build(
        &mut self,
        file: &str,
        text: &str,
        segs: &Segments,
        opts: &LoadOptions,
    ) -> Result<LoadedRule, ParseError> {
        let rule = parse_rule(text)?;
        // The parser succeeded, so the text lexes; offsets point errors at the right words.
        let lexed = lex(text)?;
        let header_at = |i: usize| lexed.header.get(i).map_or(0, |t| t.offset);
        let option_at = |kw: &str| {
            lexed
                .options
                .iter()
                .find(|o| o.name.text == kw)
                .map_or(0, |o| o.name.offset)
        };
        let src = rule
            .src
            .resolve(&opts.vars)
            .map_err(|m| ParseError::at(header_at(2), m))?;
        let src_ports = rule
            .src_ports
            .resolve(&opts.vars)
            .map_err(|m| ParseError::at(header_at(3), m))?;
        let dst = rule
            .dst
            .resolve(&opts.vars)
            .map_err(|m| ParseError::at(header_at(5), m))?;
        let dst_ports = rule
            .dst_ports
            .resolve(&opts.vars)
            .map_err(|m| ParseError::at(header_at(6), m))?;
        let class = match rule.classtype() {
            Some(name) => Some(opts.classifications.get(name).cloned().ok_or_else(|| {
                ParseError::keyword(
                    option_at("classtype"),
                    "classtype",
                    format!("unknown classtype `{name}`"),
                )
            })?),
            None => None,
        };
        let id = (rule.gid(), rule.sid());
        if !self.ids.insert(id) {
            return Err(ParseError::keyword(
                option_at("sid"),
                "sid",
                format!("duplicate rule id {}:{}", id.0, id.1),
            ));
        }
        let _ = file;
        let line = segs.starts.first().map_or(0, |s| s.1);
        Ok(LoadedRule {
            rule,
            file: file.to_string(),
            line,
            src,
            src_ports,
            dst,
            dst_ports,
            class,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> LoadOptions {
        LoadOptions::default()
    }

    #[test]
    fn comments_blank_lines_and_continuations() {
        let text = "# a comment\n\n  # indented comment\n#alert ip any any -> any any (sid:9;)\n\
                    alert ip any any -> any any (msg:\"one\"; \\\n   sid:1;)\r\n\
                    alert tcp any any -> any 80 (sid:2;)\n";
        let l = load_text("t.rules", text, &opts()).unwrap();
        assert_eq!(l.rules.len(), 2);
        assert_eq!(l.rules[0].rule.msg(), "one");
        assert_eq!(l.rules[0].line, 5);
        assert_eq!(l.rules[1].line, 7);
        assert_eq!(l.rules[1].file, "t.rules");
        assert!(l.rules[1].dst_ports.matches(80));
        assert!(!l.rules[1].dst_ports.matches(81));
    }

    #[test]
    fn error_positions() {
        let text = "alert ip any any -> any any (sid:1;)\n\
                    alert ip any any -> any any (msg:\"x\"; \\\n  depth:3; sid:2;)\n";
        let e = load_text("f.rules", text, &opts()).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.col, 3);
        assert_eq!(e.keyword.as_deref(), Some("depth"));
        assert_eq!(
            e.to_string(),
            "f.rules:3:3: depth: needs a preceding content"
        );
    }

    #[test]
    fn variables_resolve_or_fail() {
        let mut o = opts();
        o.vars.set("HOME_NET", "[10.0.0.0/8]");
        let l = load_text(
            "<text>",
            "alert http any any -> $HOME_NET $HTTP_PORTS (sid:1;)",
            &o,
        )
        .unwrap();
        assert!(l.rules[0].dst.matches("10.1.1.1".parse().unwrap()));
        assert!(!l.rules[0].dst.matches("11.1.1.1".parse().unwrap()));
        let e = load_text("<text>", "alert http any any -> $NOPE any (sid:1;)", &o).unwrap_err();
        assert_eq!(e.col, 23);
        assert!(e.message.contains("undefined variable `$NOPE`"));
        assert!(e.keyword.is_none());
    }

    #[test]
    fn classtypes_and_duplicates() {
        let l = load_text(
            "<text>",
            "alert ip any any -> any any (classtype:attempted-admin; sid:1;)",
            &opts(),
        )
        .unwrap();
        let c = l.rules[0].class.as_ref().unwrap();
        assert_eq!(c.priority, 1);
        let e = load_text(
            "<text>",
            "alert ip any any -> any any (classtype:nope; sid:1;)",
            &opts(),
        )
        .unwrap_err();
        assert_eq!(e.keyword.as_deref(), Some("classtype"));
        assert!(e.message.contains("unknown classtype"));
        let dup = "alert ip any any -> any any (sid:1;)\nalert ip any any -> any any (sid:1;)\n\
                   alert ip any any -> any any (gid:2; sid:1;)\n";
        let e = load_text("d.rules", dup, &opts()).unwrap_err();
        assert_eq!((e.line, e.keyword.as_deref()), (2, Some("sid")));
        assert!(e.message.contains("duplicate rule id 1:1"));
    }

    #[test]
    fn skip_invalid_keeps_the_rest() {
        let mut o = opts();
        o.skip_invalid = true;
        let text = "alert ip any any -> any any (sid:1;)\n\
                    alert ip any any -> any any (byte_test:1,=,1,0; sid:2;)\n\
                    alert ip any any -> any any (sid:1;)\n\
                    alert ip any any -> any any (sid:3;)\n";
        let l = load_text("s.rules", text, &o).unwrap();
        assert_eq!(l.rules.len(), 2);
        assert_eq!(l.skipped.len(), 2);
        assert_eq!(l.skipped[0].error.keyword.as_deref(), Some("byte_test"));
        assert_eq!(l.skipped[0].error.message, "unsupported keyword");
        assert_eq!(l.skipped[0].error.line, 2);
        assert!(l.skipped[1].error.message.contains("duplicate"));
        assert!(l.skipped[1].text.starts_with("alert ip"));
    }

    #[test]
    fn files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("b.rules"),
            "alert ip any any -> any any (sid:2;)\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("a.rules"),
            "alert ip any any -> any any (sid:1;)\n",
        )
        .unwrap();
        fs::write(dir.path().join("c.txt"), "garbage\n").unwrap();
        let l = load_dir(dir.path(), &opts()).unwrap();
        let sids: Vec<u32> = l.rules.iter().map(|r| r.rule.sid()).collect();
        assert_eq!(sids, vec![1, 2]);
        assert!(l.rules[0].file.ends_with("a.rules"));
        let l = load_file(&dir.path().join("b.rules"), &opts()).unwrap();
        assert_eq!(l.rules.len(), 1);
        let mut both = LoadedRules::default();
        both.add_path(&dir.path().join("a.rules"), &opts()).unwrap();
        both.add_path(dir.path(), &opts()).unwrap_err();
        let e = load_file(&dir.path().join("none.rules"), &opts()).unwrap_err();
        assert!(e.message.starts_with("can't read"));
        assert!(load_dir(&dir.path().join("nodir"), &opts()).is_err());
        // Duplicates across files.
        fs::write(
            dir.path().join("d.rules"),
            "alert ip any any -> any any (sid:1;)\n",
        )
        .unwrap();
        assert!(load_dir(dir.path(), &opts()).is_err());
    }

    #[test]
    fn continuation_at_end_of_file() {
        let l = load_text("<text>", "alert ip any any -> any any (sid:1;) \\", &opts());
        assert_eq!(l.unwrap().rules.len(), 1);
    }
}
