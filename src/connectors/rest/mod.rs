//! The generic REST system: any JSON API described in `trueup.toml`
//! (`kind = "rest"` and an `[entities.NAME.rest]` table per entity), with
//! no code. Reads page through listings; writes are conditional (see
//! [`Conditional`]) so that a record changed since the pull is never
//! overwritten, and every failure carries its category and the system's
//! own message. See `docs/http.md`.
//!
//! Values are text, as everywhere in Trueup: JSON scalars are read as
//! their text (`true`, `12.5`), objects and lists as JSON text, null as no
//! value; writes turn text back into JSON by the entity's `types`.
//!
//! Identity: the entity's `id` fields are what Trueup knows a record by.
//! When the system assigns its own ids, make the entity's id an external
//! reference the reconciliation maps (a customer number, a code) and name
//! the system's id in `rest.id_field`: creates then carry the reference, and
//! a resumed push finds a record it already created (with `rest.find`)
//! instead of creating it twice.

pub mod config;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Map, Value as Json};

pub use config::{Conditional, FieldType, RestEntityConfig, RestSystemConfig};

use crate::connectors::http::paging::{read_all, records_at};
use crate::connectors::http::{HttpClient, HttpError, Kind, Repeat, Request, json_path};
use crate::connectors::{
    Capabilities, ConnectionInfo, Connector, EntitySource, Field, RecordSink, WriteChange,
    WriteKind, WriteOutcome,
};
use crate::error::{Error, ErrorCode, Result};
use crate::records::{Schema, Value};

/// One entity of a REST system, as the connector needs it.
#[derive(Debug, Clone)]
pub struct RestEntity {
    /// The entity's name in the workspace.
    pub name: String,
    /// Its id fields.
    pub id: Vec<String>,
    /// Its REST settings.
    pub rest: RestEntityConfig,
}

/// A REST API.
#[derive(Debug)]
pub struct RestSystem {
    client: HttpClient,
    config: RestSystemConfig,
    entities: Vec<RestEntity>,
}

/// A record as read, with the `ETag` it came with.
struct Current {
    json: Json,
    etag: Option<String>,
}

impl RestSystem {
    /// The system `name`, with the entities configured on it. Resolves the
    /// secrets; connects nothing yet.
    pub fn new(name: &str, config: RestSystemConfig, entities: Vec<RestEntity>) -> Result<Self> {
        let client = HttpClient::new(name, &config.base_url, &config.auth, &config.http)?;
        Ok(RestSystem {
            client,
            config,
            entities,
        })
    }

    /// Requests sent so far (every try counts).
    pub fn requests_sent(&self) -> u64 {
        self.client.sent
    }

    fn fail(&self, code: ErrorCode, message: String) -> Error {
        Error::System {
            system: self.client.system().to_string(),
            code,
            message,
        }
    }

    fn err(&self, e: HttpError) -> Error {
        self.client.error(e)
    }

    /// The entity settings of `source`, with its id fields.
    fn entity_of(&self, source: &EntitySource) -> Result<(RestEntityConfig, Vec<String>)> {
        let rest = source.rest.clone().ok_or_else(|| {
            self.fail(
                ErrorCode::Config,
                "the entity has no [entities.NAME.rest] table: say where its records are".into(),
            )
        })?;
        let id = self
            .entities
            .iter()
            .find(|e| e.rest == *rest)
            .map(|e| e.id.clone())
            .or_else(|| rest.id_field.clone().map(|f| vec![f]))
            .unwrap_or_default();
        Ok((*rest, id))
    }

    /// The field names of records, from the configured `fields` or the
    /// keys of the first records.
    fn schema_of(rest: &RestEntityConfig, first: &[Json]) -> Vec<String> {
        if !rest.fields.is_empty() {
            return rest.fields.clone();
        }
        let mut names: Vec<String> = Vec::new();
        for r in first {
            if let Json::Object(map) = r {
                for k in map.keys() {
                    if !names.contains(k) {
                        names.push(k.clone());
                    }
                }
            }
        }
        names
    }

    /// Reads one record: by system id (`get`), or through `find`.
    fn fetch(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        id: &[Field],
        need_etag: bool,
    ) -> Result<Option<Current>> {
        let id_field = rest.id_field(entity_id).map(str::to_string);
        let by_system_id = id_field
            .as_deref()
            .and_then(|f| id.iter().find(|(n, _)| n == f))
            .and_then(|(_, v)| v.clone());
        if let (Some(sid), Some(get)) = (&by_system_id, &rest.get) {
            return self.get_by_system_id(rest, get, sid);
        }
        if rest.find.is_empty() {
            return Err(self.fail(
                ErrorCode::Config,
                "cannot read one record: the entity has neither rest.get (with its id) nor rest.find"
                    .into(),
            ));
        }
        let fields: BTreeMap<&str, &str> = id
            .iter()
            .filter_map(|(n, v)| v.as_deref().map(|v| (n.as_str(), v)))
            .collect();
        let mut req = Request::get(rest.list.clone());
        for (k, v) in &rest.list_query {
            req = req.param(k, v);
        }
        for (k, v) in &rest.find {
            req = req.param(k, fill_text(v, &fields));
        }
        let resp = self.client.send(&req).map_err(|e| self.err(e))?;
        let json = resp.json().map_err(|e| self.err(e))?;
        let mut found = records_at(&json, &rest.records, &resp).map_err(|e| self.err(e))?;
        // A filter the system ignores would return other records: keep exact matches.
        found.retain(|r| {
            id.iter()
                .all(|(n, v)| json_path::get(r, n).and_then(json_path::text) == *v)
        });
        match found.len() {
            0 => Ok(None),
            1 => {
                let json = found.pop().expect("one");
                if need_etag
                    && let (Some(f), Some(get)) = (&id_field, &rest.get)
                    && let Some(sid) = json_path::get(&json, f).and_then(json_path::text)
                {
                    return self.get_by_system_id(rest, get, &sid);
                }
                Ok(Some(Current { json, etag: None }))
            }
            n => Err(self.fail(
                ErrorCode::Validation,
                format!(
                    "{n} records have the id {}; the entity's id fields must be unique",
                    show_id(id)
                ),
            )),
        }
    }

    fn get_by_system_id(
        &mut self,
        rest: &RestEntityConfig,
        template: &str,
        sid: &str,
    ) -> Result<Option<Current>> {
        let path = fill_path(template, &[("id", sid)]);
        let missing = rest
            .missing_statuses
            .clone()
            .unwrap_or_else(|| vec![404, 410]);
        match self.client.send(&Request::get(path)) {
            Ok(resp) => {
                let json = resp.json().map_err(|e| self.err(e))?;
                let record = json_path::get(&json, &rest.record).cloned();
                match record {
                    Some(Json::Null) | None => Ok(None),
                    Some(Json::Array(mut items)) if items.len() <= 1 => {
                        Ok(items.pop().map(|json| Current { json, etag: None }))
                    }
                    Some(json) => Ok(Some(Current {
                        json,
                        etag: resp.header("etag").map(str::to_string),
                    })),
                }
            }
            Err(e) if e.status.is_some_and(|s| missing.contains(&s)) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The JSON body of a write: values (and id fields for a create),
    /// typed, dotted names nested, read-only fields left out.
    fn body_of(&self, rest: &RestEntityConfig, fields: &[&Field]) -> Result<Json> {
        let mut body = Json::Object(Map::new());
        for (name, value) in fields {
            if rest.read_only.iter().any(|r| r == name) {
                continue;
            }
            let ty = rest.types.get(name).copied().unwrap_or_default();
            let v = typed(value.as_deref(), ty).map_err(|why| {
                self.fail(
                    ErrorCode::Validation,
                    format!("field {name:?}: {why}; nothing sent"),
                )
            })?;
            set_path(&mut body, name, v);
        }
        Ok(body)
    }

    /// After the system refused a conditional write (or matched nothing):
    /// our own earlier try may have applied it, or someone else moved the
    /// record. Re-read to tell.
    fn settle(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        change: &WriteChange,
    ) -> Result<WriteOutcome> {
        let Some(now) = self.fetch(rest, entity_id, &change.id, false)? else {
            return Ok(match change.kind {
                WriteKind::Delete => WriteOutcome::Applied {
                    id: change.id.clone(),
                },
                _ => WriteOutcome::NotFound,
            });
        };
        let values = pick(&now.json, &change.values);
        if change.kind == WriteKind::Update && values == change.values {
            return Ok(WriteOutcome::Applied {
                id: change.id.clone(),
            });
        }
        Ok(WriteOutcome::Conflict {
            current: pick(&now.json, &change.expected),
        })
    }

    /// Creates several records with one request (see `create_batch`).
    fn insert_many(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        changes: &[&WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let Some(path) = rest.create.clone() else {
            return Err(self.fail(
                ErrorCode::Validation,
                "this entity cannot create records (no rest.create endpoint)".into(),
            ));
        };
        let mut bodies = Vec::with_capacity(changes.len());
        for change in changes {
            let mut fields: Vec<&Field> = change.id.iter().collect();
            fields.extend(
                change
                    .values
                    .iter()
                    .filter(|(n, _)| !change.id.iter().any(|(i, _)| i == n)),
            );
            bodies.push(self.body_of(rest, &fields)?);
        }
        let resp = self
            .client
            .send(&Request::write(
                Method::POST,
                path,
                Some(Json::Array(bodies)),
            ))
            .map_err(|e| self.err(e))?;
        let json = resp.json().map_err(|e| self.err(e))?;
        let created = match json_path::get(&json, &rest.record) {
            Some(Json::Array(items)) if items.len() == changes.len() => items.clone(),
            _ => {
                return Err(self.err(HttpError::new(
                    Kind::Protocol,
                    &resp.request,
                    format!(
                        "a batch of {} creates was answered without a list of {} records at {:?}; \
                         the records are re-read before anything is sent again",
                        changes.len(),
                        changes.len(),
                        rest.record
                    ),
                )));
            }
        };
        Ok(changes
            .iter()
            .zip(created)
            .map(|(change, record)| WriteOutcome::Applied {
                id: created_id(entity_id, Some(&record), change),
            })
            .collect())
    }

    fn insert(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        change: &WriteChange,
    ) -> Result<WriteOutcome> {
        let Some(path) = rest.create.clone() else {
            return Err(self.fail(
                ErrorCode::Validation,
                "this entity cannot create records (no rest.create endpoint)".into(),
            ));
        };
        let mut fields: Vec<&Field> = change.id.iter().collect();
        fields.extend(
            change
                .values
                .iter()
                .filter(|(n, _)| !change.id.iter().any(|(i, _)| i == n)),
        );
        let body = self.body_of(rest, &fields)?;
        let resp = self
            .client
            .send(&Request::write(Method::POST, path, Some(body)))
            .map_err(|e| self.err(e))?;
        // The record is created: an answer we cannot read must not hide that.
        let record = match resp.json() {
            Ok(json) => json_path::get(&json, &rest.record).cloned(),
            Err(_) if !change.id.is_empty() || resp.body.iter().all(u8::is_ascii_whitespace) => {
                None
            }
            Err(e) => {
                return Err(self.fail(
                    ErrorCode::Network,
                    format!(
                        "{e}; the record was probably created, but its id is unknown: pull to see it"
                    ),
                ));
            }
        };
        Ok(WriteOutcome::Applied {
            id: created_id(entity_id, record.as_ref(), change),
        })
    }

    fn update_or_delete(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        change: &WriteChange,
    ) -> Result<WriteOutcome> {
        if change.id.is_empty() {
            return Err(self.fail(
                ErrorCode::Validation,
                "an update or delete needs the record's id fields".into(),
            ));
        }
        let template = match change.kind {
            WriteKind::Update => rest.update.clone(),
            _ => rest.delete.clone(),
        };
        let filtered = matches!(rest.conditional, Conditional::FilteredUpdate { .. })
            && change.kind == WriteKind::Update;
        if template.is_none() && !filtered {
            return Err(self.fail(
                ErrorCode::Validation,
                format!(
                    "this entity cannot {} records (no rest.{} endpoint)",
                    if change.kind == WriteKind::Update {
                        "update"
                    } else {
                        "delete"
                    },
                    if change.kind == WriteKind::Update {
                        "update"
                    } else {
                        "delete"
                    },
                ),
            ));
        }
        let need_etag = rest.conditional == Conditional::IfMatch;
        let Some(current) = self.fetch(rest, entity_id, &change.id, need_etag)? else {
            return Ok(WriteOutcome::NotFound);
        };
        let now = pick(&current.json, &change.expected);
        if now != change.expected {
            return Ok(WriteOutcome::Conflict { current: now });
        }
        if change.kind == WriteKind::Update && change.values.is_empty() {
            return Ok(WriteOutcome::Applied {
                id: change.id.clone(),
            });
        }
        let sid = rest
            .id_field(entity_id)
            .and_then(|f| json_path::get(&current.json, f))
            .and_then(json_path::text)
            .ok_or_else(|| {
                self.fail(
                    ErrorCode::System,
                    format!(
                        "the record {} as read has no system id field {:?}",
                        show_id(&change.id),
                        rest.id_field(entity_id).unwrap_or("")
                    ),
                )
            })?;
        let values: Vec<&Field> = change.values.iter().collect();
        let mut req = match change.kind {
            WriteKind::Update => {
                let method = rest
                    .update_method
                    .as_deref()
                    .unwrap_or("PATCH")
                    .to_ascii_uppercase();
                let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::PATCH);
                Request::write(
                    method,
                    fill_path(template.as_deref().unwrap_or(&rest.list), &[("id", &sid)]),
                    Some(self.body_of(rest, &values)?),
                )
            }
            _ => Request::write(
                Method::DELETE,
                fill_path(template.as_deref().unwrap_or_default(), &[("id", &sid)]),
                None,
            ),
        };
        match &rest.conditional {
            Conditional::Reread => {}
            Conditional::IfMatch => {
                let etag = current.etag.clone().ok_or_else(|| {
                    self.fail(
                        ErrorCode::System,
                        format!(
                            "protocol error: the record {} was read without an ETag, so the write \
                             cannot be made conditional (rest.conditional = if_match); nothing sent",
                            show_id(&change.id)
                        ),
                    )
                })?;
                req = req.header("if-match", etag);
                req.repeat = Repeat::Safe;
            }
            Conditional::VersionField { field } => {
                let version = json_path::get(&current.json, field)
                    .cloned()
                    .unwrap_or(Json::Null);
                match (&mut req.body, change.kind) {
                    (Some(body), WriteKind::Update) => set_path(body, field, version),
                    _ => {
                        req = req.param(field, json_path::text(&version).unwrap_or_default());
                    }
                }
                req.repeat = Repeat::Safe;
            }
            Conditional::FilteredUpdate { path, method, body }
                if change.kind == WriteKind::Update =>
            {
                let values = self.body_of(rest, &values)?;
                let mut b = body.clone();
                fill_json(&mut b, &current.json, &values);
                let method = method.as_deref().unwrap_or("PATCH").to_ascii_uppercase();
                req = Request::write(
                    Method::from_bytes(method.as_bytes()).unwrap_or(Method::PATCH),
                    path.clone().unwrap_or_else(|| rest.list.clone()),
                    Some(b),
                );
                req.repeat = Repeat::Safe;
            }
            Conditional::FilteredUpdate { .. } => {}
        }
        let resp = match self.client.send(&req) {
            Ok(resp) => resp,
            Err(e) if e.kind == Kind::Conflict => return self.settle(rest, entity_id, change),
            Err(e) if e.kind == Kind::NotFound => return self.settle(rest, entity_id, change),
            Err(e) => return Err(self.err(e)),
        };
        if filtered {
            let json = resp.json().map_err(|e| self.err(e))?;
            let matched = match json_path::get(&json, &rest.record) {
                Some(Json::Array(items)) => !items.is_empty(),
                Some(Json::Null) | None => false,
                Some(_) => true,
            };
            if !matched {
                return self.settle(rest, entity_id, change);
            }
        } else if change.kind == WriteKind::Update
            && !rest.record.is_empty()
            && resp.body.iter().all(u8::is_ascii_whitespace)
        {
            // No record where the update's answer should carry one (Directus
            // answers 204 for a record gone meanwhile): re-read to know.
            return self.settle(rest, entity_id, change);
        }
        Ok(WriteOutcome::Applied {
            id: change.id.clone(),
        })
    }
}

impl Connector for RestSystem {
    fn check(&mut self) -> Result<ConnectionInfo> {
        let (path, query) = match (&self.config.check, self.entities.first()) {
            (Some(p), _) => (p.clone(), BTreeMap::new()),
            (None, Some(e)) => (e.rest.list.clone(), e.rest.list_query.clone()),
            (None, None) => ("/".to_string(), BTreeMap::new()),
        };
        let mut req = Request::get(path);
        for (k, v) in &query {
            req = req.param(k, v);
        }
        let resp = self.client.send(&req).map_err(|e| self.err(e))?;
        Ok(ConnectionInfo {
            description: format!(
                "REST API at {} answered {} to {}",
                self.client.scrub(&self.config.base_url),
                resp.status,
                resp.request
            ),
            entities: self.entities.iter().map(|e| e.name.clone()).collect(),
        })
    }

    fn read(&mut self, source: &EntitySource, sink: &mut dyn RecordSink) -> Result<()> {
        let (rest, entity_id) = self.entity_of(source)?;
        let mut base = Request::get(rest.list.clone());
        for (k, v) in &rest.list_query {
            base = base.param(k, v);
        }
        // An incremental read, when the entity can and the pull asks.
        let since = rest
            .incremental
            .as_ref()
            .and(source.since.as_deref())
            .filter(|s| !s.is_empty());
        if let (Some(inc), Some(since)) = (&rest.incremental, since) {
            sink.incremental()?;
            for (k, v) in &inc.changed {
                base = base.param(k, v.replace("{since}", since));
            }
        }
        let mut cursor: Option<String> = since.map(str::to_string);
        let mut schema: Option<Vec<String>> = None;
        let mut origin = 0u64;
        let complete = read_all(
            &mut self.client,
            &base,
            &rest.pagination,
            &rest.records,
            &mut |page| {
                if schema.is_none() {
                    let mut names = RestSystem::schema_of(&rest, &page);
                    if names.is_empty() {
                        // No record to learn the fields from.
                        names = entity_id.clone();
                    }
                    sink.schema(&Schema::new(names.clone()))?;
                    schema = Some(names);
                }
                let names = schema.as_ref().expect("set above");
                for record in page {
                    origin += 1;
                    if let Some(inc) = &rest.incremental
                        && let Some(at) = inc
                            .updated_at
                            .iter()
                            .find_map(|f| json_path::get(&record, f).and_then(json_path::text))
                        && cursor.as_deref().is_none_or(|c| at.as_str() > c)
                    {
                        cursor = Some(at);
                    }
                    let values: Vec<Value> = names
                        .iter()
                        .map(|n| json_path::get(&record, n).and_then(json_path::text))
                        .collect();
                    if !sink.record(origin, values)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            },
        )?;
        if schema.is_none() {
            // No record to learn the fields from: the configured ones, or the id.
            let names = if rest.fields.is_empty() {
                entity_id.clone()
            } else {
                rest.fields.clone()
            };
            sink.schema(&Schema::new(names))?;
        }
        let Some(inc) = &rest.incremental else {
            return Ok(());
        };
        if !complete {
            return Ok(());
        }
        if since.is_some() {
            // Which records still exist: the id-only listing.
            let mut ids = Request::get(rest.list.clone());
            for (k, v) in rest.list_query.iter().chain(&inc.ids) {
                ids = ids.param(k, v);
            }
            let complete = read_all(
                &mut self.client,
                &ids,
                &rest.pagination,
                &rest.records,
                &mut |page| {
                    for record in page {
                        let values: Vec<Value> = entity_id
                            .iter()
                            .map(|f| json_path::get(&record, f).and_then(json_path::text))
                            .collect();
                        let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
                        if !sink.present(&refs)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                },
            )?;
            if !complete {
                return Ok(());
            }
        }
        if let Some(c) = cursor {
            sink.cursor(&c)?;
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: true,
            write: true,
            conditional_writes: true,
        }
    }

    fn read_one(&mut self, source: &EntitySource, id: &[Field]) -> Result<Option<Vec<Field>>> {
        let (rest, entity_id) = self.entity_of(source)?;
        let Some(cur) = self.fetch(&rest, &entity_id, id, false)? else {
            return Ok(None);
        };
        let names = RestSystem::schema_of(&rest, std::slice::from_ref(&cur.json));
        Ok(Some(
            names
                .into_iter()
                .map(|n| {
                    let v = json_path::get(&cur.json, &n).and_then(json_path::text);
                    (n, v)
                })
                .collect(),
        ))
    }

    fn write(&mut self, source: &EntitySource, change: &WriteChange) -> Result<WriteOutcome> {
        let (rest, entity_id) = self.entity_of(source)?;
        match change.kind {
            WriteKind::Insert => self.insert(&rest, &entity_id, change),
            WriteKind::Update | WriteKind::Delete => {
                self.update_or_delete(&rest, &entity_id, change)
            }
        }
    }
    /// Runs of creates go as one request each when `create_batch` allows;
    /// everything else is sent change by change.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let (rest, entity_id) = self.entity_of(source)?;
        let size = rest.create_batch.unwrap_or(1).max(1) as usize;
        let mut out = Vec::with_capacity(changes.len());
        let mut i = 0;
        while i < changes.len() {
            let run = changes[i..]
                .iter()
                .take(size)
                .take_while(|c| c.kind == WriteKind::Insert)
                .count();
            if run > 1 {
                let group: Vec<&WriteChange> = changes[i..i + run].iter().collect();
                out.extend(self.insert_many(&rest, &entity_id, &group)?);
                i += run;
            } else {
                out.push(self.write(source, &changes[i])?);
                i += 1;
            }
        }
        Ok(out)
    }
}

/// The id fields of a created record: from the answer, else as sent.
fn created_id(entity_id: &[String], record: Option<&Json>, change: &WriteChange) -> Vec<Field> {
    entity_id
        .iter()
        .map(|f| {
            let from_answer = record
                .and_then(|r| json_path::get(r, f))
                .and_then(json_path::text);
            let given = change
                .id
                .iter()
                .find(|(n, _)| n == f)
                .and_then(|(_, v)| v.clone());
            (f.clone(), from_answer.or(given))
        })
        .collect()
}

/// The values of `names` in a record, as text.
fn pick(record: &Json, names: &[Field]) -> Vec<Field> {
    names
        .iter()
        .map(|(n, _)| {
            (
                n.clone(),
                json_path::get(record, n).and_then(json_path::text),
            )
        })
        .collect()
}

fn show_id(id: &[Field]) -> String {
    id.iter()
        .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("(none)")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces `{name}` in a path, the values percent-encoded.
fn fill_path(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        let enc: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        out = out.replace(&format!("{{{k}}}"), &enc);
    }
    out
}

/// Replaces `{name}` in text with the values (query parameters are encoded
/// by the client).
fn fill_text(template: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Fills a filtered-update body: `"{values}"` → the values object,
/// `"{field}"` → the field's JSON as re-read, `{field}` in text → its text.
fn fill_json(template: &mut Json, current: &Json, values: &Json) {
    match template {
        Json::String(s) => {
            if s == "{values}" {
                *template = values.clone();
            } else if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && !name.contains(['{', '}'])
            {
                *template = json_path::get(current, name).cloned().unwrap_or(Json::Null);
            } else if s.contains('{') {
                let mut out = s.clone();
                while let Some(a) = out.find('{') {
                    let Some(b) = out[a..].find('}') else { break };
                    let name = out[a + 1..a + b].to_string();
                    let v = json_path::get(current, &name)
                        .and_then(json_path::text)
                        .unwrap_or_default();
                    out.replace_range(a..a + b + 1, &v);
                }
                *s = out;
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|i| fill_json(i, current, values)),
        Json::Object(map) => map.values_mut().for_each(|v| fill_json(v, current, values)),
        _ => {}
    }
}

/// Sets a dotted path in a JSON object, creating objects on the way.
fn set_path(target: &mut Json, path: &str, value: Json) {
    let mut cur = target;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if !cur.is_object() {
            *cur = Json::Object(Map::new());
        }
        let map = cur.as_object_mut().expect("made an object");
        if parts.peek().is_none() {
            map.insert(p.to_string(), value);
            return;
        }
        cur = map
            .entry(p.to_string())
            .or_insert_with(|| Json::Object(Map::new()));
    }
}

/// Text as the JSON of a field type.
fn typed(value: Option<&str>, ty: FieldType) -> std::result::Result<Json, String> {
    let Some(v) = value else {
        return Ok(Json::Null);
    };
    Ok(match ty {
        FieldType::Text => Json::String(v.to_string()),
        FieldType::Integer => Json::from(
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{v:?} is not an integer"))?,
        ),
        FieldType::Number => {
            let n: serde_json::Number = v
                .trim()
                .parse()
                .map_err(|_| format!("{v:?} is not a number"))?;
            Json::Number(n)
        }
        FieldType::Boolean => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Json::Bool(true),
            "false" | "0" | "no" => Json::Bool(false),
            _ => return Err(format!("{v:?} is not a boolean (true/false)")),
        },
        FieldType::Json => serde_json::from_str(v).map_err(|e| format!("not JSON: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_typed_nested_json() {
        let mut body = Json::Object(Map::new());
        set_path(&mut body, "properties.email", Json::from("a@b.c"));
        set_path(
            &mut body,
            "properties.age",
            typed(Some("42"), FieldType::Integer).unwrap(),
        );
        set_path(
            &mut body,
            "active",
            typed(Some("yes"), FieldType::Boolean).unwrap(),
        );
        set_path(
            &mut body,
            "price",
            typed(Some("12.50"), FieldType::Number).unwrap(),
        );
        set_path(&mut body, "gone", typed(None, FieldType::Text).unwrap());
        assert_eq!(
            body,
            serde_json::json!({"properties": {"email": "a@b.c", "age": 42}, "active": true, "price": 12.5, "gone": null})
        );
        assert!(
            typed(Some("4x"), FieldType::Integer)
                .unwrap_err()
                .contains("not an integer")
        );
    }

    #[test]
    fn filtered_update_bodies_are_filled_from_the_record_as_read() {
        let mut body = serde_json::json!({
            "query": {"filter": {"id": {"_eq": "{id}"}, "date_updated": {"_eq": "{date_updated}"}}},
            "data": "{values}",
            "note": "row {id}"
        });
        let current = serde_json::json!({"id": 7, "date_updated": null});
        fill_json(&mut body, &current, &serde_json::json!({"name": "Ann"}));
        assert_eq!(
            body,
            serde_json::json!({
                "query": {"filter": {"id": {"_eq": 7}, "date_updated": {"_eq": null}}},
                "data": {"name": "Ann"},
                "note": "row 7"
            })
        );
        assert_eq!(
            fill_path("/items/c/{id}", &[("id", "a b/c")]),
            "/items/c/a%20b%2Fc"
        );
    }
}
