//! Text shown on a terminal. Session text (a prompt, a tool's output, a file name) may hold control characters
//! and escape sequences (`ESC ]0;title BEL`, `ESC [2J`) that would retitle, recolour or clear the terminal of
//! whoever reads it; what SessionFS prints for people shows them instead.

use std::borrow::Cow;

/// `text` with every control character but newline and tab replaced by a visible stand-in: C0 controls and
/// DEL by their Unicode control pictures (`␛` for ESC), C1 controls by `�`.
pub fn printable(text: &str) -> Cow<'_, str> {
    let shown = |c: char| c == '\n' || c == '\t' || !c.is_control();
    if text.chars().all(shown) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                c if shown(c) => c,
                '\u{7f}' => '\u{2421}',
                // C0 controls (below U+0020): the Control Pictures block holds one for each, in order.
                c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
                _ => '\u{fffd}',
            })
            .collect(),
    )
}

/// How much of something the user typed an error message quotes back.
pub const ECHO_CHARS: usize = 60;

/// `text` cut to its first [`ECHO_CHARS`] characters and `…`, for an error that quotes what was given: a
/// 100,000-character argument must not come back as 100 KB of error.
pub fn abbreviated(text: &str) -> Cow<'_, str> {
    if text.chars().count() <= ECHO_CHARS {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().take(ECHO_CHARS).chain(['…']).collect())
}

/// A writer that passes on what it is given as [`printable`] text: for log lines, which may quote a path or an
/// error from a session file. (It makes no I/O of its own: it wraps the caller's writer.)
#[derive(Debug)]
pub struct PrintableWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for PrintableWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(printable(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_abbreviated() {
        assert_eq!(abbreviated("ses_0a1b"), "ses_0a1b");
        let long = "é".repeat(100);
        assert_eq!(abbreviated(&long), "é".repeat(ECHO_CHARS) + "…");
    }

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J red\r\u{9b}31m\u{7f}";
        let shown = printable(hostile);
        assert_eq!(shown, "␛]0;pwned␇␛[2J red␍�31m␡");
        assert!(!shown.chars().any(|c| c.is_control()));
        assert!(matches!(printable("plain\ttext\nand é 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_passes_on_printable_text() {
        use std::io::Write;
        let mut out = PrintableWriter(Vec::new());
        out.write_all("WARN path=/p/\u{1b}]0;x\u{7} bad\n".as_bytes()).unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "WARN path=/p/␛]0;x␇ bad\n");
    }
}
