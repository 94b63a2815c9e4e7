//! Walking a paged listing: offset/limit, page number, a cursor or a next
//! URL in the body, or the `Link` header. Bounded: a cursor, URL or page
//! that repeats, or more pages than `max_pages`, stops with a protocol
//! error instead of looping.

use std::collections::HashSet;

use serde_json::Value;

use super::client::{HttpClient, Request, Response};
use super::config::Pagination;
use super::error::{HttpError, Kind};
use super::json_path;

/// Where the next page is, worked out from the page just read (pure: no I/O).
#[derive(Debug)]
pub struct PageState {
    style: Pagination,
    max_pages: u64,
    pages: u64,
    /// Offset, or page number, of the next request.
    position: u64,
    /// The next cursor or URL, when the style uses one.
    next: Option<String>,
    seen: HashSet<String>,
    last_page: Option<u64>,
}

/// What to do after a page.
#[derive(Debug)]
pub enum Step {
    /// Ask for this next.
    Next(Request),
    /// The listing is complete.
    Done,
}

impl PageState {
    /// Starts a walk in `style`, allowing at most `max_pages` pages.
    pub fn new(style: &Pagination, max_pages: u64) -> PageState {
        let position = match style {
            Pagination::Page { first, .. } => *first,
            _ => 0,
        };
        PageState {
            style: style.clone(),
            max_pages: max_pages.max(1),
            pages: 0,
            position,
            next: None,
            seen: HashSet::new(),
            last_page: None,
        }
    }

    /// Pages read so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The request for the next page, built on `base` (the listing's
    /// first request).
    pub fn request(&self, base: &Request) -> Request {
        let mut req = base.clone();
        match &self.style {
            Pagination::None => {}
            Pagination::Offset {
                offset_param,
                limit_param,
                limit,
            } => {
                req = req
                    .param(offset_param, self.position.to_string())
                    .param(limit_param, limit.to_string());
            }
            Pagination::Page {
                page_param,
                size_param,
                size,
                ..
            } => {
                req = req
                    .param(page_param, self.position.to_string())
                    .param(size_param, size.to_string());
            }
            Pagination::Cursor {
                cursor_param,
                limit_param,
                limit,
                ..
            } => {
                if let Some(l) = limit_param {
                    req = req.param(l, limit.to_string());
                }
                if let Some(c) = &self.next {
                    req = req.param(cursor_param, c);
                }
            }
            Pagination::NextUrl {
                limit_param, limit, ..
            }
            | Pagination::Link {
                limit_param, limit, ..
            } => match &self.next {
                // The next URL carries every parameter itself.
                Some(url) => {
                    req.path = url.clone();
                    req.query.clear();
                }
                None => {
                    if let Some(l) = limit_param {
                        req = req.param(l, limit.to_string());
                    }
                }
            },
        }
        req
    }

    /// Takes in a page (`records` of it, the answer's JSON and headers) and
    /// says what comes next.
    pub fn after(
        &mut self,
        base: &Request,
        records: usize,
        json: &Value,
        resp: &Response,
    ) -> Result<Step, HttpError> {
        self.pages += 1;
        let protocol = |m: String| HttpError::new(Kind::Protocol, &resp.request, m);
        let next_value = |path: &str| -> Option<String> {
            json_path::get(json, path)
                .and_then(json_path::text)
                .filter(|s| !s.is_empty())
        };
        let next = match &self.style {
            Pagination::None => return Ok(Step::Done),
            Pagination::Offset { .. } | Pagination::Page { .. } => {
                if records == 0 {
                    return Ok(Step::Done);
                }
                // A system that ignores the paging parameters serves the same
                // page forever: compare each page with the one before.
                let digest = xxhash_rust::xxh3::xxh3_64(&resp.body);
                if self.last_page == Some(digest) {
                    return Err(protocol(format!(
                        "page {} is the same as the page before: the system seems to ignore \
                         the paging parameters; stopped instead of looping",
                        self.pages
                    )));
                }
                self.last_page = Some(digest);
                self.position += match &self.style {
                    Pagination::Offset { .. } => records as u64,
                    _ => 1,
                };
                None
            }
            Pagination::Cursor { next, .. } => match next_value(next) {
                Some(c) => Some(c),
                None => return Ok(Step::Done),
            },
            Pagination::NextUrl { next, .. } => match next_value(next) {
                Some(u) => Some(u),
                None => return Ok(Step::Done),
            },
            Pagination::Link { .. } => match resp.header("link").and_then(link_next) {
                Some(u) => Some(u),
                None => return Ok(Step::Done),
            },
        };
        if let Some(mut n) = next {
            // A relative next link is relative to the page it came from.
            if !matches!(self.style, Pagination::Cursor { .. })
                && !n.starts_with("http://")
                && !n.starts_with("https://")
            {
                n = resp
                    .url
                    .join(&n)
                    .map_err(|e| protocol(format!("the next-page link {n:?} is not a URL: {e}")))?
                    .to_string();
            }
            if !self.seen.insert(n.clone()) {
                return Err(protocol(format!(
                    "the system gave the same next-page {} twice ({}): stopped instead of looping",
                    match &self.style {
                        Pagination::Cursor { .. } => "cursor",
                        _ => "link",
                    },
                    if n.len() > 80 { &n[..80] } else { &n }
                )));
            }
            self.next = Some(n);
        }
        if self.pages >= self.max_pages {
            return Err(protocol(format!(
                "more than {} pages (http.max_pages): stopped; raise the limit if the listing \
                 really is that long",
                self.max_pages
            )));
        }
        Ok(Step::Next(self.request(base)))
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn link_next(header: &str) -> Option<String> {
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let url = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=next" || p == "rel=\"next\"" || p.starts_with("rel=\"next ")
        });
        if is_next && url.starts_with('<') && url.ends_with('>') {
            return Some(url[1..url.len() - 1].to_string());
        }
    }
    None
}

/// Reads every page of a listing: `on_page` gets each page's records (the
/// array at `records_path`) and returns `false` to stop early. True when
/// the listing was read to its end.
pub fn read_all(
    client: &mut HttpClient,
    base: &Request,
    style: &Pagination,
    records_path: &str,
    on_page: &mut dyn FnMut(Vec<Value>) -> crate::error::Result<bool>,
) -> crate::error::Result<bool> {
    let mut state = PageState::new(style, client.options().max_pages);
    let mut req = state.request(base);
    loop {
        let resp = client.send(&req).map_err(|e| client.error(e))?;
        let json = resp.json().map_err(|e| client.error(e))?;
        let records = records_at(&json, records_path, &resp).map_err(|e| client.error(e))?;
        let n = records.len();
        let go_on = on_page(records)?;
        if !go_on {
            return Ok(false);
        }
        match state
            .after(base, n, &json, &resp)
            .map_err(|e| client.error(e))?
        {
            Step::Next(r) => req = r,
            Step::Done => return Ok(true),
        }
    }
}

/// The records array at `path` of an answer.
pub fn records_at(json: &Value, path: &str, resp: &Response) -> Result<Vec<Value>, HttpError> {
    match json_path::get(json, path) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(Value::Null) => Ok(vec![]),
        Some(other) => Err(HttpError::new(
            Kind::Protocol,
            &resp.request,
            format!(
                "expected a list of records at {:?}, found {}",
                path,
                kind_of(other)
            ),
        )),
        None => Err(HttpError::new(
            Kind::Protocol,
            &resp.request,
            format!("the answer has nothing at {path:?} (the entity's records path)"),
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &str, link: Option<&str>) -> Response {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(l) = link {
            headers.insert("link", l.parse().unwrap());
        }
        Response {
            status: 200,
            headers,
            body: body.as_bytes().to_vec(),
            request: "GET http://h/items".into(),
            url: reqwest::Url::parse("http://h/items").unwrap(),
        }
    }

    fn walk(style: Pagination, pages: &[(&str, Option<&str>)]) -> Result<Vec<Request>, HttpError> {
        let base = Request::get("/items");
        let mut state = PageState::new(&style, 5);
        let mut sent = vec![state.request(&base)];
        for (body, link) in pages {
            let json: Value = serde_json::from_str(body).unwrap();
            let n = json["data"].as_array().map(|a| a.len()).unwrap_or(0);
            match state.after(&base, n, &json, &resp(body, *link))? {
                Step::Next(r) => sent.push(r),
                Step::Done => break,
            }
        }
        Ok(sent)
    }

    fn q(r: &Request, name: &str) -> Option<String> {
        r.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn offset_advances_by_records_and_stops_on_empty_page() {
        let style = Pagination::Offset {
            offset_param: "offset".into(),
            limit_param: "limit".into(),
            limit: 2,
        };
        let sent = walk(
            style,
            &[
                (r#"{"data":[1,2]}"#, None),
                (r#"{"data":[3]}"#, None),
                (r#"{"data":[]}"#, None),
            ],
        )
        .unwrap();
        let offsets: Vec<_> = sent.iter().map(|r| q(r, "offset").unwrap()).collect();
        assert_eq!(offsets, ["0", "2", "3"]);
        assert_eq!(q(&sent[0], "limit").as_deref(), Some("2"));
    }

    #[test]
    fn a_page_served_twice_is_a_protocol_error() {
        let style = Pagination::Page {
            page_param: "page".into(),
            size_param: "per_page".into(),
            size: 2,
            first: 1,
        };
        let err = walk(
            style,
            &[(r#"{"data":[1,2]}"#, None), (r#"{"data":[1,2]}"#, None)],
        )
        .unwrap_err();
        assert_eq!(err.kind, Kind::Protocol);
        assert!(err.message.contains("same as the page before"), "{err}");
    }

    #[test]
    fn a_repeating_cursor_stops_with_a_clear_error() {
        let style = Pagination::Cursor {
            next: "paging.next.after".into(),
            cursor_param: "after".into(),
            limit_param: Some("limit".into()),
            limit: 2,
        };
        let page = r#"{"data":[1,2],"paging":{"next":{"after":"c1"}}}"#;
        let err = walk(style.clone(), &[(page, None), (page, None)]).unwrap_err();
        assert_eq!(err.kind, Kind::Protocol);
        assert!(err.message.contains("same next-page cursor twice"), "{err}");
        let sent = walk(style, &[(page, None), (r#"{"data":[3]}"#, None)]).unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(q(&sent[1], "after").as_deref(), Some("c1"));
    }

    #[test]
    fn too_many_pages_stop_the_walk() {
        let style = Pagination::NextUrl {
            next: "next".into(),
            limit_param: None,
            limit: 100,
        };
        let bodies: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"data":[{i}],"next":"http://h/items?p={i}"}}"#))
            .collect();
        let pages: Vec<(&str, Option<&str>)> = bodies.iter().map(|b| (b.as_str(), None)).collect();
        let err = walk(style, &pages).unwrap_err();
        assert!(err.message.contains("more than 5 pages"), "{err}");
    }

    #[test]
    fn link_header_next_is_followed() {
        assert_eq!(
            link_next(r#"<http://h/a?page=1>; rel="prev", <http://h/a?page=3>; rel="next""#),
            Some("http://h/a?page=3".into())
        );
        assert_eq!(link_next(r#"<http://h/a?page=1>; rel="prev""#), None);
        let sent = walk(
            Pagination::Link {
                limit_param: Some("per_page".into()),
                limit: 2,
            },
            &[
                (
                    r#"{"data":[1]}"#,
                    Some(r#"<http://h/items?page=2>; rel="next""#),
                ),
                (r#"{"data":[2]}"#, None),
            ],
        )
        .unwrap();
        assert_eq!(sent[1].path, "http://h/items?page=2");
        assert!(sent[1].query.is_empty(), "the link carries its own query");
        let sent = walk(
            Pagination::NextUrl {
                next: "links.next".into(),
                limit_param: None,
                limit: 2,
            },
            &[
                (r#"{"data":[1],"links":{"next":"/items?page=2"}}"#, None),
                (r#"{"data":[2]}"#, None),
            ],
        )
        .unwrap();
        assert_eq!(
            sent[1].path, "http://h/items?page=2",
            "relative links resolve against the page"
        );
    }
}
