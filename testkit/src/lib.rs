//! Test support for SessionFS: a fake model endpoint and runners for the real agent CLIs.
//!
//! Capture and resume are only trustworthy when tested against what the real tools write, so this
//! crate makes it cheap to run Claude Code, Codex CLI and Gemini CLI offline. [`FakeModel`] is a
//! small HTTP server on 127.0.0.1 that speaks just enough of the Anthropic Messages, OpenAI
//! Responses and Gemini `generateContent` APIs to drive those CLIs with scripted answers (a
//! `TOOL:<command>` in the prompt makes it answer with a shell tool call), and it records every
//! request so a test can check what reached the model. [`agent_cli`] runs a CLI against it in a
//! throw-away `HOME` and finds the native session files the run produced. The `regen-fixtures`
//! binary uses both to regenerate `agents/tests/fixtures`.

pub mod agent_cli;
pub mod fake_model;

pub use fake_model::{FakeModel, RecordedRequest};
