//! `sfs daemon start|stop|restart|status|logs`.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sessionfs_client::daemon::{DaemonStatus, LockState, probe};
use sessionfs_client::{AgentHealth, StorePaths};

use crate::context;

/// Run, stop and inspect the capture daemon (sfsd)
#[derive(Debug, clap::Subcommand)]
pub enum Daemon {
    /// Start sfsd in the background
    Start,
    /// Stop the running sfsd
    Stop,
    /// Stop sfsd if it runs, then start it
    Restart,
    /// Show whether sfsd runs and what each agent's capture did
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the daemon's log
    Logs {
        /// Lines from the end
        #[arg(long, short = 'n', default_value_t = 50)]
        lines: usize,
        /// Keep printing as the log grows
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

impl Daemon {
    pub fn run(self) -> Result<ExitCode> {
        let paths = context::store_paths()?;
        match self {
            Self::Start => start(&paths),
            Self::Stop => stop(&paths).map(|_| ExitCode::SUCCESS),
            Self::Restart => {
                stop(&paths)?;
                start(&paths)
            }
            Self::Status { json } => status(&paths, json),
            Self::Logs { lines, follow } => logs(&paths, lines, follow),
        }
    }
}

fn sfsd_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SFS_SFSD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("cannot locate the sfs binary")?;
    let sfsd = exe.with_file_name(format!("sfsd{}", std::env::consts::EXE_SUFFIX));
    if !sfsd.is_file() {
        bail!("sfsd not found next to sfs (looked for {}); install both binaries together", sfsd.display());
    }
    Ok(sfsd)
}

fn start(paths: &StorePaths) -> Result<ExitCode> {
    std::fs::create_dir_all(paths.root()).with_context(|| format!("creating {}", paths.root().display()))?;
    if let LockState::Held { pid } = probe(&paths.daemon_lock())? {
        eprintln!(
            "sfsd is already running (pid {pid}, lock {}); see `sfs daemon status`",
            paths.daemon_lock().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.daemon_log())
        .with_context(|| format!("opening {}", paths.daemon_log().display()))?;
    let mut cmd = Command::new(sfsd_binary()?);
    cmd.env("SFS_HOME", paths.root()).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0); // not killed by the terminal's Ctrl-C
    }
    let mut child = cmd.spawn().context("starting sfsd")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let LockState::Held { pid } = probe(&paths.daemon_lock())? {
            outln!("sfsd started (pid {pid}); logs: {}", paths.daemon_log().display());
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "sfsd exited at once ({status}); last log lines:\n{}",
                tail(&paths.daemon_log(), 10).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("sfsd did not take its lock within 10 s; see {}", paths.daemon_log().display())
}

fn stop(paths: &StorePaths) -> Result<()> {
    let LockState::Held { pid } = probe(&paths.daemon_lock())? else {
        eprintln!("sfsd is not running");
        return Ok(());
    };
    let pid_num: i32 =
        pid.parse().with_context(|| format!("the lock file holds no pid ({pid:?}); stop sfsd by hand"))?;
    signal_term(pid_num)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if probe(&paths.daemon_lock())? == LockState::Free {
            outln!("sfsd stopped (pid {pid})");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("sfsd (pid {pid}) did not stop within 15 s; check `sfs daemon logs`, or `kill -9 {pid}`")
}

#[cfg(unix)]
fn signal_term(pid: i32) -> Result<()> {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    kill(Pid::from_raw(pid), Signal::SIGTERM).with_context(|| format!("signalling sfsd (pid {pid})"))
}

#[cfg(not(unix))]
fn signal_term(pid: i32) -> Result<()> {
    let status = Command::new("taskkill").args(["/PID", &pid.to_string()]).status()?;
    if !status.success() {
        bail!("taskkill failed for pid {pid}");
    }
    Ok(())
}

#[derive(Serialize)]
struct StatusReport {
    running: bool,
    /// A number, as `daemon.pid` is (the lock file holds it as text).
    pid: Option<u32>,
    lock: PathBuf,
    log: PathBuf,
    daemon: Option<DaemonStatus>,
    agents: Vec<AgentHealth>,
    /// Why `agents` is empty when the store could not be read; the daemon's own state is reported all the same.
    error: Option<String>,
}

fn status(paths: &StorePaths, json: bool) -> Result<ExitCode> {
    let lock = probe(&paths.daemon_lock())?;
    let (running, pid) = match lock {
        LockState::Held { pid } => (true, pid.trim().parse().ok()),
        LockState::Free => (false, None),
    };
    let (agents, error) = match context::open_store().and_then(|store| Ok(store.index().agent_health()?)) {
        Ok(agents) => (agents, None),
        Err(e) => (Vec::new(), Some(crate::report::describe(&e))),
    };
    let report = StatusReport {
        running,
        pid,
        lock: paths.daemon_lock(),
        log: paths.daemon_log(),
        daemon: if running { DaemonStatus::read(paths) } else { None },
        agents,
        error,
    };
    let code = if report.error.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    if json {
        super::print_json(&report)?;
        return Ok(code);
    }
    match (&report.pid, &report.daemon) {
        (Some(pid), Some(d)) => {
            outln!(
                "sfsd running (pid {pid}) since {}; {} capture(s), {} event(s), {} error(s)",
                d.started_at,
                d.captures,
                d.events,
                d.errors
            );
            for r in &d.roots {
                let state = if r.watching { "watching" } else { "waiting for the folder to appear" };
                outln!("  {:<12} {} ({state})", r.agent, r.path.display());
            }
        }
        (Some(pid), None) => outln!("sfsd running (pid {pid}), starting up"),
        _ => outln!("sfsd is not running (start it with `sfs daemon start`)"),
    }
    if let Some(error) = &report.error {
        outln!("The store could not be read: {error}\n  `sfs doctor` says what is wrong and how to fix it.");
    } else if report.agents.is_empty() {
        outln!("No sessions captured yet.");
    }
    for a in &report.agents {
        outln!(
            "{:<12} {} session(s), {} file(s), last capture {}; {} record(s) skipped as unparseable",
            a.agent,
            a.sessions,
            a.files,
            a.last_captured_at.as_deref().unwrap_or("never"),
            a.records_skipped
        );
        if let Some(err) = &a.last_error {
            outln!("             last error: {err}");
        }
    }
    Ok(code)
}

fn tail(path: &Path, lines: usize) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("no daemon log at {} yet", path.display()))?;
    let len = f.metadata()?.len();
    // Read enough of the end for `lines` lines of typical length, not the whole log.
    let want = (lines as u64 * 400).max(64 * 1024).min(len);
    f.seek(SeekFrom::Start(len - want))?;
    let mut buf = String::new();
    f.take(want).read_to_string(&mut buf).or(Ok::<_, std::io::Error>(0))?;
    let all: Vec<&str> = buf.lines().collect();
    Ok(all[all.len().saturating_sub(lines)..].join("\n"))
}

fn logs(paths: &StorePaths, lines: usize, follow: bool) -> Result<ExitCode> {
    let path = paths.daemon_log();
    let text = tail(&path, lines)?;
    let mut out = std::io::stdout().lock();
    if !text.is_empty() {
        writeln!(out, "{text}")?;
    }
    if follow {
        let mut pos = std::fs::metadata(&path)?.len();
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len < pos {
                pos = 0; // truncated or replaced
            }
            if len > pos {
                let mut f = std::fs::File::open(&path)?;
                f.seek(SeekFrom::Start(pos))?;
                let mut chunk = Vec::new();
                f.take(len - pos).read_to_end(&mut chunk)?;
                out.write_all(&chunk)?;
                out.flush()?;
                pos = len;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
