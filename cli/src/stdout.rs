//! Printing that a closed stdout does not turn into a panic. `println!` panics when its pipe is closed
//! (`sfs list | head -1`); these macros return the error with `?` instead, and `main` ends quietly on it.

/// `println!`, returning the write's error from the enclosing function.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

/// `print!`, returning the write's error from the enclosing function.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?
    }};
}
