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
