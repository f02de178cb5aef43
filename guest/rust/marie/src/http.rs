//! HTTP requests through the host (`allow_http`, `http_allowed_hosts`).
//!
//! ```ignore
//! use marie::http::{self, Request};
//!
//! let res = http::fetch("https://api.example.com/v1/rows")?;          // GET
//! let res = Request::post("https://api.example.com/v1/rows")
//!     .header("authorization", format!("Bearer {token}"))
//!     .json(&json!({"id": 7}))                                         // body + content-type
//!     .send()?;
//! if res.is_success() {
//!     let rows: Value = res.json()?;
//! }
//! ```
//!
//! A 4xx or 5xx answer is a [`Response`]; [`HttpError`] means there is no
//! response: the host refused the request (permissions, address rules) or
//! it failed.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::bindings::marie::node::http_client as wit;

/// A request: `Request::get(url)`, `Request::post(url).json(&value)`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, ... (sent upper-case).
    pub method: String,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    // A body that could not be serialised: fetch() reports it.
    body_error: Option<String>,
}

impl Request {
    /// A request with this method and URL, no headers and no body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            body_error: None,
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Request {
        Request::new("POST", url)
    }

    /// A PUT request.
    pub fn put(url: impl Into<String>) -> Request {
        Request::new("PUT", url)
    }

    /// A PATCH request.
    pub fn patch(url: impl Into<String>) -> Request {
        Request::new("PATCH", url)
    }

    /// A DELETE request.
    pub fn delete(url: impl Into<String>) -> Request {
        Request::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (a `String` or `&str` is sent as UTF-8).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sets the body to `value` as JSON, and `content-type:
    /// application/json` unless a content-type header is there already.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Request {
        match serde_json::to_vec(value) {
            Ok(bytes) => {
                self.body = Some(bytes);
                if !self
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                {
                    self.headers
                        .push(("content-type".into(), "application/json".into()));
                }
            }
            Err(e) => self.body_error = Some(format!("the JSON body cannot be serialised: {e}")),
        }
        self
    }

    /// Sends the request: the same as `http::fetch(request)`.
    pub fn send(self) -> Result<Response, HttpError> {
        fetch(self)
    }
}

impl From<&str> for Request {
    fn from(url: &str) -> Request {
        Request::get(url)
    }
}

impl From<String> for Request {
    fn from(url: String) -> Request {
        Request::get(url)
    }
}

impl From<&String> for Request {
    fn from(url: &String) -> Request {
        Request::get(url.as_str())
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names and values as received, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 is replaced by U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, into a `Value` or a type of yours.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// No response: the host refused the request or it failed. The message
/// says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    message: String,
}

impl HttpError {
    /// Why the request failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpError: {}", self.message)
    }
}

impl std::error::Error for HttpError {}

/// So that `?` works in an `execute` that returns `Result<_, String>`.
impl From<HttpError> for String {
    fn from(e: HttpError) -> String {
        e.to_string()
    }
}

/// Sends a request through the host: a URL (`&str`, `String`: GET) or a
/// [`Request`].
pub fn fetch(request: impl Into<Request>) -> Result<Response, HttpError> {
    let request = request.into();
    if let Some(message) = request.body_error {
        return Err(HttpError { message });
    }
    let raw = wit::HttpRequest {
        method: request.method.to_ascii_uppercase(),
        url: request.url,
        headers: request.headers,
        body: request.body,
    };
    match wit::fetch(&raw) {
        Ok(res) => Ok(Response {
            status: res.status,
            headers: res.headers,
            body: res.body,
        }),
        Err(message) => Err(HttpError { message }),
    }
}
