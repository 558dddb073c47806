//! Lists of name/value pairs — the header lines of a message, the cookies of a request — kept
//! in one byte buffer with the places of each name and value beside it, so that a message
//! costs two allocations for all its headers (and two for all its cookies) instead of two per
//! line: per-line allocations were a fifth of all instructions on ordinary Exchange traffic.
//!
//! Each pair is stored as `name: value`, so that a header line as `http.request_header`
//! shows it is one borrowed slice ([`FieldList::line`]) rather than a new buffer per line:
//! 1,000 header lines cost 1,000 allocations per inspected side otherwise.
//!
//! A list read from a header block keeps that block, as on the wire, at the start of its
//! bytes ([`FieldList::block`]): a line sent as `name: value` is a place in the block, and only
//! the other lines (`name:value`, a folded line, a value with blanks around it) are written
//! again after it. The block is kept for `http.header.raw` anyway, so most lines cost no copy
//! at all: copying every line a second time was a tenth of the work on a request with 1,000
//! header lines.

/// A value without its trailing spaces and tabs, as [`FieldList::line`] ends a line.
pub fn trim_end_blanks(value: &[u8]) -> &[u8] {
    let kept = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |p| p + 1);
    &value[..kept]
}

/// One name/value pair, borrowed from its [`FieldList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Name.
    pub name: &'a [u8],
    /// Value.
    pub value: &'a [u8],
}

/// Where one pair sits in [`FieldList::bytes`]: the name is `name..value - 2`, the
/// separator `": "` follows it, the value is `value..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: u32,
    value: u32,
    end: u32,
}

/// What stands between a name and its value in [`FieldList::bytes`].
const SEPARATOR: &[u8] = b": ";

/// Name/value pairs in order, duplicates kept, with the block they were read from.
#[derive(Debug, Clone, Default)]
pub struct FieldList {
    /// The block (`bytes[..block]`), then the pairs that are not places in it.
    bytes: Vec<u8>,
    spans: Vec<Span>,
    /// The length of the block at the start of `bytes`.
    block: u32,
    /// Bit `n` set when a name of `n` bytes (63 for 63 or more) is in the list: a lookup of a
    /// name no pair has the length of (`Content-Length` in most requests) skips the pass.
    name_lengths: u64,
}

/// The bit of [`FieldList::name_lengths`] for a name of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Two lists are equal when their blocks and their pairs are: where a pair's bytes are kept
/// does not matter.
impl PartialEq for FieldList {
    fn eq(&self, other: &FieldList) -> bool {
        self.block() == other.block() && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for FieldList {}

impl FieldList {
    /// An empty list with room for `pairs` pairs of `bytes` bytes in all.
    pub fn with_capacity(pairs: usize, bytes: usize) -> FieldList {
        FieldList {
            bytes: Vec::with_capacity(bytes + pairs * SEPARATOR.len()),
            spans: Vec::with_capacity(pairs),
            block: 0,
            name_lengths: 0,
        }
    }

    /// An empty list over `block`, the header block it will be read from as on the wire,
    /// with room for `pairs` pairs and `extra` more bytes of pairs written after the block.
    pub fn over_block(block: &[u8], pairs: usize, extra: usize) -> FieldList {
        let mut bytes = Vec::with_capacity(block.len() + extra);
        bytes.extend_from_slice(block);
        let mut list = FieldList {
            bytes,
            spans: Vec::with_capacity(pairs),
            block: 0,
            name_lengths: 0,
        };
        list.block = list.offset();
        list
    }

    /// Adds the pair whose text `name: value` is `block[name_at..end]`, the name being its
    /// first `name_len` bytes. False, and nothing added, when the block does not hold `": "`
    /// right after the name there.
    pub fn push_in_block(&mut self, name_at: usize, name_len: usize, end: usize) -> bool {
        let value_at = name_at
            .saturating_add(name_len)
            .saturating_add(SEPARATOR.len());
        let fits = value_at <= end
            && self.block().get(value_at - SEPARATOR.len()..value_at) == Some(SEPARATOR)
            && end <= self.block().len();
        if fits {
            self.name_lengths |= length_bit(name_len);
            // Below `block`, which is below 4 GiB (see `offset`).
            self.spans.push(Span {
                name: name_at as u32,
                value: value_at as u32,
                end: end as u32,
            });
        }
        fits
    }

    /// The block the list was read from, as on the wire (empty for a list built pair by
    /// pair).
    pub fn block(&self) -> &[u8] {
        self.bytes.get(..self.block as usize).unwrap_or_default()
    }

    /// Puts `block` before the bytes of a list that has none yet, as the block it was read
    /// from (when the block's end was known only after its pairs were added); nothing when it
    /// has one. The pairs' bytes move up within the buffer, which grows only when its room
    /// (a response head's list is made with room for the bytes after the status line) is
    /// short.
    pub fn put_block_first(&mut self, block: &[u8]) {
        if self.block != 0 || block.is_empty() {
            return;
        }
        let pairs = self.bytes.len();
        self.bytes.extend_from_slice(block);
        self.bytes.copy_within(..pairs, block.len());
        self.bytes[..block.len()].copy_from_slice(block);
        let shift = u32::try_from(block.len()).unwrap_or(u32::MAX);
        for s in &mut self.spans {
            s.name = s.name.saturating_add(shift);
            s.value = s.value.saturating_add(shift);
            s.end = s.end.saturating_add(shift);
        }
        self.block = shift;
    }

    /// Makes room for `pairs` more pairs of `bytes` bytes of names and values in all.
    pub fn reserve(&mut self, pairs: usize, bytes: usize) {
        self.bytes.reserve(bytes + pairs * SEPARATOR.len());
        self.spans.reserve(pairs);
    }

    /// Adds a pair.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.name_lengths |= length_bit(name.len());
        let name_at = self.offset();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(SEPARATOR);
        let value_at = self.offset();
        self.bytes.extend_from_slice(value);
        let end = self.offset();
        self.spans.push(Span {
            name: name_at,
            value: value_at,
            end,
        });
    }

    /// Adds the pair whose name is `line[..name_len]` and whose value is the rest of `line`
    /// after the `": "` that follows the name (the caller has checked it is there): the
    /// text is already as stored, so it is copied at once.
    pub fn push_joined(&mut self, line: &[u8], name_len: usize) {
        debug_assert_eq!(line.get(name_len..name_len + 2), Some(SEPARATOR));
        self.name_lengths |= length_bit(name_len);
        let name_at = self.offset();
        self.bytes.extend_from_slice(line);
        let end = self.offset();
        self.spans.push(Span {
            name: name_at,
            value: name_at.saturating_add(name_len as u32 + SEPARATOR.len() as u32),
            end,
        });
    }

    /// Appends `more` to the value of the last pair; nothing when there is none. A last pair
    /// that is a place in the block is first written after it, as its value can only grow at
    /// the end of the bytes.
    pub fn extend_last_value(&mut self, more: &[u8]) {
        if let Some(last) = self.spans.last().copied() {
            if last.end != self.offset() {
                let (name, value) = {
                    let f = self.field(&last);
                    (f.name.to_vec(), f.value.to_vec())
                };
                self.spans.pop();
                self.push(&name, &value);
            }
            self.bytes.extend_from_slice(more);
            let end = self.offset();
            if let Some(last) = self.spans.last_mut() {
                last.end = end;
            }
        }
    }

    /// The end of the bytes so far. Heads and cookie lines are capped far below 4 GiB; were
    /// one not, its pairs past 4 GiB would read as empty rather than wrong.
    fn offset(&self) -> u32 {
        u32::try_from(self.bytes.len()).unwrap_or(u32::MAX)
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pair at `index`.
    pub fn get(&self, index: usize) -> Option<Field<'_>> {
        self.spans.get(index).map(|s| self.field(s))
    }

    fn range(&self, from: u32, to: u32) -> &[u8] {
        self.bytes
            .get(from as usize..to as usize)
            .unwrap_or_default()
    }

    fn field(&self, s: &Span) -> Field<'_> {
        Field {
            name: self.range(s.name, s.value.saturating_sub(SEPARATOR.len() as u32)),
            value: self.range(s.value, s.end),
        }
    }

    /// The pair at `index` as one line, `name: value`, with the value's trailing spaces and
    /// tabs left out.
    pub fn line(&self, index: usize) -> Option<&[u8]> {
        self.spans.get(index).map(|s| self.line_of(s))
    }

    fn line_of(&self, s: &Span) -> &[u8] {
        let kept = trim_end_blanks(self.range(s.value, s.end)).len();
        self.range(s.name, s.value + kept as u32)
    }

    /// The block, then the pairs written after it (each `name: value`, as
    /// [`FieldList::line`] gives it but with the value whole): every line is a slice of this.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The values of the pairs named `name` (ASCII case ignored), in order. Names of another
    /// length are passed over on their span alone (a lookup in 1,000 header lines was a
    /// slice built and compared per line), and not at all when no name has that length.
    pub fn values_of<'l, 'n>(
        &'l self,
        name: &'n [u8],
    ) -> impl Iterator<Item = &'l [u8]> + use<'l, 'n> {
        let len = name.len() + SEPARATOR.len();
        let first = name.first().map(u8::to_ascii_lowercase);
        let spans = match self.name_lengths & length_bit(name.len()) {
            0 => &[][..],
            _ => &self.spans[..],
        };
        spans
            .iter()
            .filter(move |s| {
                // The length, then the first byte, before the whole name.
                (s.value - s.name) as usize == len
                    && (first.is_none()
                        || self.bytes.get(s.name as usize).map(u8::to_ascii_lowercase) == first)
            })
            .map(|s| self.field(s))
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// The pairs whose name is at least `len` bytes long, in order (the others are passed
    /// over on their span alone).
    pub fn names_at_least(&self, len: usize) -> impl Iterator<Item = Field<'_>> + '_ {
        let len = len + SEPARATOR.len();
        self.spans
            .iter()
            .filter(move |s| (s.value - s.name) as usize >= len)
            .map(|s| self.field(s))
    }

    /// The pairs in order, each with its line (as [`FieldList::line`] gives it).
    pub fn iter_with_lines(&self) -> impl Iterator<Item = (Field<'_>, &[u8])> + '_ {
        self.spans.iter().map(|s| (self.field(s), self.line_of(s)))
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = Field<'_>> + '_ {
        self.spans.iter().map(|s| self.field(s))
    }

    /// Heap bytes held (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_back_in_order_with_continuations() {
        let mut l = FieldList::default();
        l.extend_last_value(b"ignored");
        l.push(b"Host", b"a");
        l.push(b"", b"");
        l.push(b"X-Folded", b"one");
        l.extend_last_value(b" two");
        let got: Vec<(&[u8], &[u8])> = l.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            got,
            [
                (&b"Host"[..], &b"a"[..]),
                (b"", b""),
                (b"X-Folded", b"one two")
            ]
        );
        assert_eq!(l.len(), 3);
        assert_eq!(l.line(0), Some(&b"Host: a"[..]));
        assert_eq!(l.line(1), Some(&b": "[..]));
        assert_eq!(l.line(2), Some(&b"X-Folded: one two"[..]));
        assert_eq!(l.line(3), None);
        assert_eq!(l.bytes(), b"Host: a: X-Folded: one two");
        l.push(b"HOST", b"b");
        let hosts: Vec<&[u8]> = l.values_of(b"host").collect();
        assert_eq!(hosts, [&b"a"[..], b"b"]);
        assert_eq!(l.values_of(b"").count(), 1);
        assert_eq!(l.values_of(b"hos").count(), 0);
        assert_eq!(l.get(0).unwrap().name, b"Host");
        assert_eq!(l.get(3).unwrap().name, b"HOST");
        assert!(l.get(4).is_none());
    }

    #[test]
    fn lines_leave_out_trailing_blanks_of_the_value_only() {
        let mut l = FieldList::default();
        l.push(b"Empty", b"");
        l.push(b"Blank", b" \t ");
        l.push(b"X", b"a b \t");
        assert_eq!(l.line(0), Some(&b"Empty: "[..]));
        assert_eq!(l.line(1), Some(&b"Blank: "[..]));
        assert_eq!(l.line(2), Some(&b"X: a b"[..]));
        assert_eq!(l.get(2).unwrap().value, b"a b \t");
    }

    #[test]
    fn a_list_over_a_block_points_into_it_and_writes_only_other_pairs() {
        let block = b"Host: a\r\nX:b\r\nY: c \r\n\r\n";
        let mut l = FieldList::over_block(block, 3, 0);
        assert!(l.push_in_block(0, 4, 7));
        // `X:b` has no `": "` after its name: not a place in the block.
        assert!(!l.push_in_block(9, 1, 12));
        l.push(b"X", b"b");
        // Past the block's end, or a name running into the separator: refused.
        assert!(!l.push_in_block(14, 1, 99));
        assert!(!l.push_in_block(14, 2, 18));
        assert!(l.push_in_block(14, 1, 19));
        assert_eq!(l.block(), block);
        assert_eq!(l.bytes(), b"Host: a\r\nX:b\r\nY: c \r\n\r\nX: b");
        let got: Vec<(&[u8], &[u8])> = l.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            got,
            [(&b"Host"[..], &b"a"[..]), (b"X", b"b"), (b"Y", b"c ")]
        );
        assert_eq!(l.line(2), Some(&b"Y: c"[..]));
        assert_eq!(l.values_of(b"x").collect::<Vec<_>>(), [&b"b"[..]]);
    }

    #[test]
    fn names_of_every_length_are_found_however_they_were_added() {
        let long = [b'N'; 70];
        let mut l = FieldList::over_block(b"Ab: 1\r\n\r\n", 4, 0);
        assert!(l.push_in_block(0, 2, 5));
        l.push(&long, b"2");
        l.push_joined(b"Abc: 3", 3);
        l.push(b"", b"4");
        assert_eq!(l.values_of(b"aB").collect::<Vec<_>>(), [&b"1"[..]]);
        assert_eq!(l.values_of(&long[..]).collect::<Vec<_>>(), [&b"2"[..]]);
        assert_eq!(l.values_of(&[b'n'; 70]).collect::<Vec<_>>(), [&b"2"[..]]);
        assert_eq!(l.values_of(&[b'N'; 64]).count(), 0);
        assert_eq!(l.values_of(b"ABC").collect::<Vec<_>>(), [&b"3"[..]]);
        assert_eq!(l.values_of(b"").collect::<Vec<_>>(), [&b"4"[..]]);
        assert_eq!(l.values_of(b"Abcd").count(), 0);
    }

    #[test]
    fn a_pair_in_the_block_is_written_after_it_before_its_value_grows() {
        let block = b"A: 1\r\nB: 2\r\n\r\n";
        let mut l = FieldList::over_block(block, 2, 0);
        assert!(l.push_in_block(0, 1, 4));
        assert!(l.push_in_block(6, 1, 10));
        l.extend_last_value(b" more");
        l.extend_last_value(b"!");
        let got: Vec<(&[u8], &[u8])> = l.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(got, [(&b"A"[..], &b"1"[..]), (b"B", b"2 more!")]);
        assert_eq!(l.block(), block);
        assert_eq!(l.line(1), Some(&b"B: 2 more!"[..]));
    }

    #[test]
    fn lists_are_equal_by_block_and_pairs_wherever_the_pairs_are_kept() {
        let block = b"Host: a\r\n\r\n";
        let mut in_block = FieldList::over_block(block, 1, 0);
        assert!(in_block.push_in_block(0, 4, 7));
        let mut written = FieldList::default();
        written.push(b"Host", b"a");
        assert_ne!(in_block, written);
        written.put_block_first(block);
        assert_eq!(in_block, written);
        assert_eq!(written.block(), block);
        assert_eq!(written.line(0), Some(&b"Host: a"[..]));
        // With room for the block, the pairs move up in place.
        let mut roomy = FieldList::with_capacity(2, 64);
        roomy.push(b"X", b"1");
        roomy.push(b"Host", b"a");
        let room = roomy.bytes.capacity();
        roomy.put_block_first(b"X:1\r\nHost: a\r\n\r\n");
        assert_eq!(roomy.bytes.capacity(), room);
        assert_eq!(roomy.bytes(), b"X:1\r\nHost: a\r\n\r\nX: 1Host: a");
        let got: Vec<(&[u8], &[u8])> = roomy.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(got, [(&b"X"[..], &b"1"[..]), (b"Host", b"a")]);
        // A block is put first once only.
        written.put_block_first(b"other");
        assert_eq!(written.block(), block);
        written.push(b"Host", b"b");
        assert_ne!(in_block, written);
    }
}
