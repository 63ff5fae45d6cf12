-- One index per order of `GET /sessions?sort=…` (and the trash's default), each matching its ORDER BY in
-- `listing_order` exactly, so that a page is read in order instead of sorting every row of the owner.
-- Measured at 10k sessions of one owner with 4 KB of search text each: 6 to 8 ms per page without them,
-- 0.1 ms with. `sessions_owner_by_tool` covers the per-agent storage figures and the used-bytes sum that
-- every push computes inside its write transaction (8 ms and 4.8 ms before, 1.1 ms and 0.6 ms after).
CREATE INDEX sessions_owner_by_created ON sessions(owner, is_deleted, created_at DESC, id);
CREATE INDEX sessions_owner_by_title ON sessions(owner, is_deleted, title IS NULL, title COLLATE NOCASE, id);
CREATE INDEX sessions_owner_by_size ON sessions(owner, is_deleted, blob_size DESC, id);
CREATE INDEX sessions_owner_by_messages ON sessions(owner, is_deleted, message_count DESC, id);
CREATE INDEX sessions_owner_by_deleted ON sessions(owner, is_deleted, deleted_at DESC, id);
CREATE INDEX sessions_owner_by_tool ON sessions(owner, is_deleted, source_tool, blob_size);
