-- Native sessions `sfs resume` wrote, so capture links them to the session they continue instead of
-- taking them for unrelated new sessions; and that link on the sessions themselves, for `sfs list`.
-- A row is made before the native file is written (so a daemon capturing it at once already finds it)
-- and given its path after.
CREATE TABLE resumes (
    agent             TEXT NOT NULL,
    native_id         TEXT NOT NULL,
    native_path       TEXT,
    origin_session_id TEXT NOT NULL,
    written_messages  INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (agent, native_id)
);
CREATE INDEX resumes_path ON resumes(native_path);
CREATE INDEX resumes_origin ON resumes(origin_session_id);

ALTER TABLE sessions ADD COLUMN parent_session_id TEXT;
