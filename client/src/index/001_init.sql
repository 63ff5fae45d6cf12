-- The local index. Rebuildable from the .sfs directories (`sfs doctor --rebuild-index`), except for capture
-- positions in native_files, which only make re-capture cheaper.
CREATE TABLE sessions (
    session_id          TEXT PRIMARY KEY,
    source_tool         TEXT NOT NULL,
    native_id           TEXT,
    title               TEXT,
    alias               TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    project_path        TEXT,
    model_id            TEXT,
    message_count       INTEGER NOT NULL DEFAULT 0,
    turn_count          INTEGER NOT NULL DEFAULT 0,
    tool_use_count      INTEGER NOT NULL DEFAULT 0,
    total_input_tokens  INTEGER NOT NULL DEFAULT 0,
    total_output_tokens INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    size_bytes          INTEGER NOT NULL DEFAULT 0,
    -- Committed length of messages.jsonl: bytes past it come from an interrupted pass.
    messages_bytes      INTEGER NOT NULL DEFAULT 0,
    indexed_at          TEXT NOT NULL
);
CREATE INDEX sessions_updated_at ON sessions(updated_at);
CREATE INDEX sessions_source_tool ON sessions(source_tool, updated_at);
CREATE INDEX sessions_alias ON sessions(alias) WHERE alias IS NOT NULL;

-- One row per indexed message; its rowid is the FTS rowid.
CREATE TABLE message_rows (
    rowid      INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    msg_id     TEXT NOT NULL,
    role       TEXT NOT NULL,
    timestamp  TEXT
);
CREATE INDEX message_rows_session ON message_rows(session_id);

CREATE VIRTUAL TABLE messages_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');

-- Capture position and health of each native file.
CREATE TABLE native_files (
    path             TEXT PRIMARY KEY,
    agent            TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    subagent         TEXT,
    offset           INTEGER NOT NULL DEFAULT 0,
    head_hash        TEXT,
    parser_state     TEXT,
    messages         INTEGER NOT NULL DEFAULT 0,
    records_skipped  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    last_error_at    TEXT,
    last_captured_at TEXT
);
CREATE INDEX native_files_session ON native_files(session_id);
CREATE INDEX native_files_agent ON native_files(agent);
