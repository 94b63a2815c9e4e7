//! Tryton ERP over JSON-RPC: parties (flattened with their contact
//! mechanisms and first address) and products. See `docs/tryton.md`.
//!
//! - Pull: `search_read` pages ordered by id (keyset: `id > last`), gzip on.
//! - Conditional writes: the record is read (with its `_timestamp` and the
//!   `_timestamp` of the contact mechanisms and address it shows), its
//!   expected fields compared with the pulled values, and the write sent
//!   with those `_timestamp`s in its context. Tryton refuses the write with
//!   `ConcurrencyException` when any of those records changed after our
//!   read, so a change made between pull and push is never overwritten: it
//!   becomes a conflict, with nothing written.
//! - Creates carry the party `code` (the external reference): with the
//!   entity's `id = ["code"]`, a resumed push finds what it already created.

mod entity;
mod rpc;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

pub use entity::{Entity, PARTY_FIELDS, PRODUCT_FIELDS};
pub use rpc::RpcConfig;

use self::entity::{Row, build_values, row_of};
use self::rpc::RpcClient;
use crate::connectors::http::{HttpError, Kind};
use crate::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteKind, WriteOutcome,
};
use crate::error::{Error, ErrorCode, Result};
use crate::records::Schema;

/// How many times a write refused by `ConcurrencyException` is re-read and
/// tried again while its expected fields still hold.
const CONCURRENCY_TRIES: usize = 3;

/// A Tryton database as a system.
pub struct TrytonSystem {
    name: String,
    client: RpcClient,
    page_size: usize,
    countries: HashMap<String, i64>,
    uom: Option<i64>,
}

impl TrytonSystem {
    /// A system named `name` in the workspace; nothing is sent yet.
    pub fn new(name: String, config: RpcConfig, page_size: usize) -> Result<TrytonSystem> {
        let client = RpcClient::new(&name, config)?;
        Ok(TrytonSystem {
            name,
            client,
            page_size: page_size.max(1),
            countries: HashMap::new(),
            uom: None,
        })
    }

    /// HTTP requests sent so far (every try counts), for benchmarks.
    pub fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn err(&self, e: HttpError) -> Error {
        e.into_error(&self.name)
    }

    /// A call carrying `_timestamp`s: `Ok(Err(Moved))` when Tryton refused
    /// it because a record changed after our read (nothing written).
    fn conditional(&mut self, method: &str, params: Value) -> Result<Result<Value, Moved>> {
        match self.client.call(method, params) {
            Ok(v) => Ok(Ok(v)),
            Err(e) if e.kind == Kind::Conflict => Ok(Err(Moved)),
            Err(e) => Err(e.into_error(&self.name)),
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.client
            .call(method, params)
            .map_err(|e| e.into_error(&self.name))
    }

    fn invalid(&self, message: String) -> Error {
        Error::System {
            system: self.name.clone(),
            code: ErrorCode::Validation,
            message,
        }
    }

    fn entity(&self, source: &EntitySource) -> Result<Entity> {
        let name = source.table.as_deref().unwrap_or_default();
        Entity::parse(name).ok_or_else(|| Error::System {
            system: self.name.clone(),
            code: ErrorCode::NotFound,
            message: format!(
                "Tryton has no entity {name:?} here: set `table = \"parties\"` or `table = \"products\"`"
            ),
        })
    }

    /// Reads `fields` of the records matching `domain`, ordered by id.
    fn search(
        &mut self,
        entity: Entity,
        domain: Value,
        limit: Option<usize>,
        fields: Value,
    ) -> Result<Vec<Row>> {
        let method = format!("model.{}.search_read", entity.model());
        let found = self.call(
            &method,
            json!([domain, 0, limit, [["id", "ASC"]], fields, {}]),
        )?;
        let items = found.as_array().ok_or_else(|| {
            self.err(HttpError::new(
                Kind::Protocol,
                method.clone(),
                "search_read did not answer a list",
            ))
        })?;
        items
            .iter()
            .map(|v| {
                row_of(entity, v).ok_or_else(|| {
                    self.err(HttpError::new(
                        Kind::Protocol,
                        method.clone(),
                        format!("a record without an id: {v}"),
                    ))
                })
            })
            .collect()
    }

    /// The domain selecting records by their id fields (`id` or `code`).
    fn domain_of(&self, entity: Entity, ids: &[&[Field]]) -> Result<(String, Value)> {
        let first = ids.first().copied().unwrap_or_default();
        let [(field, _)] = first else {
            return Err(self.invalid(format!(
                "a Tryton {} record is identified by one field, `id` or `code`",
                entity.model()
            )));
        };
        let mut keys = vec![];
        for id in ids {
            let [(f, v)] = id else {
                return Err(self.invalid("every record needs the same one id field".into()));
            };
            if f != field {
                return Err(self.invalid("every record needs the same one id field".into()));
            }
            let Some(v) = v else {
                return Err(self.invalid(format!("an empty {field} identifies no record")));
            };
            keys.push(match field.as_str() {
                "id" => Value::from(v.trim().parse::<i64>().map_err(|_| {
                    self.invalid(format!("id {v:?} is not a Tryton id (a whole number)"))
                })?),
                "code" => Value::String(v.clone()),
                other => {
                    return Err(self.invalid(format!(
                        "Tryton records are identified by `id` or `code`, not {other:?}"
                    )));
                }
            });
        }
        Ok((field.clone(), json!([[field, "in", keys]])))
    }

    /// Reads the current rows of the given ids (`fields` of them, see
    /// [`Entity::read_fields_for`]); each id's row or `None`.
    fn current(
        &mut self,
        entity: Entity,
        ids: &[&[Field]],
        fields: Value,
    ) -> Result<Vec<Option<Row>>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let (field, domain) = self.domain_of(entity, ids)?;
        let rows = self.search(entity, domain, None, fields)?;
        let mut by_key: HashMap<String, Vec<Row>> = HashMap::new();
        for r in rows {
            let key = r.get(&field).unwrap_or_default().to_string();
            by_key.entry(key).or_default().push(r);
        }
        ids.iter()
            .map(|id| {
                let raw = id[0].1.as_deref().unwrap_or_default();
                // Ids as Tryton writes them (`domain_of` checked they parse).
                let key = match field.as_str() {
                    "id" => raw
                        .trim()
                        .parse::<i64>()
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    _ => raw.to_string(),
                };
                match by_key.get(&key).map(Vec::as_slice) {
                    None | Some([]) => Ok(None),
                    Some([one]) => Ok(Some(one.clone())),
                    Some(_) => Err(self.invalid(format!(
                        "{} records have {field} {key:?}; it must identify one",
                        entity.model()
                    ))),
                }
            })
            .collect()
    }

    fn unit_of_measure(&mut self) -> Result<i64> {
        if let Some(id) = self.uom {
            return Ok(id);
        }
        let found = self.call(
            "model.product.uom.search",
            json!([[["symbol", "=", "u"]], 0, 1, null, {}]),
        )?;
        let id = found.get(0).and_then(Value::as_i64).ok_or_else(|| {
            self.invalid("Tryton has no unit of measure `u` for new products".into())
        })?;
        self.uom = Some(id);
        Ok(id)
    }

    fn values_for(
        &mut self,
        entity: Entity,
        row: Option<&Row>,
        values: &[Field],
    ) -> Result<Map<String, Value>> {
        let mut countries = std::mem::take(&mut self.countries);
        let built = {
            let client = &mut self.client;
            let mut lookup = |code: &str| -> std::result::Result<i64, String> {
                if let Some(id) = countries.get(code) {
                    return Ok(*id);
                }
                let found = client
                    .call(
                        "model.country.country.search",
                        json!([[["code", "=", code.to_uppercase()]], 0, 1, null, {}]),
                    )
                    .map_err(|e| e.to_string())?;
                let id = found.get(0).and_then(Value::as_i64).ok_or_else(|| {
                    format!("country {code:?} is not a country code known to Tryton")
                })?;
                countries.insert(code.to_string(), id);
                Ok(id)
            };
            build_values(entity, row, values, &mut lookup)
        };
        self.countries = countries;
        built.map(|w| w.values).map_err(|m| self.invalid(m))
    }

    /// The values of a create: the flattened values plus the id fields
    /// (the `code`, our external reference).
    fn create_values(
        &mut self,
        entity: Entity,
        change: &WriteChange,
    ) -> Result<Map<String, Value>> {
        let mut fields: Vec<Field> = change
            .id
            .iter()
            .filter(|(n, _)| n != "id")
            .cloned()
            .collect();
        for f in &change.values {
            if f.0 == "id" {
                continue;
            }
            if !fields.iter().any(|(n, _)| n == &f.0) {
                fields.push(f.clone());
            }
        }
        match entity {
            Entity::Parties => self.values_for(entity, None, &fields),
            Entity::Products => {
                // A product is a template with one variant.
                let mut template = Map::new();
                let mut variant = Map::new();
                for (name, value) in &fields {
                    match name.as_str() {
                        "name" => {
                            template.insert("name".into(), json!(value));
                        }
                        "code" => {
                            variant.insert("suffix_code".into(), json!(value));
                        }
                        "list_price" | "active" => {
                            let w =
                                self.values_for(entity, None, &[(name.clone(), value.clone())])?;
                            template.extend(w);
                        }
                        other => {
                            return Err(self.invalid(format!(
                                "field {other:?} cannot be set on a new Tryton product"
                            )));
                        }
                    }
                }
                template.insert("type".into(), json!("goods"));
                template.insert("default_uom".into(), json!(self.unit_of_measure()?));
                template.insert("products".into(), json!([["create", [variant]]]));
                Ok(template)
            }
        }
    }

    /// One round of a batch: reads the targets, sorts out conflicts and
    /// missing records, and sends the rest (updates in one `write`, creates
    /// in one `create`, deletes in one `delete`). A `ConcurrencyException`
    /// comes back as `Ok(Err(Moved))`, with nothing written by that call.
    fn try_batch(
        &mut self,
        entity: Entity,
        changes: &[WriteChange],
    ) -> Result<Result<Vec<WriteOutcome>, Moved>> {
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; changes.len()];
        // Only what the changes compare or write is read again: the nested
        // contact mechanisms and addresses cost most of a read.
        let fields = entity.read_fields_for(
            changes
                .iter()
                .flat_map(|c| c.expected.iter().chain(&c.values))
                .map(|(n, _)| n.as_str()),
        );
        // Current rows of updates and deletes, and of creates' external references.
        let existing: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].kind != WriteKind::Insert)
            .collect();
        let mut rows: Vec<Option<Row>> = vec![None; changes.len()];
        {
            let ids: Vec<&[Field]> = existing.iter().map(|&i| changes[i].id.as_slice()).collect();
            if ids.iter().any(|id| id.is_empty()) {
                return Err(self.invalid("an update or delete needs the record's id fields".into()));
            }
            for (&i, r) in existing
                .iter()
                .zip(self.current(entity, &ids, fields.clone())?)
            {
                rows[i] = r;
            }
        }
        let inserts: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].kind == WriteKind::Insert && !changes[i].id.is_empty())
            .collect();
        if !inserts.is_empty() {
            let ids: Vec<&[Field]> = inserts.iter().map(|&i| changes[i].id.as_slice()).collect();
            for (&i, r) in inserts
                .iter()
                .zip(self.current(entity, &ids, fields.clone())?)
            {
                if let Some(r) = r {
                    // Already there (created by an earlier, interrupted push,
                    // or by someone else): never a second one. Holding
                    // exactly the values to create, the effect is there.
                    let current = r.pick(&changes[i].values);
                    outcomes[i] = Some(if current == changes[i].values {
                        WriteOutcome::Applied {
                            id: changes[i].id.clone(),
                        }
                    } else {
                        WriteOutcome::Conflict { current }
                    });
                }
            }
        }
        let mut write_args: Vec<Value> = vec![];
        let mut timestamps = Map::new();
        let mut creates: Vec<(usize, Value)> = vec![];
        let mut deletes: Vec<(usize, i64)> = vec![];
        for (i, change) in changes.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            match change.kind {
                WriteKind::Insert => {
                    let values = self.create_values(entity, change)?;
                    creates.push((i, Value::Object(values)));
                }
                WriteKind::Update | WriteKind::Delete => {
                    let Some(row) = rows[i].take() else {
                        outcomes[i] = Some(WriteOutcome::NotFound);
                        continue;
                    };
                    let current = row.pick(&change.expected);
                    if current != change.expected {
                        outcomes[i] = Some(WriteOutcome::Conflict { current });
                        continue;
                    }
                    timestamps.extend(row.timestamps(entity));
                    if change.kind == WriteKind::Delete {
                        deletes.push((i, row.id));
                    } else {
                        let values = self.values_for(entity, Some(&row), &change.values)?;
                        if !values.is_empty() {
                            write_args.push(json!([row.id]));
                            write_args.push(Value::Object(values));
                        }
                        outcomes[i] = Some(WriteOutcome::Applied {
                            id: change.id.clone(),
                        });
                    }
                }
            }
        }
        let context = json!({"_timestamp": Value::Object(timestamps)});
        if !write_args.is_empty() {
            write_args.push(context.clone());
            let method = format!("model.{}.write", entity.model());
            if let Err(moved) = self.conditional(&method, Value::Array(write_args))? {
                return Ok(Err(moved));
            }
        }
        if !creates.is_empty() {
            let (model, values): (&str, Vec<Value>) = match entity {
                Entity::Parties => (
                    "party.party",
                    creates.iter().map(|(_, v)| v.clone()).collect(),
                ),
                Entity::Products => (
                    "product.template",
                    creates.iter().map(|(_, v)| v.clone()).collect(),
                ),
            };
            let created = self.call(&format!("model.{model}.create"), json!([values, {}]))?;
            let created: Vec<i64> = created
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            if created.len() != creates.len() {
                return Err(self.err(HttpError::new(
                    Kind::Protocol,
                    format!("model.{model}.create"),
                    format!(
                        "asked to create {} records, Tryton answered {} ids",
                        creates.len(),
                        created.len()
                    ),
                )));
            }
            for ((i, _), new_id) in creates.iter().zip(created) {
                let change = &changes[*i];
                let id = if change.id.is_empty() {
                    vec![("id".to_string(), Some(new_id.to_string()))]
                } else {
                    change.id.clone()
                };
                outcomes[*i] = Some(WriteOutcome::Applied { id });
            }
        }
        if !deletes.is_empty() {
            let ids: Vec<i64> = deletes.iter().map(|(_, id)| *id).collect();
            let method = format!("model.{}.delete", entity.model());
            if let Err(moved) = self.conditional(&method, json!([ids, context]))? {
                return Ok(Err(moved));
            }
            for (i, _) in &deletes {
                outcomes[*i] = Some(WriteOutcome::Applied {
                    id: changes[*i].id.clone(),
                });
            }
        }
        Ok(Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every change has an outcome"))
            .collect()))
    }
}

/// Tryton refused a call carrying `_timestamp`s (`ConcurrencyException`):
/// a record changed after our read; the call wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Moved;

impl Connector for TrytonSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        let version = self
            .client
            .call_root("common.server.version", json!([]))
            .map_err(|e| self.err(e))?;
        self.client.login().map_err(|e| self.err(e))?;
        let config = self.client.config();
        Ok(ConnectionInfo {
            description: format!(
                "Tryton {} at {}, database {:?}, user {:?}",
                version.as_str().unwrap_or("?"),
                config.url,
                config.database,
                config.user
            ),
            entities: vec!["parties".into(), "products".into()],
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let entity = self.entity(source)?;
        sink.schema(&Schema::new(entity.fields().iter().copied()))?;
        let mut last = 0i64;
        let mut origin = 0u64;
        loop {
            let page = self.search(
                entity,
                json!([["id", ">", last]]),
                Some(self.page_size),
                entity.read_fields(),
            )?;
            let n = page.len();
            for row in page {
                if row.id <= last {
                    return Err(self.err(HttpError::new(
                        Kind::Protocol,
                        format!("model.{}.search_read", entity.model()),
                        format!("ids did not increase (id {} after {last})", row.id),
                    )));
                }
                last = row.id;
                origin += 1;
                let values = row.fields.into_iter().map(|(_, v)| v).collect();
                if !sink.record(origin, values)? {
                    return Ok(());
                }
            }
            if n < self.page_size {
                return Ok(());
            }
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            conditional_writes: true,
        }
    }

    fn read_one(&mut self, source: &EntitySource, id: &[Field]) -> Result<Option<Vec<Field>>> {
        let entity = self.entity(source)?;
        if id.is_empty() {
            return Err(self.invalid("reading one record needs its id fields".into()));
        }
        Ok(self
            .current(entity, &[id], entity.read_fields())?
            .pop()
            .flatten()
            .map(|r| r.fields))
    }

    fn write(&mut self, source: &EntitySource, change: &WriteChange) -> Result<WriteOutcome> {
        let mut outcomes = self.write_batch(source, std::slice::from_ref(change))?;
        Ok(outcomes.pop().expect("one outcome per change"))
    }

    /// Updates of a batch go in one `write` call (one Tryton transaction),
    /// creates in one `create`, deletes in one `delete`. When Tryton
    /// refuses a call because a record moved after our read
    /// (`ConcurrencyException`, nothing written by that call), each change
    /// is read and sent again alone, up to three times, then reported as a
    /// conflict.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let entity = self.entity(source)?;
        if let Ok(outcomes) = self.try_batch(entity, changes)? {
            return Ok(outcomes);
        }
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let mut tries = 0;
            let outcome = loop {
                tries += 1;
                match self.try_batch(entity, std::slice::from_ref(change))? {
                    Ok(mut o) => break o.pop().expect("one outcome"),
                    Err(Moved) if tries < CONCURRENCY_TRIES => {
                        std::thread::sleep(Duration::from_millis(20 * tries as u64));
                    }
                    Err(Moved) => {
                        let current = self
                            .current(entity, &[change.id.as_slice()], entity.read_fields())?
                            .pop()
                            .flatten();
                        break match current {
                            Some(r) => WriteOutcome::Conflict {
                                current: r.pick(&change.expected),
                            },
                            None => WriteOutcome::NotFound,
                        };
                    }
                }
            };
            out.push(outcome);
        }
        Ok(out)
    }
}
