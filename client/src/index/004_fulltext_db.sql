-- The full-text index moves to its own file, fulltext.db (see index/fulltext.rs): FTS5 work no longer holds
-- index.db's write lock. fulltext.db is filled again from the sessions' files on the first open.
DROP TABLE IF EXISTS messages_fts;

-- Message rowids are the full-text index's rowids, and the two files are committed one after the other: a
-- rowid must never be used twice, or a full-text row a crash left behind would point at another message.
CREATE TABLE message_rows_new (
    rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    msg_id      TEXT NOT NULL,
    role        TEXT NOT NULL,
    timestamp   TEXT,
    line_offset INTEGER NOT NULL DEFAULT 0,
    line_len    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO message_rows_new (rowid, session_id, msg_id, role, timestamp, line_offset, line_len)
    SELECT rowid, session_id, msg_id, role, timestamp, line_offset, line_len FROM message_rows;
DROP TABLE message_rows;
ALTER TABLE message_rows_new RENAME TO message_rows;
CREATE INDEX message_rows_session ON message_rows(session_id);

-- Which index.db this is: fulltext.db records the one it follows, and starts afresh under a new one (a deleted
-- and recreated index.db numbers its messages from 1 again).
CREATE TABLE index_identity (id TEXT NOT NULL);
INSERT INTO index_identity (id) VALUES (lower(hex(randomblob(16))));
