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

pub use config::{
    Batch, BatchEndpoint, Conditional, FieldType, Incremental, RestEntityConfig, RestSystemConfig,
    SearchListing,
};

use crate::connectors::http::paging::{read_all, records_at};
use crate::connectors::http::{HttpClient, HttpError, Kind, Repeat, Request, Response, json_path};
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
        let mut client = HttpClient::new(name, &config.base_url, &config.auth, &config.http)?;
        for e in &entities {
            if let Some(search) = e.rest.incremental.as_ref().and_then(|i| i.search.as_ref())
                && let Some(n) = search.rate_limit
            {
                client.limit_path(&search.path, "search", n, 1)?;
            }
        }
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

    /// Logins (or token fetches) made so far.
    pub fn logins(&self) -> u64 {
        self.client.logins
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

    /// Sends a request; a 2xx answer listing errors at `errors_at`
    /// (GraphQL) is a failure too.
    fn send(&mut self, req: &Request) -> Result<Response> {
        let resp = self.client.send(req).map_err(|e| self.err(e))?;
        if let Some(e) = body_errors(self.config.errors_at.as_deref(), &resp) {
            return Err(self.err(e));
        }
        Ok(resp)
    }

    /// A record answered with `error_field` (Vendure's `errorCode`): the
    /// system refused the write.
    fn refused(
        &self,
        rest: &RestEntityConfig,
        record: Option<&Json>,
        resp: &Response,
    ) -> Result<()> {
        let (Some(field), Some(record)) = (&rest.error_field, record) else {
            return Ok(());
        };
        let Some(code) = json_path::get(record, field).and_then(json_path::text) else {
            return Ok(());
        };
        let message = record
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or("refused");
        let mut e = HttpError::new(
            Kind::Validation,
            &resp.request,
            format!("{message} [{code}]"),
        );
        e.status = Some(resp.status);
        Err(self.err(e))
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
                    if rest.values_in.as_deref() != Some(k.as_str()) && !names.contains(k) {
                        names.push(k.clone());
                    }
                }
            }
            if let Some(Json::Object(inner)) =
                rest.values_in.as_deref().and_then(|p| json_path::get(r, p))
            {
                for k in inner.keys() {
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
        let (mut req, in_body) = base_listing(rest);
        for (k, v) in &rest.find {
            req = req.param(k, fill_text(v, &fields));
        }
        if in_body {
            req = params_to_body(req, &rest.pagination);
        }
        let resp = self.send(&req)?;
        let json = resp.json().map_err(|e| self.err(e))?;
        let mut found = records_at(&json, &rest.records, &resp).map_err(|e| self.err(e))?;
        // A filter the system ignores would return other records: keep exact matches.
        found.retain(|r| {
            id.iter()
                .all(|(n, v)| rest.value(r, n).and_then(json_path::text) == *v)
        });
        match found.len() {
            0 => Ok(None),
            1 => {
                let json = found.pop().expect("one");
                if need_etag
                    && let (Some(f), Some(get)) = (&id_field, &rest.get)
                    && let Some(sid) = rest.value(&json, f).and_then(json_path::text)
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
            let v = match (value, &rest.clear_value) {
                (None, Some(clear)) => Ok(clear.clone()),
                _ => typed(value.as_deref(), ty),
            }
            .map_err(|why| {
                self.fail(
                    ErrorCode::Validation,
                    format!("field {name:?}: {why}; nothing sent"),
                )
            })?;
            match &rest.values_in {
                Some(inner) => set_path(&mut body, &format!("{inner}.{name}"), v),
                None => set_path(&mut body, name, v),
            }
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
        let values = pick(rest, &now.json, &change.values);
        if change.kind == WriteKind::Update && values == change.values {
            return Ok(WriteOutcome::Applied {
                id: change.id.clone(),
            });
        }
        Ok(WriteOutcome::Conflict {
            current: pick(rest, &now.json, &change.expected),
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
        let resp = self.send(&Request::write(
            Method::POST,
            path,
            Some(Json::Array(bodies)),
        ))?;
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
                id: created_id(rest, entity_id, Some(&record), change),
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
        let mut body = self.body_of(rest, &fields)?;
        if let Some(template) = &rest.create_body {
            let mut b = template.clone();
            fill_json(&mut b, &id_lookup(change), &body, &Json::Null);
            body = b;
        }
        let resp = self.send(&Request::write(Method::POST, path, Some(body)))?;
        // The record is created: an answer we cannot read must not hide that.
        let record = match resp.json() {
            Ok(json) => {
                let record = json_path::get(&json, &rest.record).cloned();
                self.refused(rest, record.as_ref(), &resp)?;
                record
            }
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
            id: created_id(rest, entity_id, record.as_ref(), change),
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
        if change.kind == WriteKind::Update && change.values.is_empty() {
            return Ok(WriteOutcome::Applied {
                id: change.id.clone(),
            });
        }
        let blind = filtered
            && matches!(
                rest.conditional,
                Conditional::FilteredUpdate { reread: false, .. }
            );
        let current = if blind {
            // No read first: the filter compares on the system's side.
            let mut json = Json::Object(Map::new());
            for (name, value) in change.id.iter().chain(&change.expected) {
                let ty = rest.types.get(name).copied().unwrap_or_default();
                set_path(
                    &mut json,
                    name,
                    typed(value.as_deref(), ty).unwrap_or(Json::Null),
                );
            }
            Current { json, etag: None }
        } else {
            let need_etag = rest.conditional == Conditional::IfMatch;
            let Some(current) = self.fetch(rest, entity_id, &change.id, need_etag)? else {
                return Ok(WriteOutcome::NotFound);
            };
            let now = pick(rest, &current.json, &change.expected);
            if now != change.expected {
                return Ok(WriteOutcome::Conflict { current: now });
            }
            current
        };
        let sid = rest
            .id_field(entity_id)
            .and_then(|f| rest.value(&current.json, f))
            .and_then(json_path::text)
            .or_else(|| blind.then(String::new))
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
                let mut body = self.body_of(rest, &values)?;
                if let Some(t) = &rest.update_body {
                    let mut b = t.clone();
                    fill_json(
                        &mut b,
                        &|n| rest.value(&current.json, n).cloned(),
                        &body,
                        &Json::Null,
                    );
                    body = b;
                }
                Request::write(
                    method,
                    fill_path(template.as_deref().unwrap_or(&rest.list), &[("id", &sid)]),
                    Some(body),
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
            Conditional::FilteredUpdate {
                path,
                method,
                body,
                expected,
                ..
            } if change.kind == WriteKind::Update => {
                let values = self.body_of(rest, &values)?;
                let mut wanted = Map::new();
                for (name, value) in &change.expected {
                    let ty = rest.types.get(name).copied().unwrap_or_default();
                    let v = typed(value.as_deref(), ty).unwrap_or(Json::Null);
                    let entry = match expected {
                        Some(template) => {
                            let mut t = template.clone();
                            fill_value(&mut t, &v);
                            t
                        }
                        None => v,
                    };
                    wanted.insert(name.clone(), entry);
                }
                let mut b = body.clone();
                fill_json(
                    &mut b,
                    &|n| rest.value(&current.json, n).cloned(),
                    &values,
                    &Json::Object(wanted),
                );
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
            Ok(resp) => {
                if let Some(e) = body_errors(self.config.errors_at.as_deref(), &resp) {
                    return Err(self.err(e));
                }
                if change.kind == WriteKind::Update
                    && let Ok(json) = resp.json()
                {
                    self.refused(rest, json_path::get(&json, &rest.record), &resp)?;
                }
                resp
            }
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
        let req = match (&self.config.check, self.entities.first()) {
            (Some(p), _) => Request::get(p.clone()),
            (None, Some(e)) => match base_listing(&e.rest) {
                (req, true) => params_to_body(req, &e.rest.pagination),
                (req, false) => req,
            },
            (None, None) => Request::get("/"),
        };
        let resp = self.send(&req)?;
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
        let started = std::time::Instant::now();
        let (rest, entity_id) = self.entity_of(source)?;
        let (mut base, mut in_body) = base_listing(&rest);
        // An incremental read, when the entity can and the pull asks.
        let since = rest
            .incremental
            .as_ref()
            .and(source.since.as_deref())
            .filter(|s| !s.is_empty());
        let search = rest
            .incremental
            .as_ref()
            .and_then(|inc| inc.search.as_ref())
            .filter(|_| since.is_some());
        // A search by POST (HubSpot): the paging goes in the body.
        let search_request = |since: &str| -> std::result::Result<Request, String> {
            let s = search.expect("asked only for a search");
            let mut body = s.body.clone();
            fill_since(&mut body, since)?;
            let mut req = Request::write(Method::POST, s.path.clone(), Some(body));
            req.repeat = Repeat::Safe;
            Ok(req)
        };
        if let (Some(inc), Some(since)) = (&rest.incremental, since) {
            sink.incremental()?;
            for (k, v) in &inc.changed {
                base = base.param(k, v.replace("{since}", since));
            }
            if search.is_some() {
                base = search_request(since).map_err(|m| self.fail(ErrorCode::Config, m))?;
                in_body = true;
            }
        }
        let mut cursor: Option<String> = since.map(str::to_string);
        let mut schema: Option<Vec<String>> = None;
        let mut origin = 0u64;
        let pagination = match (&rest.incremental, in_body) {
            (Some(inc), true) => inc
                .search
                .as_ref()
                .and_then(|s| s.pagination.clone())
                .unwrap_or_else(|| rest.pagination.clone()),
            _ => rest.pagination.clone(),
        };
        // A search that pages through at most `cap` records is read in
        // windows of change time (see `SearchListing::cap`).
        let cap = search.and_then(|s| s.cap);
        let mut window = Window {
            start: since.map(str::to_string),
            ..Window::default()
        };
        let page_size = page_limit(&pagination);
        if let Some(cap) = cap
            && cap < page_size
        {
            return Err(self.fail(
                ErrorCode::Config,
                format!("rest.incremental.search.cap: {cap} is less than one page ({page_size})"),
            ));
        }
        let mut on_page = |page: Vec<Json>, window: &mut Window| -> Result<bool> {
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
                window.count += 1;
                if cap.is_some() && !window.admit(&rest, &entity_id, &record) {
                    // Read at the boundary by the previous window.
                    continue;
                }
                origin += 1;
                if let Some(inc) = &rest.incremental
                    && let Some(at) = inc
                        .updated_at
                        .iter()
                        .find_map(|f| rest.value(&record, f).and_then(json_path::text))
                    && cursor.as_deref().is_none_or(|c| at.as_str() > c)
                {
                    cursor = Some(at);
                }
                let values: Vec<Value> = names
                    .iter()
                    .map(|n| rest.value(&record, n).and_then(json_path::text))
                    .collect();
                if !sink.record(origin, values)? {
                    return Ok(false);
                }
            }
            if let Some(cap) = cap
                && window.count + page_size > cap
            {
                // The next page would pass the cap: a new window.
                window.full = true;
                return Ok(false);
            }
            Ok(true)
        };
        let complete = loop {
            let done = read_pages(
                &mut self.client,
                &base,
                &pagination,
                &rest.records,
                in_body,
                self.config.errors_at.as_deref(),
                &mut |page| on_page(page, &mut window),
            )?;
            if done || !window.full {
                break done;
            }
            let Some(next) = window.next() else {
                return Err(self.fail(
                    ErrorCode::Validation,
                    format!(
                        "more than {} records changed at {}: the search cannot page past \
                         them; pull once with incremental = false",
                        cap.unwrap_or_default(),
                        window.latest.as_deref().unwrap_or("one time"),
                    ),
                ));
            };
            base = search_request(&next).map_err(|m| self.fail(ErrorCode::Config, m))?;
        };
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
            let mut ids = match &inc.ids_body {
                Some(body) => {
                    let mut r = Request::write(Method::POST, rest.list.clone(), Some(body.clone()));
                    r.repeat = Repeat::Safe;
                    r
                }
                None => Request::get(rest.list.clone()),
            };
            let plain = rest
                .list_query
                .iter()
                .filter(|(k, _)| !inc.ids.contains_key(*k));
            for (k, v) in plain.chain(&inc.ids) {
                ids = ids.param(k, v);
            }
            let complete = read_pages(
                &mut self.client,
                &ids,
                &rest.pagination,
                &rest.records,
                inc.ids_body.is_some(),
                self.config.errors_at.as_deref(),
                &mut |page| {
                    for record in page {
                        let values: Vec<Value> = entity_id
                            .iter()
                            .map(|f| rest.value(&record, f).and_then(json_path::text))
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
            sink.cursor(&step_back(&c, started.elapsed(), since))?;
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
                    let v = rest.value(&cur.json, &n).and_then(json_path::text);
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
    /// Runs of creates go as one request each when `create_batch` or
    /// `batch.create` allows; runs of updates through `batch.read` and
    /// `batch.update`; everything else is sent change by change.
    fn write_batch(
        &mut self,
        source: &EntitySource,
        changes: &[WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        let (rest, entity_id) = self.entity_of(source)?;
        let batch = rest.batch.clone();
        let batch_size = batch.as_ref().map_or(1, |b| b.size.max(1) as usize);
        let list_size = rest.create_batch.unwrap_or(1).max(1) as usize;
        let has_ref = |c: &WriteChange| {
            !entity_id.is_empty()
                && entity_id
                    .iter()
                    .all(|f| c.id.iter().any(|(n, v)| n == f && v.is_some()))
        };
        let mut out = Vec::with_capacity(changes.len());
        let mut i = 0;
        while i < changes.len() {
            let run_of = |kind: WriteKind, size: usize, also: &dyn Fn(&WriteChange) -> bool| {
                changes[i..]
                    .iter()
                    .take(size)
                    .take_while(|c| c.kind == kind && also(c))
                    .count()
            };
            let batch_creates = batch.as_ref().and_then(|b| b.create.as_ref());
            let batch_updates = batch.as_ref().and_then(|b| b.update.as_ref());
            if let Some(endpoint) = batch_creates
                && let run = run_of(WriteKind::Insert, batch_size, &has_ref)
                && run > 1
            {
                let group: Vec<&WriteChange> = changes[i..i + run].iter().collect();
                out.extend(self.create_many(&rest, &entity_id, endpoint, &group)?);
                i += run;
            } else if let Some(endpoint) = batch_updates
                && let run = run_of(WriteKind::Update, batch_size, &|c| !c.id.is_empty())
                && run > 1
            {
                let group: Vec<&WriteChange> = changes[i..i + run].iter().collect();
                out.extend(self.update_many(&rest, &entity_id, endpoint, &group)?);
                i += run;
            } else if batch_creates.is_none()
                && let run = run_of(WriteKind::Insert, list_size, &|_| true)
                && run > 1
            {
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

/// The values object of a write body: inside `values_in`, or the body.
fn inner_values(rest: &RestEntityConfig, body: Json) -> Json {
    match &rest.values_in {
        Some(inner) => json_path::get(&body, inner)
            .cloned()
            .unwrap_or_else(|| Json::Object(Map::new())),
        None => body,
    }
}

/// A change's id fields as a lookup for templates.
fn id_lookup(change: &WriteChange) -> impl Fn(&str) -> Option<Json> + '_ {
    move |name: &str| {
        change
            .id
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone().map(Json::String))
    }
}

/// True when `record` has the change's id values.
fn same_id(rest: &RestEntityConfig, record: &Json, change: &WriteChange) -> bool {
    change
        .id
        .iter()
        .all(|(n, v)| rest.value(record, n).and_then(json_path::text) == *v)
}

impl RestSystem {
    /// Sends one batch request: `inputs` put in the endpoint's body.
    fn send_batch(
        &mut self,
        endpoint: &BatchEndpoint,
        inputs: Vec<Json>,
        repeat: Repeat,
    ) -> Result<(Response, Vec<Json>)> {
        let mut body = endpoint
            .body
            .clone()
            .unwrap_or_else(|| serde_json::json!({"inputs": "{inputs}"}));
        let inputs = Json::Array(inputs);
        fill_inputs(&mut body, &inputs);
        let mut req = Request::write(Method::POST, endpoint.path.clone(), Some(body));
        req.repeat = repeat;
        let resp = self.send(&req)?;
        let json = resp.json().map_err(|e| self.err(e))?;
        let records = records_at(
            &json,
            endpoint.records.as_deref().unwrap_or("results"),
            &resp,
        )
        .map_err(|e| self.err(e))?;
        Ok((resp, records))
    }

    /// Reads the records of `changes` with one batch read (or one by one
    /// without `batch.read`); `None` where a record does not exist.
    fn read_many(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        changes: &[&WriteChange],
    ) -> Result<Vec<Option<Json>>> {
        let Some(read) = rest.batch.as_ref().and_then(|b| b.read.clone()) else {
            let mut out = Vec::with_capacity(changes.len());
            for c in changes {
                out.push(self.fetch(rest, entity_id, &c.id, false)?.map(|c| c.json));
            }
            return Ok(out);
        };
        let inputs = changes
            .iter()
            .map(|c| {
                let mut input = read.input.clone();
                fill_json(&mut input, &id_lookup(c), &Json::Null, &Json::Null);
                input
            })
            .collect();
        // A read: safe to repeat. Records missing are left out of the answer
        // (HubSpot answers 207 with an error per missing id).
        let (_, found) = self.send_batch(&read, inputs, Repeat::Safe)?;
        Ok(changes
            .iter()
            .map(|c| found.iter().find(|r| same_id(rest, r, c)).cloned())
            .collect())
    }

    /// Updates through `batch.update`: one batch read, the compare, then
    /// one request with the records that did not move (a plain write, as
    /// `reread`). An answer that does not list every record sent (HubSpot's
    /// 207 with errors) fails the batch: each change is then re-read and
    /// sent alone by the push.
    fn update_many(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        endpoint: &BatchEndpoint,
        changes: &[&WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        // A batch the system refused for its rate (429, the wait it asked
        // for already kept) is read and compared again, then sent again:
        // a change found already at its new values counts as applied.
        let mut round = 0;
        loop {
            match self.update_round(rest, entity_id, endpoint, changes, round > 0) {
                Err(e)
                    if e.code() == ErrorCode::RateLimit
                        && round < self.client.options().max_retries =>
                {
                    round += 1;
                }
                other => return other,
            }
        }
    }

    /// One batch read, compare and batch update. `again`: an earlier round
    /// may have applied some changes.
    fn update_round(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        endpoint: &BatchEndpoint,
        changes: &[&WriteChange],
        again: bool,
    ) -> Result<Vec<WriteOutcome>> {
        let current = self.read_many(rest, entity_id, changes)?;
        let mut out: Vec<Option<WriteOutcome>> = vec![None; changes.len()];
        let mut inputs = Vec::new();
        for (i, (change, cur)) in changes.iter().zip(&current).enumerate() {
            let Some(cur) = cur else {
                out[i] = Some(WriteOutcome::NotFound);
                continue;
            };
            let applied = WriteOutcome::Applied {
                id: change.id.clone(),
            };
            let now = pick(rest, cur, &change.expected);
            if now != change.expected {
                out[i] = Some(
                    if again && pick(rest, cur, &change.values) == change.values {
                        applied
                    } else {
                        WriteOutcome::Conflict { current: now }
                    },
                );
                continue;
            }
            if change.values.is_empty() {
                out[i] = Some(applied);
                continue;
            }
            let values: Vec<&Field> = change.values.iter().collect();
            let values = inner_values(rest, self.body_of(rest, &values)?);
            let mut input = endpoint.input.clone();
            let ids = id_lookup(change);
            fill_json(
                &mut input,
                &|n| rest.value(cur, n).cloned().or_else(|| ids(n)),
                &values,
                &Json::Null,
            );
            inputs.push(input);
            out[i] = Some(applied);
        }
        if !inputs.is_empty() {
            let sent = inputs.len();
            let (resp, records) = self.send_batch(endpoint, inputs, Repeat::Once)?;
            if resp.status == 207 || records.len() != sent {
                return Err(self.err(HttpError::new(
                    Kind::Protocol,
                    &resp.request,
                    format!(
                        "a batch of {sent} updates was answered with {} records (HTTP {}): some \
                         may not be applied; each is re-read before anything is sent again",
                        records.len(),
                        resp.status
                    ),
                )));
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every change decided"))
            .collect())
    }

    /// Creates through `batch.create`; the answer's records are matched to
    /// the changes by the entity's id fields (an external reference).
    fn create_many(
        &mut self,
        rest: &RestEntityConfig,
        entity_id: &[String],
        endpoint: &BatchEndpoint,
        changes: &[&WriteChange],
    ) -> Result<Vec<WriteOutcome>> {
        if rest.create.is_none() {
            return Err(self.fail(
                ErrorCode::Validation,
                "this entity cannot create records (no rest.create endpoint)".into(),
            ));
        }
        let mut inputs = Vec::with_capacity(changes.len());
        for change in changes {
            let mut fields: Vec<&Field> = change.id.iter().collect();
            fields.extend(
                change
                    .values
                    .iter()
                    .filter(|(n, _)| !change.id.iter().any(|(i, _)| i == n)),
            );
            let values = inner_values(rest, self.body_of(rest, &fields)?);
            let mut input = endpoint.input.clone();
            fill_json(&mut input, &id_lookup(change), &values, &Json::Null);
            inputs.push(input);
        }
        let (resp, records) = self.send_batch(endpoint, inputs, Repeat::Once)?;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let Some(record) = records.iter().find(|r| same_id(rest, r, change)) else {
                return Err(self.err(HttpError::new(
                    Kind::Protocol,
                    &resp.request,
                    format!(
                        "a batch of {} creates was answered without the record {} (HTTP {}); \
                         the records are re-read before anything is sent again",
                        changes.len(),
                        show_id(&change.id),
                        resp.status
                    ),
                )));
            };
            out.push(WriteOutcome::Applied {
                id: created_id(rest, entity_id, Some(record), change),
            });
        }
        Ok(out)
    }
}

/// Reads every page of a listing, like [`read_all`]; `in_body`: the
/// listing is a POST whose paging parameters go in the JSON body (numbers
/// when they are numbers) instead of the query.
fn read_pages(
    client: &mut HttpClient,
    base: &Request,
    style: &crate::connectors::http::Pagination,
    records_path: &str,
    in_body: bool,
    errors_at: Option<&str>,
    on_page: &mut dyn FnMut(Vec<Json>) -> Result<bool>,
) -> Result<bool> {
    use crate::connectors::http::paging::{PageState, Step};
    if !in_body && errors_at.is_none() {
        return read_all(client, base, style, records_path, on_page);
    }
    let to_body = |req: Request| {
        if in_body {
            params_to_body(req, style)
        } else {
            req
        }
    };
    let mut state = PageState::new(style, client.options().max_pages);
    let mut req = to_body(state.request(base));
    loop {
        let resp = client.send(&req).map_err(|e| client.error(e))?;
        if let Some(e) = body_errors(errors_at, &resp) {
            return Err(client.error(e));
        }
        let json = resp.json().map_err(|e| client.error(e))?;
        let records = records_at(&json, records_path, &resp).map_err(|e| client.error(e))?;
        let n = records.len();
        if !on_page(records)? {
            return Ok(false);
        }
        match state
            .after(base, n, &json, &resp)
            .map_err(|e| client.error(e))?
        {
            Step::Next(r) => req = to_body(r),
            Step::Done => return Ok(true),
        }
    }
}

/// The cursor to keep after a pull: the latest change time read, less the
/// pull's own duration and a second, and never before the cursor the pull
/// started from. A record changed while the pull ran has a change time after
/// the pull began, which can be earlier than the latest time read (another
/// record changed after it, on a later page); without stepping back the
/// next pull would ask for changes after that latest time and miss it for
/// good. The latest time read is at most the server's time when the pull
/// ended, so stepping back by the pull's duration lands before the pull
/// began. The records read twice this way are unchanged and cost nothing in
/// the cache. Besides RFC 3339 times, a time without a zone
/// (`2026-01-01 10:00:00`, `2026-01-01T10:00:00.250`) steps back in the same
/// layout, and a Unix time in seconds (10 digits) or milliseconds (13) in its
/// unit; any other cursor (a version number, a token) is kept as read.
fn step_back(latest: &str, elapsed: std::time::Duration, since: Option<&str>) -> String {
    let back = chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::days(365))
        + chrono::Duration::seconds(1);
    if let Some(stepped) = step_back_other(latest, back, since) {
        return stepped;
    }
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(latest) else {
        return latest.to_string();
    };
    let Some(stepped) = at.checked_sub_signed(back) else {
        return latest.to_string();
    };
    let start = since.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    match start {
        Some(start) if start >= stepped => since.unwrap_or(latest).to_string(),
        _ => stepped
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// [`step_back`] for a Unix time (seconds or milliseconds) or a time
/// without a zone; `None` for an RFC 3339 time or a cursor that is no time.
fn step_back_other(latest: &str, back: chrono::Duration, since: Option<&str>) -> Option<String> {
    if matches!(latest.len(), 10 | 13) && latest.bytes().all(|b| b.is_ascii_digit()) {
        let at: i64 = latest.parse().ok()?;
        let unit = if latest.len() == 13 {
            back.num_milliseconds()
        } else {
            back.num_seconds()
        };
        let stepped = at.checked_sub(unit)?;
        let start = since.and_then(|s| s.parse::<i64>().ok());
        return Some(match start {
            Some(start) if start >= stepped => since?.to_string(),
            _ => stepped.to_string(),
        });
    }
    const LAYOUTS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];
    let (layout, at) = LAYOUTS.iter().find_map(|l| {
        chrono::NaiveDateTime::parse_from_str(latest, l)
            .ok()
            .map(|at| (*l, at))
    })?;
    let stepped = at.checked_sub_signed(back)?;
    let start = since.and_then(|s| chrono::NaiveDateTime::parse_from_str(s, layout).ok());
    if let Some(start) = start
        && start >= stepped
    {
        return since.map(str::to_string);
    }
    // The same layout, with milliseconds only when the time read had a fraction.
    let fraction = latest.contains('.');
    let out = layout.replace("%.f", if fraction { "%.3f" } else { "" });
    Some(stepped.format(&out).to_string())
}

/// Fills `"{since}"` (the cursor as read), `"{since_ms}"` (the cursor,
/// an ISO 8601 time, as milliseconds since 1970, as text) and
/// `"{since_1s_before}"` (the cursor less one second, ISO 8601: for servers
/// that keep times to the second but compare them with milliseconds) in a
/// body.
fn fill_since(template: &mut Json, since: &str) -> std::result::Result<(), String> {
    match template {
        Json::String(s) if s.contains("{since_ms}") => {
            let at = chrono::DateTime::parse_from_rfc3339(since).map_err(|e| {
                format!("the incremental cursor {since:?} is not an ISO 8601 time ({e}); pull everything once")
            })?;
            *s = s.replace("{since_ms}", &at.timestamp_millis().to_string());
        }
        Json::String(s) if s.contains("{since_1s_before}") => {
            let at = chrono::DateTime::parse_from_rfc3339(since).map_err(|e| {
                format!("the incremental cursor {since:?} is not an ISO 8601 time ({e}); pull everything once")
            })?;
            let before = (at - chrono::Duration::seconds(1))
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            *s = s.replace("{since_1s_before}", &before);
        }
        Json::String(s) if s.contains("{since}") => *s = s.replace("{since}", since),
        Json::Array(items) => {
            for i in items {
                fill_since(i, since)?;
            }
        }
        Json::Object(map) => {
            for v in map.values_mut() {
                fill_since(v, since)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Puts the inputs list where the body template says `"{inputs}"`.
fn fill_inputs(template: &mut Json, inputs: &Json) {
    match template {
        Json::String(s) if s == "{inputs}" => *template = inputs.clone(),
        Json::Array(items) => items.iter_mut().for_each(|i| fill_inputs(i, inputs)),
        Json::Object(map) => map.values_mut().for_each(|v| fill_inputs(v, inputs)),
        _ => {}
    }
}

/// The id fields of a created record: from the answer, else as sent.
fn created_id(
    rest: &RestEntityConfig,
    entity_id: &[String],
    record: Option<&Json>,
    change: &WriteChange,
) -> Vec<Field> {
    entity_id
        .iter()
        .map(|f| {
            let from_answer = record
                .and_then(|r| rest.value(r, f))
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
fn pick(rest: &RestEntityConfig, record: &Json, names: &[Field]) -> Vec<Field> {
    names
        .iter()
        .map(|(n, _)| (n.clone(), rest.value(record, n).and_then(json_path::text)))
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

/// Replaces every string `"{value}"` in `template` by `value`.
fn fill_value(template: &mut Json, value: &Json) {
    match template {
        Json::String(s) if s == "{value}" => *template = value.clone(),
        Json::Array(items) => items.iter_mut().for_each(|i| fill_value(i, value)),
        Json::Object(map) => map.values_mut().for_each(|v| fill_value(v, value)),
        _ => {}
    }
}

/// Fills a filtered-update body: `"{values}"` → the values object,
/// `"{expected}"` → the expected-fields object, `"{field}"` → the field's
/// JSON (as re-read, or from the change's id), `{field}` in text → its
/// text; an object entry `"..." = "{values}"` merges the values in.
fn fill_json(
    template: &mut Json,
    current: &dyn Fn(&str) -> Option<Json>,
    values: &Json,
    expected: &Json,
) {
    match template {
        Json::String(s) => {
            if s == "{values}" {
                *template = values.clone();
            } else if s == "{expected}" {
                *template = expected.clone();
            } else if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && !name.contains(['{', '}'])
            {
                *template = current(name).unwrap_or(Json::Null);
            } else if s.contains('{') {
                // Only `{name}` with a plain field name is a placeholder:
                // other braces (a GraphQL query's selections) stay as written.
                let mut out = String::with_capacity(s.len());
                let mut rest = s.as_str();
                while let Some(a) = rest.find('{') {
                    out.push_str(&rest[..a]);
                    let after = &rest[a + 1..];
                    let name = after.find('}').map(|b| &after[..b]).filter(|n| {
                        !n.is_empty()
                            && n.chars()
                                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
                    });
                    match name {
                        Some(name) => {
                            let v = current(name)
                                .as_ref()
                                .and_then(json_path::text)
                                .unwrap_or_default();
                            out.push_str(&v);
                            rest = &after[name.len() + 1..];
                        }
                        None => {
                            out.push('{');
                            rest = after;
                        }
                    }
                }
                out.push_str(rest);
                *s = out;
            }
        }
        Json::Array(items) => items
            .iter_mut()
            .for_each(|i| fill_json(i, current, values, expected)),
        Json::Object(map) => {
            let spread = map.get("...").is_some_and(|v| v == "{values}");
            if spread {
                map.remove("...");
            }
            map.values_mut()
                .for_each(|v| fill_json(v, current, values, expected));
            if spread && let Json::Object(vals) = values {
                for (k, v) in vals {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
        _ => {}
    }
}

/// The first request of an entity's listing: a GET with `list_query`, or
/// a POST of `list_body` (true: its parameters go in the body).
fn base_listing(rest: &RestEntityConfig) -> (Request, bool) {
    let mut req = match &rest.list_body {
        Some(body) => {
            let mut r = Request::write(Method::POST, rest.list.clone(), Some(body.clone()));
            r.repeat = Repeat::Safe;
            r
        }
        None => Request::get(rest.list.clone()),
    };
    for (k, v) in &rest.list_query {
        req = req.param(k, v);
    }
    (req, rest.list_body.is_some())
}

/// Moves a request's query parameters into its JSON body, at their dotted
/// paths: numbers as numbers, a cursor as text.
fn params_to_body(mut req: Request, style: &crate::connectors::http::Pagination) -> Request {
    let query = std::mem::take(&mut req.query);
    if let Some(body) = req.body.as_mut() {
        for (k, v) in query {
            let is_cursor = matches!(
                style,
                crate::connectors::http::Pagination::Cursor { cursor_param, .. } if *cursor_param == k
            );
            let value = match v.parse::<u64>() {
                Ok(n) if !is_cursor => Json::from(n),
                _ => Json::from(v),
            };
            set_path(body, &k, value);
        }
    }
    req
}

/// One window of a capped search (see `SearchListing::cap`): the records
/// it has answered, the latest change time among them, and which records
/// had it.
#[derive(Default)]
struct Window {
    /// The window's `since` (the previous window's latest change time).
    start: Option<String>,
    /// Records answered in this window (skipped ones too).
    count: u64,
    /// The page cap is near: a new window is due.
    full: bool,
    /// The latest change time seen in this window.
    latest: Option<String>,
    /// The records (their ids) seen at `latest`.
    at_latest: std::collections::HashSet<String>,
    /// The records the previous window read at `start`: not read again.
    skip: std::collections::HashSet<String>,
}

impl Window {
    /// Notes `record`; false when the previous window already read it at
    /// this window's start time.
    fn admit(&mut self, rest: &RestEntityConfig, entity_id: &[String], record: &Json) -> bool {
        let key: Vec<String> = entity_id
            .iter()
            .map(|f| {
                rest.value(record, f)
                    .and_then(json_path::text)
                    .unwrap_or_default()
            })
            .collect();
        let key = key.join("\u{1f}");
        let at = rest.incremental.as_ref().and_then(|inc| {
            inc.updated_at
                .iter()
                .find_map(|f| rest.value(record, f).and_then(json_path::text))
        });
        if at.is_some() && at == self.start && self.skip.contains(&key) {
            return false;
        }
        if let Some(at) = at {
            match &self.latest {
                // Out of order (not sorted by change time): no boundary.
                Some(l) if at < *l => {}
                Some(l) if at == *l => {
                    self.at_latest.insert(key);
                }
                _ => {
                    self.latest = Some(at);
                    self.at_latest.clear();
                    self.at_latest.insert(key);
                }
            }
        }
        true
    }

    /// Starts the next window at the latest change time seen; `None` when
    /// the window made no progress (every record at its start time).
    fn next(&mut self) -> Option<String> {
        let latest = self.latest.clone()?;
        if self.start.as_deref() == Some(latest.as_str()) {
            return None;
        }
        self.skip = std::mem::take(&mut self.at_latest);
        self.start = Some(latest.clone());
        self.count = 0;
        self.full = false;
        Some(latest)
    }
}

/// Records per page of a pagination style (1 for a single request).
fn page_limit(p: &crate::connectors::http::Pagination) -> u64 {
    use crate::connectors::http::Pagination as P;
    match p {
        P::None => 1,
        P::Offset { limit, .. }
        | P::Cursor { limit, .. }
        | P::NextUrl { limit, .. }
        | P::Link { limit, .. } => u64::from(*limit),
        P::Page { size, .. } => u64::from(*size),
    }
}

/// The errors a 2xx answer lists at `errors_at` (GraphQL), as a failure.
fn body_errors(errors_at: Option<&str>, resp: &Response) -> Option<HttpError> {
    let at = errors_at?;
    let json = resp.json().ok()?;
    let errors = json_path::get(&json, at)?.as_array()?;
    let first = errors.first()?;
    let code = first
        .pointer("/extensions/code")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let kind = match code {
        "UNAUTHORIZED" | "UNAUTHENTICATED" => Kind::Auth,
        "FORBIDDEN" => Kind::Permission,
        "NOT_FOUND" | "ENTITY_NOT_FOUND" => Kind::NotFound,
        "INTERNAL_SERVER_ERROR" => Kind::Transient,
        _ => Kind::Validation,
    };
    let mut e = HttpError::new(
        kind,
        &resp.request,
        crate::connectors::http::error::body_message(&resp.body),
    );
    e.status = Some(resp.status);
    Some(e)
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
    #[test]
    fn the_kept_cursor_steps_back_by_the_pulls_duration_but_never_past_its_start() {
        let d = std::time::Duration::from_millis(400);
        assert_eq!(
            step_back("2026-01-01T00:00:10Z", d, None),
            "2026-01-01T00:00:08.600Z",
            "the latest time read, less the pull's duration and a second"
        );
        assert_eq!(
            step_back("2026-01-01T00:00:10+02:00", d, Some("2026-01-01T07:00:00Z")),
            "2026-01-01T07:00:00Z",
            "never before the cursor the pull started from (no drift when nothing changed)"
        );
        assert_eq!(
            step_back("2026-01-01T00:00:10Z", d, Some("2026-01-01T00:00:01Z")),
            "2026-01-01T00:00:08.600Z"
        );
        assert_eq!(
            step_back("v-1767225600", d, None),
            "v-1767225600",
            "not a time: kept"
        );
        assert_eq!(step_back("42", d, None), "42", "a version number: kept");
    }

    #[test]
    fn unix_times_and_times_without_a_zone_step_back_in_their_own_form() {
        let d = std::time::Duration::from_millis(1_400);
        assert_eq!(
            step_back("1767225600", d, None),
            "1767225598",
            "seconds: less the pull's 1.4 s and a second, whole seconds"
        );
        assert_eq!(
            step_back("1767225600000", d, None),
            "1767225597600",
            "milliseconds"
        );
        assert_eq!(
            step_back("1767225600", d, Some("1767225599")),
            "1767225599",
            "never before the cursor the pull started from"
        );
        assert_eq!(
            step_back("2026-01-01 10:00:00", d, None),
            "2026-01-01 09:59:57",
            "the same layout, no fraction added (57.6 s shown as 57)"
        );
        assert_eq!(
            step_back("2026-01-01T10:00:00.250", d, None),
            "2026-01-01T09:59:57.850"
        );
        assert_eq!(
            step_back("2026-01-01 10:00:00", d, Some("2026-01-01 09:59:59")),
            "2026-01-01 09:59:59"
        );
    }

    use super::*;

    #[test]
    fn a_capped_search_window_skips_what_the_last_window_read_at_its_boundary() {
        let rest = crate::connectors::presets::HubspotEntityConfig {
            object: "contacts".into(),
            properties: vec!["email".into()],
            read_only: vec![],
            incremental: None,
            search_cap: None,
            search_rate_limit: None,
        }
        .to_rest(&["email".into()]);
        let id = vec!["email".to_string()];
        let rec = |e: &str, at: &str| serde_json::json!({"id": "1", "properties": {"email": e}, "updatedAt": at});
        let mut w = Window {
            start: Some("T0".into()),
            ..Window::default()
        };
        for (e, at) in [("a", "T1"), ("b", "T2"), ("c", "T2")] {
            assert!(w.admit(&rest, &id, &rec(e, at)));
        }
        assert_eq!(w.next().as_deref(), Some("T2"));
        // The next window starts at T2 (greater or equal): b and c again.
        let admitted: Vec<bool> = [("b", "T2"), ("c", "T2"), ("d", "T2"), ("e", "T3")]
            .iter()
            .map(|(e, at)| w.admit(&rest, &id, &rec(e, at)))
            .collect();
        assert_eq!(admitted, [false, false, true, true]);
        // A window whose records all share its start time makes no progress.
        let mut stuck = Window {
            start: Some("T5".into()),
            ..Window::default()
        };
        assert!(stuck.admit(&rest, &id, &rec("x", "T5")));
        assert_eq!(stuck.next(), None);
    }

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
    fn expected_values_fill_a_filter_without_a_read() {
        // What a Directus update with `reread = false` sends: the filter
        // names the code and every value the change expects unchanged.
        let mut entry = serde_json::json!({"_eq": "{value}"});
        fill_value(&mut entry, &Json::Null);
        assert_eq!(entry, serde_json::json!({"_eq": null}));
        let mut body = serde_json::json!({
            "query": {"filter": {"_and": [{"code": {"_eq": "{code}"}}, "{expected}"]}},
            "data": "{values}"
        });
        let current = serde_json::json!({"code": "C7", "email": "old@x.org"});
        fill_json(
            &mut body,
            &|n| json_path::get(&current, n).cloned(),
            &serde_json::json!({"email": "new@x.org"}),
            &serde_json::json!({"email": {"_eq": "old@x.org"}}),
        );
        assert_eq!(
            body,
            serde_json::json!({
                "query": {"filter": {"_and": [{"code": {"_eq": "C7"}}, {"email": {"_eq": "old@x.org"}}]}},
                "data": {"email": "new@x.org"}
            })
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
        fill_json(
            &mut body,
            &|n| json_path::get(&current, n).cloned(),
            &serde_json::json!({"name": "Ann"}),
            &Json::Null,
        );
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

    #[test]
    fn text_placeholders_are_plain_field_names_and_other_braces_stay() {
        let mut body = serde_json::json!({
            "query": "mutation($i: In!) { record: update(input: $i) { __typename ... on Customer { id } } }",
            "note": "customer {code} ({ not a placeholder }) {missing}",
        });
        let current = |name: &str| (name == "code").then(|| serde_json::json!("C-7"));
        fill_json(
            &mut body,
            &current,
            &serde_json::json!({}),
            &serde_json::json!({}),
        );
        assert_eq!(
            body["query"],
            "mutation($i: In!) { record: update(input: $i) { __typename ... on Customer { id } } }"
        );
        assert_eq!(body["note"], "customer C-7 ({ not a placeholder }) ");
    }

    #[test]
    fn graphql_bodies_spread_values_and_take_paging_in_variables() {
        let mut body = serde_json::json!({"query": "q", "variables": {"i": {"id": "{id}", "...": "{values}"}}});
        let current = serde_json::json!({"id": "7"});
        fill_json(
            &mut body,
            &|n| json_path::get(&current, n).cloned(),
            &serde_json::json!({"firstName": "Ann", "phoneNumber": null}),
            &Json::Null,
        );
        assert_eq!(
            body,
            serde_json::json!({"query": "q", "variables": {"i": {"id": "7", "firstName": "Ann", "phoneNumber": null}}})
        );
        let req = Request::write(
            Method::POST,
            "/admin-api",
            Some(serde_json::json!({"variables": {"o": {"sort": {"id": "ASC"}}}})),
        )
        .param("variables.o.skip", "100")
        .param("variables.o.take", "100")
        .param("after", "200");
        let style = crate::connectors::http::Pagination::Cursor {
            next: "paging.next.after".into(),
            cursor_param: "after".into(),
            limit_param: None,
            limit: 100,
        };
        let req = params_to_body(req, &style);
        assert!(req.query.is_empty());
        assert_eq!(
            req.body.unwrap(),
            serde_json::json!({"variables": {"o": {"sort": {"id": "ASC"}, "skip": 100, "take": 100}}, "after": "200"}),
            "numbers as numbers, the cursor as text"
        );
    }

    #[test]
    fn graphql_errors_in_a_200_answer_are_failures_with_their_category() {
        let resp = |body: &str| Response {
            status: 200,
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            request: "POST http://h/admin-api".into(),
            url: reqwest::Url::parse("http://h/admin-api").unwrap(),
        };
        let forbidden = resp(
            r#"{"errors":[{"message":"You are not currently authorized to perform this action","extensions":{"code":"FORBIDDEN"}}],"data":null}"#,
        );
        let e = body_errors(Some("errors"), &forbidden).expect("a failure");
        assert_eq!(e.kind, Kind::Permission);
        assert!(
            e.message.contains("not currently authorized") && e.message.contains("[FORBIDDEN]"),
            "{e}"
        );
        assert!(
            body_errors(None, &forbidden).is_none(),
            "only when configured"
        );
        assert!(
            body_errors(
                Some("errors"),
                &resp(r#"{"data":{"customers":{"items":[]}}}"#)
            )
            .is_none()
        );
        assert!(body_errors(Some("errors"), &resp(r#"{"errors":[],"data":{}}"#)).is_none());
    }
}
