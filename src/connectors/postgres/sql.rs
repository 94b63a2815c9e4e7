//! SQL text for the PostgreSQL system: quoted names, a table's columns and
//! types, and the conditions that find a record and check its values.
//!
//! Every value travels as text: parameters are sent as `text` and cast to
//! the column's own type (`$1::text::numeric(10,2)`), and values are read
//! back with `::text`, so Trueup never needs to know PostgreSQL's types.

use crate::connectors::Field;

/// Quotes an identifier for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a table name, accepting `schema.table`.
pub fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, table)) if !name.contains('"') && !table.contains('.') => {
            format!("{}.{}", quote_ident(schema), quote_ident(table))
        }
        _ => quote_ident(name),
    }
}

/// A table's columns, their types and its primary key.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// The quoted, possibly schema-qualified name.
    pub quoted: String,
    /// Column names and their SQL types (as `format_type` writes them), in order.
    pub columns: Vec<(String, String)>,
    /// The primary key's columns, empty when there is none.
    pub key: Vec<String>,
}

/// The query that lists a table's columns; `$1` is the quoted table name.
pub const TABLE_INFO: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
     coalesce(a.attnum = ANY(i.indkey), false) \
     FROM pg_attribute a \
     LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
     WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";

impl TableInfo {
    /// The SQL type of a column, if the table has it.
    pub fn type_of(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| n == column)
            .map(|(_, t)| t.as_str())
    }

    /// The first of `names` that the table lacks.
    pub fn missing<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        names.find(|n| self.type_of(n).is_none())
    }

    /// Whether `id` names exactly the primary key's columns (so it matches
    /// at most one record).
    pub fn is_key(&self, id: &[Field]) -> bool {
        !self.key.is_empty()
            && id.len() == self.key.len()
            && id.iter().all(|(n, _)| self.key.contains(n))
    }

    /// `"a"::text AS "a", ...` for the given columns (all when `None`).
    pub fn select_list(&self, columns: &[String]) -> String {
        columns
            .iter()
            .map(|n| format!("{q}::text AS {q}", q = quote_ident(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Text parameters with the SQL that refers to them.
#[derive(Debug, Default)]
pub struct Params {
    /// The values, in `$n` order.
    pub values: Vec<Option<String>>,
}

impl Params {
    /// Adds a value and returns its placeholder (`$n`).
    pub fn push(&mut self, value: &Option<String>) -> String {
        self.values.push(value.clone());
        format!("${}", self.values.len())
    }

    /// The values as driver parameters.
    pub fn as_sql(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect()
    }
}

/// `col = $n::text::type` for each id field (`NULL` or empty for no value),
/// joined by `AND`. Comparing in the column's own type lets an index serve.
pub fn id_condition(info: &TableInfo, id: &[Field], params: &mut Params) -> String {
    id.iter()
        .map(|(name, value)| {
            let col = quote_ident(name);
            match value {
                None => format!("({col} IS NULL OR {col}::text = '')"),
                Some(_) => {
                    let ty = info.type_of(name).unwrap_or("text");
                    format!("{col} = {}::text::{ty}", params.push(value))
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `col::text = $n` for each expected field, as the values were read:
/// no value matches `NULL` and empty text.
pub fn expected_condition(expected: &[Field], params: &mut Params) -> String {
    expected
        .iter()
        .map(|(name, value)| {
            let col = quote_ident(name);
            match value {
                None => format!("({col} IS NULL OR {col}::text = '')"),
                Some(_) => format!("{col}::text = {}::text", params.push(value)),
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `$n::text::type` for a value written into a column.
pub fn cast_param(
    info: &TableInfo,
    name: &str,
    value: &Option<String>,
    params: &mut Params,
) -> String {
    let ty = info.type_of(name).unwrap_or("text");
    format!("{}::text::{ty}", params.push(value))
}

/// The shape of an update that can go with others in one statement: its
/// id, value and expected field names, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpdateShape {
    /// The id fields (the table's primary key).
    pub id: Vec<String>,
    /// The fields set.
    pub values: Vec<String>,
    /// The fields whose pulled values the record must still hold.
    pub expected: Vec<String>,
}

impl UpdateShape {
    /// The shape of `change`.
    pub fn of(change: &crate::connectors::WriteChange) -> UpdateShape {
        let names = |f: &[Field]| f.iter().map(|(n, _)| n.clone()).collect();
        UpdateShape {
            id: names(&change.id),
            values: names(&change.values),
            expected: names(&change.expected),
        }
    }

    /// How many array parameters the statement takes: one per id, value
    /// and expected field, in that order.
    pub fn arrays(&self) -> usize {
        self.id.len() + self.values.len() + self.expected.len()
    }

    /// One conditional `UPDATE` of many records: the rows come as one text
    /// array per field (`unnest … WITH ORDINALITY`), each row is written
    /// only where the record still holds its expected values (the same
    /// condition as [`expected_condition`], row by row), and the statement
    /// returns the ordinal (1-based) and the id fields of each row written.
    /// The ids of one statement must be distinct.
    pub fn update_sql(&self, info: &TableInfo) -> String {
        let col = |n: &str| format!("_tu_t.{}", quote_ident(n));
        let ty = |n: &str| info.type_of(n).unwrap_or("text").to_string();
        let (ids, vals) = (self.id.len(), self.values.len());
        let arrays = (1..=self.arrays())
            .map(|i| format!("${i}::text[]"))
            .collect::<Vec<_>>()
            .join(", ");
        let names = (0..self.arrays())
            .map(|i| format!("_tu_{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sets = self
            .values
            .iter()
            .enumerate()
            .map(|(j, n)| {
                format!(
                    "{} = _tu_v._tu_{}::text::{}",
                    quote_ident(n),
                    ids + j,
                    ty(n)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut cond: Vec<String> = self
            .id
            .iter()
            .enumerate()
            .map(|(j, n)| format!("{} = _tu_v._tu_{j}::text::{}", col(n), ty(n)))
            .collect();
        cond.extend(self.expected.iter().enumerate().map(|(j, n)| {
            let (c, v) = (col(n), format!("_tu_v._tu_{}", ids + vals + j));
            format!("(CASE WHEN {v} IS NULL THEN ({c} IS NULL OR {c}::text = '') ELSE {c}::text = {v} END)")
        }));
        let returning = self
            .id
            .iter()
            .map(|n| format!("{}::text", col(n)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "UPDATE {} AS _tu_t SET {sets} FROM unnest({arrays}) WITH ORDINALITY AS _tu_v({names}, _tu_ord) \
             WHERE {} RETURNING _tu_v._tu_ord, {returning}",
            info.quoted,
            cond.join(" AND ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(quote_table("sales.customers"), "\"sales\".\"customers\"");
        assert_eq!(quote_table("Odd\"Name"), "\"Odd\"\"Name\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
    }
}
