//! SQL text for the PostgreSQL system: quoted names, a table's columns and
//! types, and the conditions that find a record and check its values.
//!
//! Every value travels as text: parameters are sent as `text` and cast to
//! the column's own type (`$1::text::numeric(10,2)`), and values are read
//! back with `::text`, so Trueup never needs to know PostgreSQL's types.

use crate::connectors::{Field, WriteChange, WriteKind};

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

/// The shape of a write that can go with others of the same shape in one
/// statement: an update or an insert, with its id, value and expected
/// field names, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchShape {
    /// `Update` or `Insert`.
    pub kind: WriteKind,
    /// The id fields: the table's primary key for an update; for an
    /// insert, the id fields it is given (and returns).
    pub id: Vec<String>,
    /// The fields set (for an insert, those not among the id fields).
    pub values: Vec<String>,
    /// The fields whose pulled values the record must still hold (none
    /// for an insert).
    pub expected: Vec<String>,
}

impl BatchShape {
    /// The shape of `change`.
    pub fn of(change: &WriteChange) -> BatchShape {
        let names = |f: &mut dyn Iterator<Item = &Field>| f.map(|(n, _)| n.clone()).collect();
        BatchShape {
            kind: change.kind,
            id: names(&mut change.id.iter()),
            values: names(&mut Self::values_of(change)),
            expected: names(&mut change.expected.iter()),
        }
    }

    /// The fields `change` sets that go in their own arrays: for an insert,
    /// those not among its id fields (as [`BatchShape::values`]).
    fn values_of(change: &WriteChange) -> impl Iterator<Item = &Field> {
        change.values.iter().filter(move |(n, _)| {
            change.kind != WriteKind::Insert || !change.id.iter().any(|(i, _)| i == n)
        })
    }

    /// The values of `change` in the order of the statement's arrays: id,
    /// values, expected.
    pub fn row(change: &WriteChange) -> impl Iterator<Item = &Option<String>> {
        change
            .id
            .iter()
            .chain(Self::values_of(change))
            .chain(&change.expected)
            .map(|(_, v)| v)
    }

    /// How many array parameters the statement takes: one per id, value
    /// and expected field, in that order.
    pub fn arrays(&self) -> usize {
        self.id.len() + self.values.len() + self.expected.len()
    }

    /// The statement that writes many rows of this shape, the rows sent as
    /// one text array per field (`unnest … WITH ORDINALITY`). It returns,
    /// for each row written, its ordinal (1-based) and its id fields as
    /// text. The ids of one statement must be distinct.
    pub fn sql(&self, info: &TableInfo) -> String {
        let arrays = (1..=self.arrays())
            .map(|i| format!("${i}::text[]"))
            .collect::<Vec<_>>()
            .join(", ");
        let names = (0..self.arrays())
            .map(|i| format!("_tu_{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = format!("unnest({arrays}) WITH ORDINALITY AS _tu_v({names}, _tu_ord)");
        match self.kind {
            WriteKind::Insert => self.insert_sql(info, &rows),
            _ => self.update_sql(info, &rows),
        }
    }

    /// `col = _tu_v._tu_j::text::type` for each id field.
    fn id_match(&self, info: &TableInfo, table: &str) -> Vec<String> {
        self.id
            .iter()
            .enumerate()
            .map(|(j, n)| {
                format!(
                    "{table}.{} = _tu_v._tu_{j}::text::{}",
                    quote_ident(n),
                    info.type_of(n).unwrap_or("text")
                )
            })
            .collect()
    }

    /// The id fields of `table` as text, for the result.
    fn id_text(&self, table: &str) -> String {
        self.id
            .iter()
            .map(|n| format!("{table}.{}::text", quote_ident(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A conditional `UPDATE` of many records: each row is written only
    /// where the record still holds its expected values (the same
    /// condition as [`expected_condition`], row by row).
    fn update_sql(&self, info: &TableInfo, rows: &str) -> String {
        let ty = |n: &str| info.type_of(n).unwrap_or("text").to_string();
        let (ids, vals) = (self.id.len(), self.values.len());
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
        let mut cond = self.id_match(info, "_tu_t");
        cond.extend(self.expected.iter().enumerate().map(|(j, n)| {
            let (c, v) = (
                format!("_tu_t.{}", quote_ident(n)),
                format!("_tu_v._tu_{}", ids + vals + j),
            );
            format!("(CASE WHEN {v} IS NULL THEN ({c} IS NULL OR {c}::text = '') ELSE {c}::text = {v} END)")
        }));
        format!(
            "UPDATE {} AS _tu_t SET {sets} FROM {rows} WHERE {} RETURNING _tu_v._tu_ord, {}",
            info.quoted,
            cond.join(" AND "),
            self.id_text("_tu_t")
        )
    }

    /// An `INSERT` of many records with their id fields given; each row
    /// inserted is found again by its id to return its ordinal.
    fn insert_sql(&self, info: &TableInfo, rows: &str) -> String {
        let columns: Vec<&String> = self.id.iter().chain(&self.values).collect();
        let list = columns
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ");
        let select = columns
            .iter()
            .enumerate()
            .map(|(j, n)| format!("_tu_{j}::text::{}", info.type_of(n).unwrap_or("text")))
            .collect::<Vec<_>>()
            .join(", ");
        let returning = self
            .id
            .iter()
            .map(|n| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "WITH _tu_v AS (SELECT * FROM {rows}), \
             _tu_i AS (INSERT INTO {} ({list}) SELECT {select} FROM _tu_v ORDER BY _tu_ord RETURNING {returning}) \
             SELECT _tu_v._tu_ord, {} FROM _tu_i JOIN _tu_v ON {}",
            info.quoted,
            self.id_text("_tu_i"),
            self.id_match(info, "_tu_i").join(" AND ")
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
