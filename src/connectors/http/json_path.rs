//! Dotted paths into JSON responses: `data`, `paging.next.after`,
//! `results.0.id`. An empty path (or `.`) is the whole document.

use serde_json::Value;

/// The value at `path`, if present.
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    if path.is_empty() || path == "." {
        return Some(value);
    }
    let mut cur = value;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A scalar as text (`None` for null, objects and arrays keep their JSON).
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_walk_objects_and_arrays() {
        let v = serde_json::json!({"data": [{"id": 7}], "paging": {"next": {"after": "x"}}});
        assert_eq!(get(&v, "paging.next.after"), Some(&Value::from("x")));
        assert_eq!(get(&v, "data.0.id"), Some(&Value::from(7)));
        assert_eq!(get(&v, ""), Some(&v));
        assert_eq!(get(&v, "data.1"), None);
        assert_eq!(get(&v, "paging.prev"), None);
        assert_eq!(text(&Value::from(7)), Some("7".into()));
        assert_eq!(text(&Value::Null), None);
    }
}
