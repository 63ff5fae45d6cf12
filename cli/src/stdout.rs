//! What `sfs` prints for people. Two things `println!` does not do:
//! - a closed stdout (`sfs list | head -1`) is an error returned with `?`, which `main` ends quietly on,
//!   where `println!` panics;
//! - control characters from session text are shown, not sent: a captured tool output or prompt may hold
//!   terminal escape sequences (`ESC ]0;title BEL`, `ESC [2J`) that would retitle or clear the terminal.
//!   `--json` output needs neither: JSON escapes control characters itself.

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

pub use sessionfs_shared::terminal::printable;
