-- The full-text index no longer keeps a copy of every message's text (it was half of index.db, and writing it
-- was a tenth of capture): the text is in the session's messages.jsonl, and message_rows says where, so
-- search reads the few messages it shows. The old index is dropped; Store::open re-indexes the sessions
-- listed in reindex_pending from their .sfs directories, once.
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
-- FTS5 writes its pending terms out as a new segment whenever they pass `hashsize` (1 MB by default), and
-- merges segments as they pile up; a bigger buffer means fewer, larger segments and less merging.
INSERT INTO messages_fts (messages_fts, rank) VALUES ('hashsize', 16777216);
DELETE FROM message_rows;
ALTER TABLE message_rows ADD COLUMN line_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message_rows ADD COLUMN line_len INTEGER NOT NULL DEFAULT 0;
CREATE TABLE reindex_pending (session_id TEXT PRIMARY KEY);
INSERT INTO reindex_pending (session_id) SELECT session_id FROM sessions;
