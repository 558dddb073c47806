//! The first line of a message — a request line or a status line — kept once, with the places
//! of its three parts beside it.
//!
//! Why: the method, the target and the protocol of a request (the protocol and the reason of
//! a response) are pieces of that line. Copied out on their own they were three allocations a
//! request and two a response, on every transaction of ordinary traffic; as places in the
//! line they cost nothing.

/// A start line and where its parts are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartLine {
    text: Vec<u8>,
    /// `text[start..end]` for each part.
    parts: [(u32, u32); 3],
}

impl StartLine {
    /// A request line: the method, the target and the protocol are its first three words
    /// between runs of spaces (words past the third are part of nothing).
    pub fn request(line: &[u8]) -> StartLine {
        let mut parts = [(0, 0); 3];
        let mut words = line
            .split(|b| *b == b' ')
            .filter(|w| !w.is_empty())
            .map(|w| place_of(line, w));
        for part in &mut parts {
            match words.next() {
                Some(place) => *part = place,
                None => break,
            }
        }
        StartLine {
            text: line.to_vec(),
            parts,
        }
    }

    /// A line whose three parts the caller found, each a slice of `line` (a part that is not
    /// is read as empty).
    pub fn from_parts(line: &[u8], parts: [&[u8]; 3]) -> StartLine {
        StartLine {
            text: line.to_vec(),
            parts: parts.map(|p| place_of(line, p)),
        }
    }

    /// The line of `words` joined by single spaces (an empty word leaves two spaces side by
    /// side), each word a part: for messages made rather than read.
    pub fn from_words(words: [&[u8]; 3]) -> StartLine {
        let mut text = Vec::with_capacity(words.iter().map(|w| w.len() + 1).sum());
        let mut parts = [(0, 0); 3];
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                text.push(b' ');
            }
            let start = text.len();
            text.extend_from_slice(word);
            parts[i] = place(start, text.len());
        }
        StartLine { text, parts }
    }

    /// The whole line, without its line ending.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Part `index` (0, 1 or 2); empty when the line has none.
    pub fn part(&self, index: usize) -> &[u8] {
        let (start, end) = self.parts.get(index).copied().unwrap_or_default();
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
    }
}

/// Where `part`, a slice of `line`, lies in it; `(0, 0)` when it is not a slice of `line`.
fn place_of(line: &[u8], part: &[u8]) -> (u32, u32) {
    let start = (part.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if end <= line.len() && !part.is_empty() => place(start, end),
        _ => (0, 0),
    }
}

/// `start..end` as a place; `(0, 0)` past 4 GiB (lines are capped far below: a head is at
/// most `max_header_bytes`).
fn place(start: usize, end: usize) -> (u32, u32) {
    match (u32::try_from(start), u32::try_from(end)) {
        (Ok(s), Ok(e)) => (s, e),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_split_on_runs_of_spaces() {
        let l = StartLine::request(b"POST  /ecp/y.js?a=%41   HTTP/1.1");
        assert_eq!(l.text(), b"POST  /ecp/y.js?a=%41   HTTP/1.1");
        assert_eq!(
            [l.part(0), l.part(1), l.part(2)],
            [&b"POST"[..], b"/ecp/y.js?a=%41", b"HTTP/1.1"]
        );
        let short = StartLine::request(b"GET /");
        assert_eq!(
            [short.part(0), short.part(1), short.part(2)],
            [&b"GET"[..], b"/", b""]
        );
        let long = StartLine::request(b"GET / HTTP/1.1 extra");
        assert_eq!(long.part(2), b"HTTP/1.1");
        assert_eq!(long.part(3), b"");
        assert_eq!(StartLine::default().part(0), b"");
    }

    #[test]
    fn parts_found_by_the_caller_are_places_in_the_line() {
        let line = b"HTTP/1.1 200  Very OK";
        let l = StartLine::from_parts(line, [&line[..8], &line[9..12], &line[14..]]);
        assert_eq!(
            [l.part(0), l.part(1), l.part(2)],
            [&b"HTTP/1.1"[..], b"200", b"Very OK"]
        );
        // A part that is not a slice of the line is read as empty.
        let elsewhere = b"HTTP/1.1".to_vec();
        let other = StartLine::from_parts(line, [&elsewhere, &line[9..12], &[]]);
        assert_eq!(
            [other.part(0), other.part(1), other.part(2)],
            [&b""[..], b"200", b""]
        );
    }

    #[test]
    fn words_make_a_line_with_their_places_kept() {
        let l = StartLine::from_words([b"GET", b"/a b", b""]);
        assert_eq!(l.text(), b"GET /a b ");
        assert_eq!(
            [l.part(0), l.part(1), l.part(2)],
            [&b"GET"[..], b"/a b", b""]
        );
    }
}
