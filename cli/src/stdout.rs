//! What `sfs` prints for people. Two things `println!` does not do:
//! - a closed stdout (`sfs list | head -1`) is an error returned with `?`, which `main` ends quietly on,
//!   where `println!` panics;
//! - control characters from session text are shown, not sent: a captured tool output or prompt may hold
//!   terminal escape sequences (`ESC ]0;title BEL`, `ESC [2J`) that would retitle or clear the terminal.
//!   `--json` output needs neither: JSON escapes control characters itself.

use std::borrow::Cow;

/// `println!`, with [`printable`] text, returning the write's error from the enclosing function.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        writeln!(std::io::stdout())?
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), "{}", $crate::stdout::printable(&format!($($arg)*)))?
    }};
}

/// `print!`, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), "{}", $crate::stdout::printable(&format!($($arg)*)))?
    }};
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J red\r\u{9b}31m\u{7f}";
        let shown = printable(hostile);
        assert_eq!(shown, "␛]0;pwned␇␛[2J red␍�31m␡");
        assert!(!shown.chars().any(|c| c.is_control()));
        assert!(matches!(printable("plain\ttext\nand é 日本"), Cow::Borrowed(_)));
    }
}
