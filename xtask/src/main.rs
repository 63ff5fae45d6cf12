//! `cargo xtask`: project tasks that need more than one cargo command.
//!
//! - `cargo xtask dashboard` compiles the dashboard to WASM, generates its JS glue with the
//!   `wasm-bindgen-cli-support` library (no external binary to install), and writes `dashboard/dist/`:
//!   `index.html`, the stylesheet, and content-hashed `.js`/`.wasm` files (safe to cache forever), each with
//!   a `.gz` beside it for servers that send precompressed files.
//! - `cargo xtask serve [ARGS…]` does that, then runs `sessionfs-server --dashboard-dir dashboard/dist ARGS…`
//!   in release mode: the whole product on the embedded default (SQLite + local files).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask dashboard | cargo xtask serve [sessionfs-server args…]";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("dashboard") => {
            let report = build_dashboard()?;
            println!("{report}");
            Ok(())
        }
        Some("serve") => {
            let report = build_dashboard()?;
            eprintln!("{report}");
            serve(args.collect())
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
    }
}

fn root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Sizes of what a browser downloads, for the report and docs/BENCHMARKS.md.
struct Report {
    dist: PathBuf,
    wasm: (u64, u64),
    js: (u64, u64),
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "dashboard built in {}", self.dist.display())?;
        writeln!(f, "  wasm: {:>9} bytes, {:>8} gzipped", self.wasm.0, self.wasm.1)?;
        writeln!(f, "  js:   {:>9} bytes, {:>8} gzipped", self.js.0, self.js.1)?;
        write!(f, "  total gzipped: {} bytes", self.wasm.1 + self.js.1)
    }
}

fn build_dashboard() -> Result<Report> {
    let root = root();
    run(cargo().current_dir(&root).args([
        "build",
        "--package",
        "sessionfs-dashboard",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "dashboard",
    ]))
    .context("compiling the dashboard (is the target installed? `rustup target add wasm32-unknown-unknown`)")?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let wasm = target_dir.join("wasm32-unknown-unknown/dashboard/sessionfs-dashboard.wasm");
    let input = fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let name = format!("dashboard-{}", short_hash(&input));

    let dist = root.join("dashboard/dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).with_context(|| format!("clearing {}", dist.display()))?;
    }
    fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .typescript(false)
        .omit_default_module_path(false)
        // Function names (over a third of the file) only serve debuggers; panics still print messages.
        .remove_name_section(true)
        .remove_producers_section(true)
        .out_name(&name)
        .generate(&dist)
        .context("generating the JS glue")?;

    let css = fs::read(root.join("dashboard/style.css")).context("reading dashboard/style.css")?;
    let style = format!("style-{}.css", short_hash(&css));
    fs::write(dist.join(&style), &css)?;
    let js = format!("{name}.js");
    let wasm_out = format!("{name}_bg.wasm");
    let html = fs::read_to_string(root.join("dashboard/index.html")).context("reading dashboard/index.html")?;
    let html = html.replace("{{STYLE}}", &style).replace("{{JS}}", &js).replace("{{WASM}}", &wasm_out);
    fs::write(dist.join("index.html"), html)?;

    let mut report = Report { dist: dist.clone(), wasm: (0, 0), js: (0, 0) };
    for file in [&wasm_out, &js, &style, &"index.html".to_owned()] {
        let path = dist.join(file);
        let raw = fs::read(&path)?;
        let gz = gzip(&raw)?;
        fs::write(dist.join(format!("{file}.gz")), &gz)?;
        let sizes = (raw.len() as u64, gz.len() as u64);
        if *file == wasm_out {
            report.wasm = sizes;
        } else if *file == js {
            report.js = sizes;
        }
    }
    Ok(report)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// 12 hex digits of FNV-1a: enough to tell builds apart in a file name (not a security property).
fn short_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h & 0xffff_ffff_ffff)
}

fn serve(args: Vec<String>) -> Result<()> {
    let root = root();
    let dist = root.join("dashboard/dist");
    run(cargo()
        .current_dir(&root)
        .args(["run", "--release", "--package", "sessionfs-server", "--", "--dashboard-dir"])
        .arg(&dist)
        .args(args))
}
