-- SessionFS server schema, SQLite. Session IDs are unique per owner: a session is (owner, id).
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    is_admin       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    sync_mode      TEXT NOT NULL DEFAULT 'off',
    sync_debounce  INTEGER NOT NULL DEFAULT 30
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE verification_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);

CREATE TABLE sessions (
    owner               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id                  TEXT NOT NULL,
    alias               TEXT,
    title               TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    source_tool         TEXT NOT NULL,
    source_tool_version TEXT,
    original_session_id TEXT,
    model_provider      TEXT,
    model_id            TEXT,
    message_count       INTEGER NOT NULL DEFAULT 0,
    turn_count          INTEGER NOT NULL DEFAULT 0,
    tool_use_count      INTEGER NOT NULL DEFAULT 0,
    total_input_tokens  INTEGER NOT NULL DEFAULT 0,
    total_output_tokens INTEGER NOT NULL DEFAULT 0,
    duration_ms         INTEGER,
    parent_session_id   TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    uploaded_at         TEXT NOT NULL,
    blob_key            TEXT NOT NULL,
    blob_size           INTEGER NOT NULL,
    etag                TEXT NOT NULL,
    search_text         TEXT NOT NULL DEFAULT '',
    is_deleted          INTEGER NOT NULL DEFAULT 0,
    deleted_at          TEXT,
    deleted_by          TEXT,
    delete_scope        TEXT,
    purge_after         TEXT,
    PRIMARY KEY (owner, id)
);
CREATE INDEX sessions_owner_updated ON sessions(owner, is_deleted, updated_at);
CREATE UNIQUE INDEX sessions_owner_alias ON sessions(owner, alias) WHERE alias IS NOT NULL AND is_deleted = 0;
CREATE INDEX sessions_purge ON sessions(is_deleted, purge_after);
CREATE INDEX sessions_blob ON sessions(blob_key);

-- Full-text index over title and message text, kept in step with `sessions` by triggers.
CREATE VIRTUAL TABLE sessions_fts USING fts5(title, search_text, content = 'sessions', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER sessions_fts_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO sessions_fts (rowid, title, search_text) VALUES (new.rowid, new.title, new.search_text);
END;
CREATE TRIGGER sessions_fts_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO sessions_fts (sessions_fts, rowid, title, search_text) VALUES ('delete', old.rowid, old.title, old.search_text);
END;
CREATE TRIGGER sessions_fts_update AFTER UPDATE OF title, search_text ON sessions BEGIN
    INSERT INTO sessions_fts (sessions_fts, rowid, title, search_text) VALUES ('delete', old.rowid, old.title, old.search_text);
    INSERT INTO sessions_fts (rowid, title, search_text) VALUES (new.rowid, new.title, new.search_text);
END;

CREATE TABLE sync_watchlist (
    owner          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id     TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending',
    last_synced_at TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (owner, session_id)
);

-- Handoffs keep a snapshot of the session and no foreign key to it, so purging a session never fails
-- because it was once handed off (a bug of the original on PostgreSQL).
CREATE TABLE handoffs (
    id                     TEXT PRIMARY KEY,
    sender_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id             TEXT NOT NULL,
    recipient_email        TEXT NOT NULL,
    message                TEXT,
    status                 TEXT NOT NULL DEFAULT 'pending',
    created_at             TEXT NOT NULL,
    expires_at             TEXT NOT NULL,
    claimed_at             TEXT,
    recipient_id           TEXT,
    recipient_session_id   TEXT,
    snapshot_title         TEXT,
    snapshot_tool          TEXT,
    snapshot_model_id      TEXT,
    snapshot_message_count INTEGER NOT NULL DEFAULT 0,
    viewed_at              TEXT,
    revoked_at             TEXT,
    revoke_reason          TEXT
);
CREATE INDEX handoffs_recipient ON handoffs(recipient_email, created_at);
CREATE INDEX handoffs_sender ON handoffs(sender_id, created_at);

CREATE TABLE handoff_comments (
    id             TEXT PRIMARY KEY,
    handoff_id     TEXT NOT NULL REFERENCES handoffs(id) ON DELETE CASCADE,
    author_user_id TEXT NOT NULL,
    content        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX handoff_comments_handoff ON handoff_comments(handoff_id, created_at);

CREATE TABLE handoff_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id    TEXT NOT NULL REFERENCES handoffs(id) ON DELETE CASCADE,
    event_type    TEXT NOT NULL,
    actor_user_id TEXT,
    payload       TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL
);
CREATE INDEX handoff_events_handoff ON handoff_events(handoff_id, id);
