//! Mapping SQLite rows to records.

use rusqlite::Row;
use sessionfs_shared::SessionId;

use crate::store::{HandoffRecord, KeyRecord, SessionMeta, SessionRecord, UserRecord};

/// Columns read for a [`SessionRecord`], in the order [`session_from_row`] expects.
pub const SESSION_COLUMNS: &str = "owner, id, alias, title, tags, source_tool, source_tool_version, original_session_id, model_provider, \
model_id, message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, duration_ms, parent_session_id, created_at, \
updated_at, uploaded_at, blob_key, blob_size, etag, is_deleted, deleted_at, deleted_by, delete_scope, purge_after";

/// The handoff query up to its WHERE clause.
pub const HANDOFF_SELECT: &str = "SELECT h.id, h.sender_id, u.email, h.session_id, h.recipient_email, h.message, h.status, h.created_at, \
h.expires_at, h.claimed_at, h.recipient_id, h.recipient_session_id, h.snapshot_title, h.snapshot_tool, h.snapshot_model_id, \
h.snapshot_message_count, h.viewed_at, h.revoked_at, h.revoke_reason FROM handoffs h JOIN users u ON u.id = h.sender_id";

fn n(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

pub fn session_from_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    let id: String = r.get(1)?;
    let tags: String = r.get(4)?;
    Ok(SessionRecord {
        owner: r.get(0)?,
        // Rows are written only from parsed IDs.
        id: SessionId::parse(&id)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?,
        alias: r.get(2)?,
        meta: SessionMeta {
            title: r.get(3)?,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            source_tool: r.get(5)?,
            source_tool_version: r.get(6)?,
            original_session_id: r.get(7)?,
            model_provider: r.get(8)?,
            model_id: r.get(9)?,
            message_count: n(r, 10)?,
            turn_count: n(r, 11)?,
            tool_use_count: n(r, 12)?,
            total_input_tokens: n(r, 13)?,
            total_output_tokens: n(r, 14)?,
            duration_ms: r.get::<_, Option<i64>>(15)?.map(|d| d.max(0) as u64),
            parent_session_id: r.get(16)?,
            created_at: r.get(17)?,
            updated_at: r.get(18)?,
            search_text: String::new(),
        },
        uploaded_at: r.get(19)?,
        blob_key: r.get(20)?,
        blob_size: n(r, 21)?,
        etag: r.get(22)?,
        is_deleted: r.get(23)?,
        deleted_at: r.get(24)?,
        deleted_by: r.get(25)?,
        delete_scope: r.get(26)?,
        purge_after: r.get(27)?,
    })
}

pub fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        email_verified: r.get(3)?,
        is_admin: r.get(4)?,
        created_at: r.get(5)?,
    })
}

pub fn key_from_row(r: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        key_hash: r.get(3)?,
        key_prefix: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
        last_used_at: r.get(8)?,
    })
}

pub fn handoff_from_row(r: &Row<'_>) -> rusqlite::Result<HandoffRecord> {
    Ok(HandoffRecord {
        id: r.get(0)?,
        sender_id: r.get(1)?,
        sender_email: r.get(2)?,
        session_id: r.get(3)?,
        recipient_email: r.get(4)?,
        message: r.get(5)?,
        status: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        claimed_at: r.get(9)?,
        recipient_id: r.get(10)?,
        recipient_session_id: r.get(11)?,
        snapshot_title: r.get(12)?,
        snapshot_tool: r.get(13)?,
        snapshot_model_id: r.get(14)?,
        snapshot_message_count: n(r, 15)?,
        viewed_at: r.get(16)?,
        revoked_at: r.get(17)?,
        revoke_reason: r.get(18)?,
    })
}
