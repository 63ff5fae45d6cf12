//! Regenerates the native-session fixtures under `agents/tests/fixtures` by running the real agent
//! CLIs against the fake model.
//!
//! ```text
//! regen-fixtures --out agents/tests/fixtures [--agent codex]... [--scenario plain]... [--keep]
//! ```
//!
//! Each scenario runs in a fresh temporary `HOME` and working directory. The native session files
//! it produced (plus Gemini CLI's `projects.json`) are copied, unchanged, to
//! `<out>/<agent>/<version>/<scenario>/home/<path relative to HOME>`, next to a `scenario.json`
//! describing the run; `<out>/<agent>/<version>/VERSION` holds the CLI version.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use sessionfs_shared::AgentKind;
use sessionfs_testkit::{FakeModel, agent_cli};

/// The branch the scenario working directories are on (they are fresh git repositories).
const GIT_BRANCH: &str = "sfs-fixture";

struct Args {
    out: PathBuf,
    agents: Vec<AgentKind>,
    scenarios: Vec<String>,
    keep: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut out = None;
    let mut agents = Vec::new();
    let mut scenarios = Vec::new();
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--agent" => agents.push(value("--agent")?.parse::<AgentKind>()?),
            "--scenario" => scenarios.push(value("--scenario")?),
            "--keep" => keep = true,
            "-h" | "--help" => {
                println!("usage: regen-fixtures --out DIR [--agent NAME]... [--scenario NAME]... [--keep]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let out = out.context("--out DIR is required")?;
    if agents.is_empty() {
        agents = agent_cli::SUPPORTED.to_vec();
    }
    Ok(Args { out, agents, scenarios, keep })
}

/// One scripted run: the prompts (a second prompt resumes the session the first one created) and
/// the markers that must show up in the native session file.
struct Scenario {
    name: &'static str,
    prompts: Vec<String>,
    markers: Vec<String>,
}

fn scenarios(agent: AgentKind) -> Vec<Scenario> {
    let a = agent.as_str();
    let long_marker = format!("MARKER-LONG-{a}");
    let paragraph = "SessionFS keeps the conversations you have with coding agents so that you can pick them up \
                     again later, on another machine or in another agent. This paragraph is repeated to make \
                     the prompt long enough to exercise large records in the native session files.\n";
    let mut long = paragraph.repeat(20_000 / paragraph.len() + 1);
    long.push_str(&long_marker);
    vec![
        Scenario {
            name: "plain",
            prompts: vec![format!("Say hello. MARKER-PLAIN-{a}")],
            markers: vec![format!("MARKER-PLAIN-{a}")],
        },
        Scenario {
            name: "tool_call",
            prompts: vec![format!("List the files. TOOL:echo MARKER-TOOL-{a}")],
            markers: vec![format!("MARKER-TOOL-{a}")],
        },
        Scenario {
            name: "unicode",
            prompts: vec![format!("Grüße, 世界! Ça va? 🚀 MARKER-UNICODE-{a}")],
            markers: vec![format!("MARKER-UNICODE-{a}")],
        },
        Scenario { name: "long_prompt", prompts: vec![long], markers: vec![long_marker] },
        Scenario {
            name: "two_turns",
            prompts: vec![format!("First turn MARKER-TURN1-{a}"), format!("Second turn MARKER-TURN2-{a}")],
            markers: vec![format!("MARKER-TURN1-{a}"), format!("MARKER-TURN2-{a}")],
        },
    ]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("regen-fixtures: {err:#}");
            return ExitCode::from(2);
        }
    };
    let mut failures = Vec::new();
    for &agent in &args.agents {
        let Some(version) = agent_cli::version(agent) else {
            eprintln!("regen-fixtures: skipping {agent}: cannot run `{:?} --version`", agent_cli::executable(agent));
            failures.push(format!("{agent}: no CLI"));
            continue;
        };
        let agent_dir = args.out.join(agent.as_str()).join(&version);
        if let Err(err) =
            fs::create_dir_all(&agent_dir).and_then(|()| fs::write(agent_dir.join("VERSION"), format!("{version}\n")))
        {
            eprintln!("regen-fixtures: cannot write {}: {err}", agent_dir.display());
            failures.push(format!("{agent}: output"));
            continue;
        }
        for scenario in scenarios(agent) {
            if !args.scenarios.is_empty() && !args.scenarios.iter().any(|s| s == scenario.name) {
                continue;
            }
            match run_scenario(agent, &version, &scenario, &agent_dir.join(scenario.name), args.keep) {
                Ok(copied) => println!("regen-fixtures: {agent} {version} {}: {copied} file(s)", scenario.name),
                Err(err) => {
                    eprintln!("regen-fixtures: skipping {agent} {version} {}: {err:#}", scenario.name);
                    failures.push(format!("{agent}/{}", scenario.name));
                }
            }
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("regen-fixtures: not produced: {}", failures.join(", "));
        ExitCode::FAILURE
    }
}

/// Runs one scenario and writes its fixture to `dest`; returns how many files were copied.
fn run_scenario(
    agent: AgentKind,
    version: &str,
    scenario: &Scenario,
    dest: &Path,
    keep: bool,
) -> anyhow::Result<usize> {
    let tmp = tempfile::Builder::new().prefix("sfs-fixture-").tempdir()?;
    // With --keep the directory outlives the run (for debugging); otherwise `_cleanup` removes it.
    let (root, _cleanup) = if keep {
        let root = tmp.keep();
        eprintln!("regen-fixtures: keeping {}", root.display());
        (root, None)
    } else {
        (tmp.path().to_path_buf(), Some(tmp))
    };
    let home = root.join("home");
    let cwd = root.join(format!("project-{}", scenario.name));
    fs::create_dir_all(&home)?;
    fs::create_dir_all(&cwd)?;
    let on_branch = init_git(&cwd);
    let model = FakeModel::start()?;

    let mut native_id = None;
    for (turn, prompt) in scenario.prompts.iter().enumerate() {
        let output = agent_cli::run(agent, &home, &cwd, &model, prompt, native_id.as_deref())?;
        ensure!(
            output.status.success(),
            "run {} exited with {}; stdout: {}; stderr: {}",
            turn + 1,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if native_id.is_none() {
            let files = agent_cli::session_files(agent, &home);
            let first = files.first().context("the first run wrote no native session file")?;
            native_id = Some(agent_cli::native_session_id(agent, first).context("no session id in the native file")?);
        }
    }

    let files = agent_cli::session_files(agent, &home);
    ensure!(!files.is_empty(), "no native session file was written");
    let contents: Vec<String> = files.iter().map(fs::read_to_string).collect::<Result<_, _>>()?;
    for marker in &scenario.markers {
        ensure!(contents.iter().any(|c| c.contains(marker.as_str())), "no native file contains {marker}");
    }
    if scenario.prompts.len() > 1 {
        ensure!(
            contents.iter().any(|c| scenario.markers.iter().all(|m| c.contains(m.as_str()))),
            "no single native file holds every turn ({} files: {files:?})",
            files.len()
        );
        // The resumed run must have loaded the session: its request carries the earlier turn.
        ensure!(
            model.requests().iter().any(|r| {
                let body = r.body.to_string();
                scenario.markers.iter().all(|m| body.contains(m.as_str()))
            }),
            "no model request carried every turn: the resume did not send the earlier conversation"
        );
    }
    if scenario.name == "tool_call" {
        let marker = &scenario.markers[0];
        ensure!(
            model.tool_results().iter().any(|r| r.contains(marker.as_str())),
            "the tool result never reached the model (tool results: {:?})",
            model.tool_results()
        );
        let (call, result) = tool_evidence(agent);
        ensure!(
            contents.iter().any(|c| c.contains(call) && c.contains(result)),
            "the native file lacks the tool call ({call}) or its result ({result})"
        );
    }

    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("clearing {}", dest.display()))?;
    }
    let mut to_copy = files.clone();
    if agent == AgentKind::GeminiCli {
        // The project registry and the ownership marker of each project's directory, by which
        // Gemini CLI maps a working directory to `~/.gemini/tmp/<project>`.
        let gemini = home.join(".gemini");
        let mut index = vec![gemini.join("projects.json")];
        for file in &files {
            if let Some(project) = file.parent().and_then(Path::parent) {
                index.push(project.join(".project_root"));
            }
        }
        index.dedup();
        to_copy.extend(index.into_iter().filter(|p| p.is_file()));
    }
    for file in &to_copy {
        let rel = file.strip_prefix(&home)?;
        let target = dest.join("home").join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(file, &target).with_context(|| format!("copying {}", file.display()))?;
    }
    let mut description = json!({
        "agent": agent.as_str(),
        "version": version,
        "prompt": scenario.prompts[0],
        "markers": scenario.markers,
        "cwd": cwd.to_string_lossy(),
        "git_branch": on_branch.then_some(GIT_BRANCH),
        "native_session_id": native_id,
    });
    if scenario.prompts.len() > 1 {
        // Every prompt in order; the later ones resumed `native_session_id`.
        description["prompts"] = json!(scenario.prompts);
    }
    fs::write(dest.join("scenario.json"), serde_json::to_string_pretty(&description)? + "\n")?;
    Ok(to_copy.len())
}

/// Strings that the native file of a tool-call session must contain.
fn tool_evidence(agent: AgentKind) -> (&'static str, &'static str) {
    match agent {
        AgentKind::ClaudeCode => ("\"tool_use\"", "\"tool_result\""),
        AgentKind::Codex => ("\"function_call\"", "\"function_call_output\""),
        // Gemini CLI keeps the call in the answer's `toolCalls`, its result in a `functionResponse`.
        _ => ("\"toolCalls\"", "\"functionResponse\""),
    }
}

/// Makes `dir` a git repository with one empty commit on [`GIT_BRANCH`], so the agents record a
/// branch. Best effort: without git the fixtures just have no branch (returns false).
fn init_git(dir: &Path) -> bool {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-c", "user.name=SessionFS Fixtures", "-c", "user.email=fixtures@example.invalid"])
            .args(["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = git(&["init", "-q", "-b", GIT_BRANCH]) && git(&["commit", "-q", "--allow-empty", "-m", "fixture"]);
    if !ok {
        eprintln!("regen-fixtures: could not make {} a git repository; fixtures will have no branch", dir.display());
    }
    ok
}
