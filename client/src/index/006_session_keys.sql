-- Each message row keeps where its message is and nothing more. A session's integer key takes the place of
-- its 20-44 byte ID, in each row and in the index on it, and `msg_id` and `role` go: search reads them from
-- the message itself, whose line it reads anyway for the snippet. A 10k-session import wrote 169 MB of
-- index.db (twice, through the WAL) for 1.36 M rows, and spent a sixth of its CPU on it.
--
-- The key is an INTEGER PRIMARY KEY, so it is the rowid under another name, and VACUUM keeps it (an
-- unnamed rowid it may renumber). The old table's rowids become the keys.
CREATE TABLE sessions_new (
    session_key         INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL UNIQUE,
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
    indexed_at          TEXT NOT NULL,
    parent_session_id   TEXT
);
INSERT INTO sessions_new (session_key, session_id, source_tool, native_id, title, alias, tags, project_path,
        model_id, message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, created_at,
        updated_at, size_bytes, messages_bytes, indexed_at, parent_session_id)
    SELECT rowid, session_id, source_tool, native_id, title, alias, tags, project_path,
        model_id, message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, created_at,
        updated_at, size_bytes, messages_bytes, indexed_at, parent_session_id
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_updated_at ON sessions(updated_at);
CREATE INDEX sessions_source_tool ON sessions(source_tool, updated_at);
CREATE INDEX sessions_alias ON sessions(alias) WHERE alias IS NOT NULL;

CREATE TABLE message_rows_new (
    rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
    session_key INTEGER NOT NULL,
    line_offset INTEGER NOT NULL,
    line_len    INTEGER NOT NULL
);
-- A row whose session is gone (none should be) is left behind: search could not show it.
INSERT INTO message_rows_new (rowid, session_key, line_offset, line_len)
    SELECT r.rowid, s.session_key, r.line_offset, r.line_len
    FROM message_rows r JOIN sessions s ON s.session_id = r.session_id;
-- AUTOINCREMENT's promise carries over, as in 005: no rowid is ever given twice.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'message_rows_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'message_rows_new');
UPDATE sqlite_sequence
    SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('message_rows', 'message_rows_new'))
    WHERE name = 'message_rows_new';
DROP TABLE message_rows;
ALTER TABLE message_rows_new RENAME TO message_rows;
CREATE INDEX message_rows_session ON message_rows(session_key);
