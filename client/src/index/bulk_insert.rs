//! Many rows in few statements. SQLite runs every statement through its VM, and on an AUTOINCREMENT table reads
//! and writes `sqlite_sequence`, once per statement: one row at a time, that was more than half the cost of a
//! small row (1.36 M message rows took 1.0 s one by one, 0.46 s 64 at a time).
//!
//! Not for FTS5 tables: a statement that may change several rows opens a statement savepoint, and FTS5 writes
//! out its pending terms at every savepoint (see `fulltext.rs`).

use rusqlite::{Connection, ToSql};

use crate::error::Result;

/// The statement sizes, largest first and down to one: any number of rows takes a few statements, and only
/// four are ever cached per table.
const ROWS_PER_STATEMENT: [usize; 4] = [64, 16, 4, 1];

/// Run `insert` (`INSERT INTO table (columns)`, without `VALUES`) for every row of `rows`, in order, each row's
/// `N` values given by `values`.
pub(crate) fn insert_rows<T, const N: usize>(
    conn: &Connection,
    insert: &str,
    rows: &[T],
    values: fn(&T) -> [&dyn ToSql; N],
) -> Result<()> {
    let mut rows = rows;
    for size in ROWS_PER_STATEMENT {
        if rows.len() < size {
            continue;
        }
        let mut statement = conn.prepare_cached(&with_values(insert, size, N))?;
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(size * N);
        while rows.len() >= size {
            let (chunk, rest) = rows.split_at(size);
            params.clear();
            params.extend(chunk.iter().flat_map(values));
            statement.execute(params.as_slice())?;
            rows = rest;
        }
    }
    Ok(())
}

/// `insert` followed by `rows` tuples of `width` placeholders.
fn with_values(insert: &str, rows: usize, width: usize) -> String {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    format!("{insert} VALUES {}", vec![tuple; rows].join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_goes_in_once_and_in_order_whatever_the_count() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, s TEXT)").unwrap();
        // 64 + 16 + 16 + 4 + 1 + 1 + 1: every statement size, some twice.
        let rows: Vec<(i64, String)> = (0..103).map(|n| (n, format!("row {n}"))).collect();
        insert_rows(&conn, "INSERT INTO t (n, s)", &rows, |(n, s)| [n, s]).unwrap();
        insert_rows::<(i64, String), 2>(&conn, "INSERT INTO t (n, s)", &[], |(n, s)| [n, s]).unwrap();
        let back: Vec<(i64, String)> = conn
            .prepare("SELECT n, s FROM t ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(back, rows);
    }

    #[test]
    fn the_statement_has_a_tuple_of_placeholders_per_row() {
        assert_eq!(with_values("INSERT INTO t (a, b)", 2, 2), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
    }
}
