//! The two Tryton entities and how their records are flattened into fields.
//!
//! **parties** (`party.party`), one record per party:
//!
//! | field | Tryton |
//! | --- | --- |
//! | `id` | `party.party.id` (read-only) |
//! | `code` | `party.party.code`: the external reference (unique) |
//! | `name` | `party.party.name` |
//! | `email` | value of the party's first contact mechanism of type `email` |
//! | `phone` | value of the party's first contact mechanism of type `phone` |
//! | `street`, `postal_code`, `city` | the party's first address |
//! | `country` | ISO code of the first address's country |
//! | `updated_at` | `write_date`, else `create_date`, UTC (read-only) |
//!
//! "First" is Tryton's own order (sequence, then id), the one its `email`
//! and `phone` fields use.
//!
//! **products** (`product.product`, variants): `id`, `code` (read-only,
//! computed by Tryton), `name` (read-only here: the template's), `list_price`
//! (a `Decimal` as its digits: the price used, the variant's own else the
//! template's; a write sets the variant's own), `active` (`true`/`false`),
//! `updated_at`. List prices depend on the company: the user's company
//! (from its preferences) is in the context of every call.

use serde_json::{Map, Value, json};

use super::rpc::{decimal, text_of};
use crate::connectors::Field;

/// Which model an entity reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// `party.party`, flattened with contact mechanisms and the first address.
    Parties,
    /// `product.product`.
    Products,
}

/// The fields of parties, in schema order.
pub const PARTY_FIELDS: &[&str] = &[
    "id",
    "code",
    "name",
    "email",
    "phone",
    "street",
    "postal_code",
    "city",
    "country",
    "updated_at",
];

/// The fields of products, in schema order.
pub const PRODUCT_FIELDS: &[&str] = &["id", "code", "name", "list_price", "active", "updated_at"];

impl Entity {
    /// The entity named in the configuration (`table = "parties"`).
    pub fn parse(name: &str) -> Option<Entity> {
        match name {
            "parties" | "party.party" => Some(Entity::Parties),
            "products" | "product.product" => Some(Entity::Products),
            _ => None,
        }
    }

    /// The Tryton model.
    pub fn model(self) -> &'static str {
        match self {
            Entity::Parties => "party.party",
            Entity::Products => "product.product",
        }
    }

    /// The flattened field names.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Entity::Parties => PARTY_FIELDS,
            Entity::Products => PRODUCT_FIELDS,
        }
    }

    /// The fields to ask `search_read` for (nested ones with a dot).
    pub fn read_fields(self) -> Value {
        match self {
            Entity::Parties => self.read_fields_for(PARTY_FIELDS.iter().copied()),
            Entity::Products => json!([
                "id",
                "_timestamp",
                "code",
                "name",
                "list_price_used",
                "active",
                "write_date",
                "create_date",
            ]),
        }
    }

    /// The fields to ask `search_read` for when only `needed` flattened
    /// fields matter (a push's re-read: the fields it compares or writes).
    /// The id, `code` and `_timestamp` always come; contact mechanisms and
    /// addresses (nested reads, the costly part) only when a field of
    /// theirs is needed. Fields not read flatten to no value.
    pub fn read_fields_for<'a>(self, needed: impl IntoIterator<Item = &'a str>) -> Value {
        if self == Entity::Products {
            return self.read_fields();
        }
        let mut fields = vec!["id", "_timestamp", "code"];
        let (mut name, mut dates, mut mechanisms, mut addresses) = (false, false, false, false);
        for n in needed {
            match n {
                "name" => name = true,
                "updated_at" => dates = true,
                "email" | "phone" => mechanisms = true,
                "street" | "postal_code" | "city" | "country" => addresses = true,
                _ => {}
            }
        }
        if name {
            fields.push("name");
        }
        if dates {
            fields.extend(["write_date", "create_date"]);
        }
        if mechanisms {
            fields.extend([
                "contact_mechanisms.type",
                "contact_mechanisms.value",
                "contact_mechanisms._timestamp",
            ]);
        }
        if addresses {
            fields.extend([
                "addresses.street",
                "addresses.postal_code",
                "addresses.city",
                "addresses.country.code",
                "addresses._timestamp",
            ]);
        }
        json!(fields)
    }

    /// The fields a write may set.
    pub fn writable(self, field: &str) -> bool {
        match self {
            Entity::Parties => !matches!(field, "id" | "updated_at"),
            Entity::Products => matches!(field, "list_price" | "active"),
        }
    }
}

/// A contact mechanism or address as read: its id and `_timestamp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub {
    /// The record id.
    pub id: i64,
    /// Its `_timestamp` as read.
    pub timestamp: Option<String>,
}

/// One record as read, with what a conditional write needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The Tryton id.
    pub id: i64,
    /// `_timestamp` as read.
    pub timestamp: Option<String>,
    /// The flattened fields, in schema order.
    pub fields: Vec<Field>,
    /// Parties: the e-mail contact mechanism shown.
    pub email: Option<Sub>,
    /// Parties: the phone contact mechanism shown.
    pub phone: Option<Sub>,
    /// Parties: the first address.
    pub address: Option<Sub>,
}

impl Row {
    /// The value of a flattened field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The values of the fields named in `names` (the current values of
    /// the expected fields of a change).
    pub fn pick(&self, names: &[Field]) -> Vec<Field> {
        names
            .iter()
            .map(|(n, _)| (n.clone(), self.get(n).map(str::to_string)))
            .collect()
    }

    /// The `_timestamp` keys of the party and of its shown sub-records.
    pub fn timestamps(&self, entity: Entity) -> Map<String, Value> {
        let mut out = Map::new();
        let mut add = |model: &str, id: i64, ts: &Option<String>| {
            if let Some(ts) = ts {
                out.insert(format!("{model},{id}"), Value::String(ts.clone()));
            }
        };
        add(entity.model(), self.id, &self.timestamp);
        if let Some(s) = &self.email {
            add("party.contact_mechanism", s.id, &s.timestamp);
        }
        if let Some(s) = &self.phone {
            add("party.contact_mechanism", s.id, &s.timestamp);
        }
        if let Some(s) = &self.address {
            add("party.address", s.id, &s.timestamp);
        }
        out
    }
}

fn ts(v: &Value) -> Option<String> {
    match v.get("_timestamp") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| text_of(x, false))
}

fn updated_at(v: &Value) -> Option<String> {
    text(v, "write_date").or_else(|| text(v, "create_date"))
}

/// Flattens one record of `search_read`.
pub fn row_of(entity: Entity, v: &Value) -> Option<Row> {
    let id = v.get("id")?.as_i64()?;
    let timestamp = ts(v);
    Some(match entity {
        Entity::Products => Row {
            id,
            timestamp,
            fields: vec![
                ("id".into(), Some(id.to_string())),
                ("code".into(), text(v, "code")),
                ("name".into(), text(v, "name")),
                ("list_price".into(), text(v, "list_price_used")),
                (
                    "active".into(),
                    v.get("active").and_then(|x| text_of(x, true)),
                ),
                ("updated_at".into(), updated_at(v)),
            ],
            email: None,
            phone: None,
            address: None,
        },
        Entity::Parties => {
            let empty = vec![];
            let mechanisms = v
                .get("contact_mechanisms.")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let first = |kind: &str| {
                mechanisms
                    .iter()
                    .find(|m| m.get("type").and_then(Value::as_str) == Some(kind))
            };
            let sub = |m: &Value| {
                Some(Sub {
                    id: m.get("id")?.as_i64()?,
                    timestamp: ts(m),
                })
            };
            let email = first("email");
            let phone = first("phone");
            let address = v
                .get("addresses.")
                .and_then(Value::as_array)
                .and_then(|a| a.first());
            let addr = |k: &str| address.and_then(|a| text(a, k));
            let country = address
                .and_then(|a| a.get("country."))
                .and_then(|c| text(c, "code"));
            Row {
                id,
                timestamp,
                fields: vec![
                    ("id".into(), Some(id.to_string())),
                    ("code".into(), text(v, "code")),
                    ("name".into(), text(v, "name")),
                    ("email".into(), email.and_then(|m| text(m, "value"))),
                    ("phone".into(), phone.and_then(|m| text(m, "value"))),
                    ("street".into(), addr("street")),
                    ("postal_code".into(), addr("postal_code")),
                    ("city".into(), addr("city")),
                    ("country".into(), country),
                    ("updated_at".into(), updated_at(v)),
                ],
                email: email.and_then(sub),
                phone: phone.and_then(sub),
                address: address.and_then(sub),
            }
        }
    })
}

/// A value to send for a text field (`None` clears it).
fn text_value(v: &Option<String>) -> Value {
    match v {
        Some(s) => Value::String(s.clone()),
        None => Value::Null,
    }
}

/// A boolean as written by a person or a file.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// What a write of a party or product sends, built from the flattened
/// values; `country` codes are turned into ids by `country_id`.
#[derive(Debug)]
pub struct WriteValues {
    /// The values of the model's own write or create.
    pub values: Map<String, Value>,
}

/// Builds the values of an update of `row` (or of a create when `row` is
/// `None`). Errors name the field.
pub fn build_values(
    entity: Entity,
    row: Option<&Row>,
    values: &[Field],
    country_id: &mut dyn FnMut(&str) -> Result<i64, String>,
) -> Result<WriteValues, String> {
    let mut out = Map::new();
    for (name, _) in values {
        if !entity.writable(name) {
            return Err(format!(
                "field {name:?} of Tryton {} cannot be written",
                entity.model()
            ));
        }
    }
    let get = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    match entity {
        Entity::Products => {
            if let Some(v) = get("list_price") {
                out.insert(
                    "list_price".into(),
                    match v {
                        Some(s) => {
                            let t = s.trim();
                            if t.parse::<f64>().is_err() {
                                return Err(format!("list_price {s:?} is not a number"));
                            }
                            decimal(t)
                        }
                        None => Value::Null,
                    },
                );
            }
            if let Some(v) = get("active") {
                let b = match v.as_deref().map(parse_bool) {
                    Some(Some(b)) => b,
                    _ => return Err(format!("active {v:?} is not true or false")),
                };
                out.insert("active".into(), Value::Bool(b));
            }
        }
        Entity::Parties => {
            for f in ["code", "name"] {
                if let Some(v) = get(f) {
                    out.insert(f.into(), text_value(v));
                }
            }
            let mut mechanisms = vec![];
            for (kind, sub) in [
                ("email", row.and_then(|r| r.email.as_ref())),
                ("phone", row.and_then(|r| r.phone.as_ref())),
            ] {
                let Some(v) = get(kind) else { continue };
                match (sub, v) {
                    (Some(s), Some(v)) => {
                        mechanisms.push(json!(["write", [s.id], {"value": v}]));
                    }
                    (Some(s), None) => mechanisms.push(json!(["delete", [s.id]])),
                    (None, Some(v)) => {
                        mechanisms.push(json!(["create", [{"type": kind, "value": v}]]));
                    }
                    (None, None) => {}
                }
            }
            if !mechanisms.is_empty() {
                out.insert("contact_mechanisms".into(), Value::Array(mechanisms));
            }
            let mut address = Map::new();
            for f in ["street", "postal_code", "city"] {
                if let Some(v) = get(f) {
                    address.insert(f.into(), text_value(v));
                }
            }
            if let Some(v) = get("country") {
                let id = match v {
                    Some(code) => Value::from(country_id(code.trim())?),
                    None => Value::Null,
                };
                address.insert("country".into(), id);
            }
            if !address.is_empty() {
                let action = match row.and_then(|r| r.address.as_ref()) {
                    Some(a) => json!([["write", [a.id], address]]),
                    None => json!([["create", [address]]]),
                };
                out.insert("addresses".into(), action);
            }
        }
    }
    Ok(WriteValues { values: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party() -> Value {
        json!({
            "id": 7, "_timestamp": "100.5", "code": "P1", "name": "Zoë",
            "write_date": null,
            "create_date": {"__class__":"datetime","year":2026,"month":1,"day":2,"hour":3,"minute":4,"second":5,"microsecond":6},
            "contact_mechanisms.": [
                {"id": 3, "type": "phone", "value": "+32 4", "_timestamp": "1"},
                {"id": 4, "type": "email", "value": "z@x.org", "_timestamp": "2"},
                {"id": 5, "type": "email", "value": "second@x.org", "_timestamp": "3"}
            ],
            "addresses.": [{"id": 9, "street": "Rue 1", "postal_code": "4000", "city": "Liège", "country.": {"id": 1, "code": "BE"}, "_timestamp": "4"}]
        })
    }

    #[test]
    fn a_party_flattens_to_its_first_mechanisms_and_address() {
        let row = row_of(Entity::Parties, &party()).unwrap();
        assert_eq!(
            row.get("email"),
            Some("z@x.org"),
            "the first e-mail, as Tryton shows it"
        );
        assert_eq!(row.get("phone"), Some("+32 4"));
        assert_eq!(row.get("country"), Some("BE"));
        assert_eq!(row.get("updated_at"), Some("2026-01-02T03:04:05.000006Z"));
        let ts = row.timestamps(Entity::Parties);
        assert_eq!(ts["party.party,7"], "100.5");
        assert_eq!(ts["party.contact_mechanism,4"], "2");
        assert_eq!(ts["party.address,9"], "4");
        assert!(!ts.contains_key("party.contact_mechanism,5"));
    }

    #[test]
    fn an_update_writes_the_shown_mechanism_and_address() {
        let row = row_of(Entity::Parties, &party()).unwrap();
        let values = vec![
            ("email".to_string(), Some("new@x.org".to_string())),
            ("phone".to_string(), None),
            ("city".to_string(), Some("Namur".to_string())),
        ];
        let w = build_values(Entity::Parties, Some(&row), &values, &mut |_| Ok(1)).unwrap();
        assert_eq!(
            w.values["contact_mechanisms"],
            json!([["write", [4], {"value": "new@x.org"}], ["delete", [3]]])
        );
        assert_eq!(
            w.values["addresses"],
            json!([["write", [9], {"city": "Namur"}]])
        );
        let err = build_values(
            Entity::Parties,
            Some(&row),
            &[("updated_at".into(), None)],
            &mut |_| Ok(1),
        )
        .unwrap_err();
        assert!(err.contains("updated_at"), "{err}");
    }

    #[test]
    fn a_re_read_asks_only_for_what_the_change_compares_or_writes() {
        let names = |v: Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        };
        let name_email = names(Entity::Parties.read_fields_for(["name", "email"]));
        assert!(name_email.contains(&"name".to_string()));
        assert!(name_email.contains(&"contact_mechanisms._timestamp".to_string()));
        assert!(
            !name_email.iter().any(|f| f.starts_with("addresses.")),
            "no address is read for a name and an e-mail: {name_email:?}"
        );
        let city = names(Entity::Parties.read_fields_for(["city"]));
        assert!(city.contains(&"addresses._timestamp".to_string()));
        assert!(!city.iter().any(|f| f.starts_with("contact_mechanisms.")));
        for always in ["id", "_timestamp", "code"] {
            assert!(city.contains(&always.to_string()), "{always} in {city:?}");
        }
        // Whatever is asked, a row of only some fields flattens without
        // inventing values for the others.
        let row = row_of(
            Entity::Parties,
            &json!({"id": 7, "_timestamp": "1", "code": "P1", "name": "Zoë"}),
        )
        .unwrap();
        assert_eq!(row.get("name"), Some("Zoë"));
        assert_eq!(row.get("email"), None);
        assert_eq!(
            Entity::Products.read_fields_for(["list_price"]),
            Entity::Products.read_fields()
        );
        // A pull reads every field of a party, nested ones included.
        let all = names(Entity::Parties.read_fields());
        for f in [
            "name",
            "write_date",
            "contact_mechanisms.value",
            "addresses.country.code",
            "addresses._timestamp",
        ] {
            assert!(all.contains(&f.to_string()), "{f} in {all:?}");
        }
    }
}
