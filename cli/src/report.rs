//! How `sfs` says what went wrong: the error's chain of causes on one line, then a hint.

use std::io::Write;
use std::process::ExitCode;

use sessionfs_shared::terminal::{ECHO_CHARS, abbreviated};

/// Print `sfs: error: <chain>` and a hint; a closed stdout (`sfs list | head`) is not an error.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    let broken_pipe = |c: &(dyn std::error::Error + 'static)| {
        c.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            // `--json` output is written through serde_json, which wraps the I/O error in its own.
            .or_else(|| c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind))
            == Some(std::io::ErrorKind::BrokenPipe)
    };
    if err.chain().any(broken_pipe) {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "sfs: error: {}", describe(err));
    let hint = err.chain().find_map(|c| {
        c.downcast_ref::<sessionfs_client::ClientError>().and_then(sessionfs_client::ClientError::hint).or_else(|| {
            c.downcast_ref::<sessionfs_client::sync::SyncError>().and_then(sessionfs_client::sync::SyncError::hint)
        })
    });
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
    ExitCode::FAILURE
}

/// Print clap's usage error and exit (2), or its help or version (0). clap quotes a rejected value whole
/// ("invalid value '<value>' for '<QUERY>'"), and the parser's own message may quote it again (`{:?}`): a
/// 100,000-character argument came back as 100 to 200 KB of error. Each long value is cut to its first
/// [`ECHO_CHARS`] characters wherever the message shows it; the rest of clap's message (the limit, the
/// expected form) stays as it is.
pub(crate) fn usage_error(err: clap::Error) -> ! {
    use clap::error::ContextValue;
    let long: Vec<&str> = err
        .context()
        .flat_map(|(_, value)| match value {
            ContextValue::String(s) => vec![s.as_str()],
            ContextValue::Strings(v) => v.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        })
        .filter(|s| s.chars().count() > ECHO_CHARS)
        .collect();
    if long.is_empty() {
        err.exit()
    }
    let mut text = err.render().to_string();
    for value in long {
        let cut = abbreviated(value);
        // The quoted form first: it contains the bare one.
        text = text.replace(&format!("{value:?}"), &format!("{cut:?}")).replace(value, &cut);
    }
    let _ = write!(std::io::stderr().lock(), "{text}");
    std::process::exit(err.exit_code())
}

/// The error and its causes, joined by `: `. Errors that show their cause in their own message (most of
/// ours, and rusqlite's, whose cause is the same text with its code in front) would otherwise say it
/// twice or three times, so a cause already said is left out, and so is one that only restates the cause
/// before it.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    let mut text = String::new();
    let mut last = String::new();
    for cause in err.chain() {
        let said = cause.to_string();
        let restates = said.is_empty() || text.contains(&said) || (!last.is_empty() && said.ends_with(&last));
        if !restates {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&said);
        }
        last = said;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cause_is_said_once() {
        let sqlite =
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(26), Some("file is not a database".into()));
        let damaged = sessionfs_client::ClientError::Damaged { path: "/s/index.db".into(), source: sqlite };
        let err = anyhow::Error::new(damaged).context("opening the store at /s");
        assert_eq!(describe(&err), "opening the store at /s: /s/index.db is damaged: file is not a database");
    }

    #[test]
    fn causes_that_add_something_are_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let err = anyhow::Error::new(io).context("reading /x/config.toml").context("loading the configuration");
        assert_eq!(describe(&err), "loading the configuration: reading /x/config.toml: permission denied");
    }
}
