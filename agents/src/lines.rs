//! Splitting a chunk of a JSONL file into complete lines, so a half-written last line is never consumed.

use memchr::memchr;

/// Iterates the complete lines of a chunk. After the loop, [`LineSplitter::consumed`] is the number of
/// bytes up to and including the last newline (plus a final unterminated line when it is a complete JSON
/// object at end of file, since some writers omit the last newline).
pub struct LineSplitter<'a> {
    chunk: &'a [u8],
    pos: usize,
    at_eof: bool,
    line_no: u64,
}

impl<'a> LineSplitter<'a> {
    /// Split `chunk`, whose first line is line `first_line_no` (1-based) of the file.
    pub fn new(chunk: &'a [u8], at_eof: bool, first_line_no: u64) -> Self {
        Self { chunk, pos: 0, at_eof, line_no: first_line_no.saturating_sub(1) }
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.pos as u64
    }

    /// The number of the last line returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }
}

impl<'a> Iterator for LineSplitter<'a> {
    /// (line number, line without its newline; may be blank)
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.chunk[self.pos..];
        if rest.is_empty() {
            return None;
        }
        match memchr(b'\n', rest) {
            Some(i) => {
                self.pos += i + 1;
                self.line_no += 1;
                let line = &rest[..i];
                Some((self.line_no, line.strip_suffix(b"\r").unwrap_or(line)))
            }
            None if self.at_eof && is_complete_json_object(rest) => {
                self.pos += rest.len();
                self.line_no += 1;
                Some((self.line_no, rest))
            }
            None => None,
        }
    }
}

/// Parse one JSON line. Its UTF-8 is checked once, in one pass over the line, instead of string by string
/// as `serde_json::from_slice` does, and agent records are mostly strings. A byte-order mark before the first
/// record is skipped. A line that is not UTF-8 is read with each bad sequence replaced by U+FFFD: a prompt
/// with one bad byte is kept, not dropped.
pub(crate) fn parse_line<T: serde::de::DeserializeOwned>(line: &[u8]) -> serde_json::Result<T> {
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(line)),
    }
}

/// Whether `bytes` (trimmed) is exactly one complete JSON object.
pub fn is_complete_json_object(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii();
    trimmed.first() == Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_as_from_slice_does() {
        let line = "{\"text\":\"caf\u{e9} \\u00e9 \u{1f980}\"}".as_bytes();
        let value: serde_json::Value = parse_line(line).unwrap();
        assert_eq!(value, serde_json::from_slice::<serde_json::Value>(line).unwrap());
        let broken = b"{\"text\":\"caf";
        let error = parse_line::<serde_json::Value>(broken).unwrap_err().to_string();
        assert_eq!(error, serde_json::from_slice::<serde_json::Value>(broken).unwrap_err().to_string());
    }

    #[test]
    fn a_bad_byte_is_replaced_not_the_record_dropped_and_a_bom_is_skipped() {
        let not_utf8 = b"{\"text\":\"caf\xe9 au lait\"}";
        let value: serde_json::Value = parse_line(not_utf8).unwrap();
        assert_eq!(value["text"], "caf\u{fffd} au lait");
        let bom = "\u{feff}{\"text\":\"first\"}".as_bytes();
        assert_eq!(parse_line::<serde_json::Value>(bom).unwrap()["text"], "first");
    }

    #[test]
    fn leaves_a_half_written_line() {
        let chunk = b"{\"a\":1}\n{\"b\":2}\n{\"c\":";
        let mut s = LineSplitter::new(chunk, true, 1);
        let lines: Vec<_> = s.by_ref().collect();
        assert_eq!(lines, vec![(1, &b"{\"a\":1}"[..]), (2, &b"{\"b\":2}"[..])]);
        assert_eq!(s.consumed(), 16);
    }

    #[test]
    fn takes_a_complete_unterminated_object_only_at_eof() {
        let chunk = b"{\"a\":1}\r\n{\"b\":2}";
        let all: Vec<_> = LineSplitter::new(chunk, true, 5).collect();
        assert_eq!(all, vec![(5, &b"{\"a\":1}"[..]), (6, &b"{\"b\":2}"[..])]);
        let not_eof: Vec<_> = LineSplitter::new(chunk, false, 1).collect();
        assert_eq!(not_eof.len(), 1);
    }
}
