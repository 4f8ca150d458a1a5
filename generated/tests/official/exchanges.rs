//! Records every request a provider's client sends to a wiremock server,
//! with the answer it got, as JSON lines for `tests/official/validate.py`
//! (the format of `tests/official/README.md`), so what the glue sends and
//! what the tests answer are both checked against the provider's official
//! OpenAPI document.
//!
//! Recording is on when `OFFICIAL_EXCHANGES_DIR` names a directory: the
//! lines go to `<dir>/<provider>.jsonl` (appended: `tests/official/run.sh`
//! empties it first). Off, everything here only builds responses.
//!
//! How requests meet their answers without touching the shared suite:
//! [`watch`] mounts, at the highest priority, a mock whose matcher notes
//! every request the server receives and never matches (wiremock asks
//! matchers in priority order, so it sees every request first). Every
//! answer is built here, with the route it is mounted on ([`reply`]) or
//! for the exact request it answers ([`answered`], from dynamic
//! responders such as the suite's pager). A request is written once the
//! next one arrives (wiremock answers one request fully before matching
//! the next) or when the test's thread ends. A request no answer can be
//! found for is written with `recording_error`, which `validate.py`
//! reports as a failure.

#![allow(dead_code)]

use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The environment variable naming the directory of the recorded lines.
pub const DIR_VARIABLE: &str = "OFFICIAL_EXCHANGES_DIR";

/// An answer: what the server sends, kept to be written beside its request.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBody {
    Empty,
    Json(Value),
    /// A non-JSON body with its content type (HubSpot's HTML 404).
    Text(String, String),
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body.clone()),
        }
    }

    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Text(content_type.to_owned(), body.to_owned()),
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn template(&self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        template = match &self.body {
            ReplyBody::Empty => template,
            ReplyBody::Json(body) => template.set_body_json(body),
            ReplyBody::Text(content_type, body) => {
                template.set_body_raw(body.clone().into_bytes(), content_type)
            }
        };
        for (name, value) in &self.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        template
    }

    fn content_type(&self) -> Option<&str> {
        match &self.body {
            ReplyBody::Empty => None,
            ReplyBody::Json(_) => Some("application/json"),
            ReplyBody::Text(content_type, _) => Some(content_type),
        }
    }

    fn to_json(&self) -> (Value, Value) {
        let mut headers = Map::new();
        if let Some(content_type) = self.content_type() {
            headers.insert("Content-Type".into(), json!(content_type));
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), json!(value));
        }
        let body = match &self.body {
            ReplyBody::Empty => Value::Null,
            ReplyBody::Json(body) => body.clone(),
            ReplyBody::Text(_, body) => json!(body),
        };
        (Value::Object(headers), body)
    }
}

/// Where an answer is mounted: a method and an exact path, or every path
/// under a prefix (an answer the suite mounts on a path the entry does not
/// know, such as the rate-limited one).
#[derive(Clone, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    pub prefix: bool,
}

impl Route {
    pub fn exact(method: &'static str, path: impl Into<String>) -> Self {
        Route {
            method,
            path: path.into(),
            prefix: false,
        }
    }

    pub fn under(method: &'static str, prefix: impl Into<String>) -> Self {
        Route {
            method,
            path: prefix.into(),
            prefix: true,
        }
    }

    fn serves(&self, request: &Request) -> bool {
        let path = request.url.path();
        request.method.as_str() == self.method
            && if self.prefix {
                path.starts_with(&self.path)
            } else {
                path == self.path
            }
    }
}

struct Seen {
    request: Request,
    written: bool,
}

/// One mock server's exchanges.
pub struct Recorder {
    provider: String,
    base_url: String,
    file: std::path::PathBuf,
    seen: Mutex<Vec<Seen>>,
    routes: Mutex<Vec<(Route, Reply)>>,
    exact: Mutex<Vec<(Request, Reply)>>,
}

fn path_and_query(request: &Request) -> String {
    match request.url.query() {
        Some(query) => format!("{}?{query}", request.url.path()),
        None => request.url.path().to_owned(),
    }
}

/// The mock server's port, from the `Host` header the client sent.
fn port_of(request: &Request) -> Option<u16> {
    let host = request.headers.get("host")?.to_str().ok()?;
    host.rsplit_once(':')?.1.parse().ok()
}

fn same_request(a: &Request, b: &Request) -> bool {
    a.method == b.method && a.url == b.url && a.body == b.body
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    /// The answer `request` got: the one given for it exactly, else the
    /// latest mounted on an exact route, else on a prefix.
    fn answer_of(&self, request: &Request) -> Option<Reply> {
        if let Some((_, reply)) = lock(&self.exact)
            .iter()
            .rev()
            .find(|(seen, _)| same_request(seen, request))
        {
            return Some(reply.clone());
        }
        let routes = lock(&self.routes);
        routes
            .iter()
            .rev()
            .find(|(route, _)| !route.prefix && route.serves(request))
            .or_else(|| {
                routes
                    .iter()
                    .rev()
                    .find(|(route, _)| route.prefix && route.serves(request))
            })
            .map(|(_, reply)| reply.clone())
    }

    fn line(&self, request: &Request) -> Value {
        let mut headers = Map::new();
        for name in request.headers.keys() {
            let values: Vec<&str> = request
                .headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            headers.insert(name.as_str().to_owned(), json!(values.join(", ")));
        }
        let body = if request.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&request.body)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&request.body)))
        };
        let mut line = json!({
            "provider": self.provider,
            "method": request.method.as_str(),
            // wiremock's request URL names `localhost` without the port:
            // the URL sent was the base URL's.
            "url": format!("{}{}", self.base_url, path_and_query(request)),
            "base_url": self.base_url,
            "headers": headers,
            "body": body,
        });
        match self.answer_of(request) {
            Some(reply) => {
                let (response_headers, response_body) = reply.to_json();
                line["status"] = json!(reply.status);
                line["response_headers"] = response_headers;
                line["response_body"] = response_body;
            }
            None => {
                line["recording_error"] =
                    json!("the test answered this request with nothing the recorder knows");
            }
        }
        line
    }

    /// Writes every request seen and not written yet.
    fn flush(&self) {
        let mut lines = String::new();
        {
            let mut seen = lock(&self.seen);
            for entry in seen.iter_mut().filter(|entry| !entry.written) {
                entry.written = true;
                lines.push_str(&self.line(&entry.request).to_string());
                lines.push('\n');
            }
        }
        if lines.is_empty() {
            return;
        }
        static FILE: Mutex<()> = Mutex::new(());
        let _one_writer = lock(&FILE);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .and_then(|mut file| file.write_all(lines.as_bytes()));
        if let Err(error) = written {
            panic!("recording to {}: {error}", self.file.display());
        }
    }
}

/// The matcher that notes every request and matches none.
struct Spy(Arc<Recorder>);

impl Match for Spy {
    fn matches(&self, request: &Request) -> bool {
        // The requests before this one have been answered: write them.
        self.0.flush();
        lock(&self.0.seen).push(Seen {
            request: request.clone(),
            written: false,
        });
        false
    }
}

/// Writes what is left when the test's thread ends.
struct Current(Option<Arc<Recorder>>);

impl Drop for Current {
    fn drop(&mut self) {
        if let Some(recorder) = self.0.take() {
            recorder.flush();
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Current> = const { RefCell::new(Current(None)) };
}

/// Recorders by mock server port, for answers built off the test's thread.
fn by_port() -> &'static Mutex<HashMap<u16, Weak<Recorder>>> {
    static BY_PORT: OnceLock<Mutex<HashMap<u16, Weak<Recorder>>>> = OnceLock::new();
    BY_PORT.get_or_init(Mutex::default)
}

fn directory() -> Option<std::path::PathBuf> {
    std::env::var_os(DIR_VARIABLE)
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
}

/// Starts recording what `server` receives for `provider` (when recording
/// is on); answers built on this thread afterwards are its.
pub async fn watch(server: &MockServer, provider: &str) {
    let Some(dir) = directory() else {
        return;
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        panic!("{}: {error}", dir.display());
    }
    let recorder = Arc::new(Recorder {
        provider: provider.to_owned(),
        base_url: server.uri(),
        file: dir.join(format!("{provider}.jsonl")),
        seen: Mutex::default(),
        routes: Mutex::default(),
        exact: Mutex::default(),
    });
    lock(by_port()).insert(server.address().port(), Arc::downgrade(&recorder));
    Mock::given(Spy(recorder.clone()))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .named("official-exchange recorder")
        .mount(server)
        .await;
    CURRENT.with(|current| {
        let previous = std::mem::replace(&mut *current.borrow_mut(), Current(Some(recorder)));
        drop(previous);
    });
}

/// The answer to mount on `route`, noted for the requests it will answer.
pub fn reply(route: Route, reply: Reply) -> ResponseTemplate {
    let template = reply.template();
    CURRENT.with(|current| {
        if let Some(recorder) = &current.borrow().0 {
            lock(&recorder.routes).push((route, reply));
        }
    });
    template
}

/// The answer to this very request (from a dynamic responder).
pub fn answered(request: &Request, reply: Reply) -> ResponseTemplate {
    let template = reply.template();
    let recorder =
        port_of(request).and_then(|port| lock(by_port()).get(&port).and_then(Weak::upgrade));
    if let Some(recorder) = recorder {
        lock(&recorder.exact).push((request.clone(), reply));
    }
    template
}
