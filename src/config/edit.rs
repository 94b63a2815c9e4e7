//! Saving `trueup.toml` without losing what the person wrote: the file on
//! disk is edited in place (`toml_edit`), so comments, blank lines, key order
//! and inline tables of everything that did not change stay as they were.
//!
//! The sections are compared as parsed configuration, entry by entry
//! (`[systems.NAME]`, `[entities.NAME]`, ...): an entry equal to what the file
//! says is not touched at all; a changed entry is merged key by key (unchanged
//! keys keep their comments, changed values keep their surrounding decor); a
//! new entry is appended to its section; a removed one is removed. The result
//! is parsed back and must equal the configuration being saved; if it does not
//! (or the file on disk does not parse), the plain serialisation is written.

use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike};

use super::Config;

/// A renaming applied to the file before the merge, so that a renamed entry
/// keeps its comments and place: `(section, old name, new name)`.
pub(crate) type Rename<'a> = (&'a str, &'a str, &'a str);

/// An entry written as the person typed it, comments included:
/// `(section, name, its table)`.
pub(crate) type Verbatim<'a> = (&'a str, &'a str, &'a toml_edit::Table);

/// The text to write for `new`, editing `old_text` (the file as it is now).
/// `None` when the file cannot be edited in place (the caller then writes
/// the plain serialisation).
pub(crate) fn edited(
    path: &Path,
    old_text: &str,
    new: &Config,
    rename: Option<Rename<'_>>,
    verbatim: Option<Verbatim<'_>>,
) -> Option<String> {
    let mut old = Config::parse(path, old_text).ok()?;
    let mut doc: DocumentMut = old_text.parse().ok()?;
    let fresh: DocumentMut = toml::to_string_pretty(new).ok()?.parse().ok()?;

    if let Some((section, from, to)) = rename {
        let table = doc.get_mut(section)?.as_table_like_mut()?;
        let item = table.remove(from)?;
        table.insert(to, item);
        match section {
            "systems" => {
                let v = old.systems.remove(from)?;
                old.systems.insert(to.to_string(), v);
            }
            "entities" => {
                let v = old.entities.remove(from)?;
                old.entities.insert(to.to_string(), v);
            }
            "reconciliations" => {
                let v = old.reconciliations.remove(from)?;
                old.reconciliations.insert(to.to_string(), v);
            }
            _ => return None,
        }
    }

    // [workspace]: one entry.
    if old.workspace != new.workspace {
        merge_key(doc.as_table_mut(), "workspace", fresh.get("workspace"));
    }
    section(&mut doc, &fresh, "systems", |n| {
        old.systems.get(n) == new.systems.get(n)
    });
    section(&mut doc, &fresh, "entities", |n| {
        old.entities.get(n) == new.entities.get(n)
    });
    section(&mut doc, &fresh, "reconciliations", |n| {
        old.reconciliations.get(n) == new.reconciliations.get(n)
    });

    if let Some((section, name, table)) = verbatim {
        let entries = doc.get_mut(section)?.as_table_mut()?;
        let old = entries.get(name).and_then(Item::as_table);
        let (decor, position) = old
            .map(|t| (t.decor().clone(), t.position()))
            .unwrap_or_default();
        let mut item = Item::Table(table.clone());
        forget_positions(&mut item);
        if let Item::Table(t) = &mut item {
            t.set_implicit(false);
            *t.decor_mut() = decor;
            t.set_position(position);
        }
        entries.insert(name, item);
    }

    let text = doc.to_string();
    match Config::parse(path, &text) {
        Ok(back) if &back == new => Some(text),
        _ => None,
    }
}

/// Brings section `name` (a table of named entries) of `doc` to what `fresh`
/// says; entries for which `same` holds are left untouched.
fn section(doc: &mut DocumentMut, fresh: &DocumentMut, name: &str, same: impl Fn(&str) -> bool) {
    let wanted = fresh.get(name).and_then(Item::as_table_like);
    let empty = wanted.is_none_or(|t| t.is_empty());
    let Some(table) = doc.get_mut(name).and_then(Item::as_table_like_mut) else {
        if !empty {
            let mut item = fresh[name].clone();
            forget_positions(&mut item);
            if let Some(t) = item.as_table_mut() {
                for (_, entry) in t.iter_mut() {
                    tidy(entry);
                }
            }
            doc.insert(name, item);
        }
        return;
    };
    let gone: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| wanted.is_none_or(|w| !w.contains_key(k)))
        .collect();
    for k in gone {
        table.remove(&k);
    }
    let Some(wanted) = wanted else { return };
    for (k, item) in wanted.iter() {
        if table.contains_key(k) && same(k) {
            continue;
        }
        if !table.contains_key(k) {
            let mut item = item.clone();
            forget_positions(&mut item);
            tidy(&mut item);
            table.insert(k, item);
            continue;
        }
        merge_key(table, k, Some(item));
    }
}

/// A new entry is written as a person would: its small sub-tables
/// (`auth = { ... }`, `password = { keychain = "..." }`) inline, its big
/// ones (`[entities.NAME.rest]`) as tables.
fn tidy(entry: &mut Item) {
    if let Some(t) = entry.as_table_mut() {
        tidy_table(t);
    }
}

/// A short array on one line (`transforms = ["trim", "upper"]`).
fn one_line(a: &mut toml_edit::Array) {
    let mut flat = a.clone();
    flat.fmt();
    if flat.to_string().len() <= 100 {
        *a = flat;
    }
}

fn tidy_table(t: &mut toml_edit::Table) {
    for (mut key, v) in t.iter_mut() {
        if let Some(a) = v.as_array_mut() {
            one_line(a);
            continue;
        }
        if let Item::ArrayOfTables(tables) = v {
            for sub in tables.iter_mut() {
                tidy_table(sub);
            }
            continue;
        }
        let Item::Table(sub) = v else { continue };
        if sub.iter().any(|(_, i)| i.is_array_of_tables()) {
            continue;
        }
        match short_inline(sub) {
            Some(value) => set_inline(&mut key, v, value),
            // Stays a table (`[entities.NAME.rest]`); its small tables go inline.
            None => tidy(v),
        }
    }
}

/// `sub` as an inline table (`{ a = 1, b = 2 }`), when it reads in at most
/// 100 characters.
fn short_inline(sub: &toml_edit::Table) -> Option<toml_edit::Value> {
    let mut value = Item::Table(sub.clone()).into_value().ok()?;
    if let toml_edit::Value::InlineTable(it) = &mut value {
        it.fmt();
    }
    value.decor_mut().clear();
    (value.to_string().len() <= 100).then_some(value)
}

/// Puts `value` where the table of `key` was. The key was a table
/// header's; as `key = value` it takes the default spacing.
fn set_inline(key: &mut toml_edit::KeyMut<'_>, v: &mut Item, value: toml_edit::Value) {
    key.leaf_decor_mut().clear();
    key.dotted_decor_mut().clear();
    *v = Item::Value(value);
}

/// The small tables just added to an element of an array of tables
/// (`validate` of a field) go inline: as `[a.fields.validate]` they would
/// read as if they were a table of their own.
fn inline_new_tables(t: &mut toml_edit::Table) {
    for (mut key, v) in t.iter_mut() {
        let Item::Table(sub) = v else { continue };
        if sub.position().is_some() || !sub.iter().all(|(_, i)| i.is_value()) {
            continue;
        }
        if let Some(value) = short_inline(sub) {
            set_inline(&mut key, v, value);
        }
    }
}

/// Sets `key` of `table` to `new` (removes it when `None`), keeping the
/// comments and formatting of what stays the same.
fn merge_key(table: &mut dyn TableLike, key: &str, new: Option<&Item>) {
    let Some(new) = new.filter(|i| !i.is_none()) else {
        table.remove(key);
        return;
    };
    match table.get_mut(key) {
        None => {
            let mut item = new.clone();
            forget_positions(&mut item);
            table.insert(key, item);
        }
        Some(old) if same(old, new) => {}
        Some(old) => {
            if let (Some(o), Some(n)) = (old.as_table_like_mut(), new.as_table_like()) {
                let gone: Vec<String> = o
                    .iter()
                    .map(|(k, _)| k.to_string())
                    .filter(|k| !n.contains_key(k))
                    .collect();
                for k in gone {
                    o.remove(&k);
                }
                for (k, v) in n.iter() {
                    merge_key(o, k, Some(v));
                }
                // An inline table holds no comments: spaced as a person would.
                if let Some(t) = old.as_inline_table_mut() {
                    t.fmt();
                }
                return;
            }
            if let (Item::ArrayOfTables(o), Item::ArrayOfTables(n)) = (&mut *old, new)
                && o.len() == n.len()
            {
                for (ot, nt) in o.iter_mut().zip(n.iter()) {
                    for k in ot
                        .iter()
                        .map(|(k, _)| k.to_string())
                        .filter(|k| !nt.contains_key(k))
                        .collect::<Vec<_>>()
                    {
                        ot.remove(&k);
                    }
                    for (k, v) in nt.iter() {
                        merge_key(ot, k, Some(v));
                    }
                    inline_new_tables(ot);
                }
                return;
            }
            let mut item = new.clone();
            forget_positions(&mut item);
            // A short array is written on one line (`["trim", "upper"]`).
            if let Some(a) = item.as_array_mut() {
                one_line(a);
            }
            // A value keeps its place's decor (the comment after it, say);
            // a value written inline stays inline.
            match (&*old, &mut item) {
                (Item::Value(ov), Item::Value(nv)) => {
                    *nv.decor_mut() = ov.decor().clone();
                }
                (Item::Value(ov), Item::Table(_) | Item::ArrayOfTables(_)) => {
                    let decor = ov.decor().clone();
                    if let Ok(mut v) = item.clone().into_value() {
                        *v.decor_mut() = decor;
                        item = Item::Value(v);
                    }
                }
                _ => {}
            }
            *old = item;
        }
    }
}

/// The tables of `item` come from another document: their positions there
/// mean nothing here; they are placed after their neighbours instead.
fn forget_positions(item: &mut Item) {
    match item {
        Item::Table(t) => {
            t.set_position(None);
            for (_, v) in t.iter_mut() {
                forget_positions(v);
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                t.set_position(None);
                for (_, v) in t.iter_mut() {
                    forget_positions(v);
                }
            }
        }
        _ => {}
    }
}

/// Whether two items say the same, whatever their formatting.
fn same(a: &Item, b: &Item) -> bool {
    if let (Some(x), Some(y)) = (a.as_table_like(), b.as_table_like()) {
        return x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)));
    }
    match (a, b) {
        (Item::ArrayOfTables(x), Item::ArrayOfTables(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(s, t)| same(&Item::Table(s.clone()), &Item::Table(t.clone())))
        }
        (Item::Value(x), Item::Value(y)) => same_value(x, y),
        _ => false,
    }
}

fn same_value(a: &toml_edit::Value, b: &toml_edit::Value) -> bool {
    use toml_edit::Value as V;
    match (a, b) {
        (V::String(x), V::String(y)) => x.value() == y.value(),
        (V::Integer(x), V::Integer(y)) => x.value() == y.value(),
        (V::Float(x), V::Float(y)) => x.value() == y.value(),
        (V::Boolean(x), V::Boolean(y)) => x.value() == y.value(),
        (V::Datetime(x), V::Datetime(y)) => x.value() == y.value(),
        (V::Array(x), V::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(s, t)| same_value(s, t))
        }
        (V::InlineTable(x), V::InlineTable(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, SecretRef, SystemConfig};

    const COMMENTED: &str = r#"# Our reconciliation of the ERP and the CRM.
# Ask Anna before changing the keys.

[workspace]
name = "Acme"   # shown in the title bar

# The ERP export, every night at 2.
[systems.erp]
kind = "csv"
path = "data/erp.csv"   # relative to this folder
delimiter = ";"

# The CRM's API.
[systems.crm]
kind = "rest"
base_url = "https://crm.example.com/api"
auth = { type = "bearer", token = { env = "CRM_TOKEN" } }
http = { timeout_secs = 30 }   # the CRM is slow

[entities.erp_customers]
system = "erp"   # the nightly file
id = ["no"]

[entities.crm_contacts]
system = "crm"
id = ["id"]

# Where the contacts are.
[entities.crm_contacts.rest]
list = "/contacts"
records = "data"

[reconciliations.customers]
left = "erp_customers"
right = "crm_contacts"
key = ["no"]

# The customer number is the key.
[[reconciliations.customers.fields]]
target = "no"
source = "no"
"#;

    fn parse(text: &str) -> Config {
        Config::parse(Path::new("trueup.toml"), text).unwrap()
    }

    fn comments(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.find('#').map(|i| l[i..].trim()))
            .collect()
    }

    fn save(old: &str, new: &Config, rename: Option<super::Rename<'_>>) -> String {
        let text = super::edited(Path::new("trueup.toml"), old, new, rename, None)
            .expect("edited in place");
        assert_eq!(
            &parse(&text),
            new,
            "the file parses to what was saved:\n{text}"
        );
        text
    }

    #[test]
    fn an_unchanged_config_is_written_back_byte_for_byte() {
        assert_eq!(save(COMMENTED, &parse(COMMENTED), None), COMMENTED);
    }

    #[test]
    fn adding_editing_and_renaming_systems_keeps_every_comment() {
        let mut config = parse(COMMENTED);
        // Add a system.
        config.systems.insert(
            "shop".into(),
            SystemConfig::Postgres {
                host: "db".into(),
                port: 5432,
                user: "u".into(),
                database: "shop".into(),
                password: Some(SecretRef::Keychain("shop@/ws".into())),
            },
        );
        let added = save(COMMENTED, &config, None);
        assert_eq!(comments(&added), comments(COMMENTED), "{added}");
        assert!(added.starts_with(COMMENTED.split("[entities").next().unwrap()));
        assert!(added.contains("[systems.shop]"), "{added}");
        // The new system sits with the systems, before the entities.
        assert!(
            added.find("[systems.shop]") < added.find("[entities.erp_customers]"),
            "{added}"
        );

        // Edit one field of the REST system: its other lines stay as written.
        let SystemConfig::Rest(crm) = config.systems.get_mut("crm").unwrap() else {
            panic!()
        };
        crm.base_url = "https://crm2.example.com/api".into();
        let edited = save(&added, &config, None);
        assert_eq!(comments(&edited), comments(COMMENTED), "{edited}");
        assert!(
            edited.contains("base_url = \"https://crm2.example.com/api\""),
            "{edited}"
        );
        assert!(
            edited.contains("auth = { type = \"bearer\", token = { env = \"CRM_TOKEN\" } }"),
            "untouched keys keep their inline form: {edited}"
        );

        // Rename the ERP system: the entity follows, the comments stay.
        let erp = config.systems.remove("erp").unwrap();
        config.systems.insert("erp_nightly".into(), erp);
        config.entities.get_mut("erp_customers").unwrap().system = "erp_nightly".into();
        let renamed = save(&edited, &config, Some(("systems", "erp", "erp_nightly")));
        assert_eq!(comments(&renamed), comments(COMMENTED), "{renamed}");
        assert!(
            renamed.contains("# The ERP export, every night at 2.\n[systems.erp_nightly]"),
            "the renamed system keeps its comment and place: {renamed}"
        );
        assert!(
            renamed.contains("system = \"erp_nightly\"   # the nightly file"),
            "{renamed}"
        );

        // Delete a system (and its entity, as the caller would).
        config.systems.remove("shop");
        let deleted = save(&renamed, &config, None);
        assert!(!deleted.contains("shop"), "{deleted}");
        assert_eq!(comments(&deleted), comments(COMMENTED));
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_edited() {
        assert!(
            super::edited(
                Path::new("t.toml"),
                "[systems.x\n",
                &Config::default(),
                None,
                None
            )
            .is_none()
        );
    }
}
