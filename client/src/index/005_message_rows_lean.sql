-- message_rows drops two things nobody reads. Its foreign key: every insert looked its session up to check
-- it, once per message (about 5 % of an import), and every delete of a session already deletes its
-- messages first, itself, to take them out of the full-text index. And `timestamp`: the manifest and
-- messages.jsonl keep each message's time; the index never read it.
CREATE TABLE message_rows_new (
    rowid       INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    msg_id      TEXT NOT NULL,
    role        TEXT NOT NULL,
    line_offset INTEGER NOT NULL DEFAULT 0,
    line_len    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO message_rows_new (rowid, session_id, msg_id, role, line_offset, line_len)
    SELECT rowid, session_id, msg_id, role, line_offset, line_len FROM message_rows;
-- AUTOINCREMENT's promise carries over (fulltext.db relies on it: no rowid is ever used twice): the new table
-- counts on from the highest rowid the old one ever gave, not from the highest it still holds.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'message_rows_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'message_rows_new');
UPDATE sqlite_sequence
    SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('message_rows', 'message_rows_new'))
    WHERE name = 'message_rows_new';
DROP TABLE message_rows;
ALTER TABLE message_rows_new RENAME TO message_rows;
CREATE INDEX message_rows_session ON message_rows(session_id);
