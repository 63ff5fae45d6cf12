-- The session list orders by `updated_at DESC, id`. The first index only covered `updated_at`, so SQLite
-- read every row of the owner (with its search_text) to sort the ties: 38 ms per page at 10k sessions
-- (scripts/bench-mcp.sh). This index yields the rows already in list order and the page is read directly.
CREATE INDEX sessions_owner_listing ON sessions(owner, is_deleted, updated_at DESC, id);
DROP INDEX sessions_owner_updated;
