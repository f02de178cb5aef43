"""HTTP requests through the host: http.fetch(url, ...) -> Response.

    r = http.fetch("https://api.example.com/v1/items", headers={"Accept": "application/json"})
    if r.ok:
        rows = r.json()

The host allows only hosts in the permission's http_allowed_hosts and
refuses private addresses; a denied or failed request raises HttpError.
A 4xx/5xx response is returned normally (check r.status or r.ok).
"""
import json as _json
from collections.abc import Mapping

from componentize_py_types import Err
from wit_world.imports import http_client as _http

from marie.errors import HttpError, require_host


class Headers(Mapping):
    """Response headers; lookups ignore case. A repeated header reads as
    its values joined with ", "; .pairs keeps them apart, in order."""

    def __init__(self, pairs):
        self.pairs = list(pairs)
        self._map = {}
        for name, value in self.pairs:
            key = name.lower()
            self._map[key] = f"{self._map[key]}, {value}" if key in self._map else value

    def __getitem__(self, name):
        return self._map[name.lower()]

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)

    def __repr__(self):
        return f"Headers({self._map!r})"


class Response:
    """status (int), headers (Headers), body (bytes)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = Headers(headers)
        self.body = body

    @property
    def ok(self):
        return 200 <= self.status < 300

    def text(self, encoding="utf-8"):
        return self.body.decode(encoding, errors="replace")

    def json(self):
        return _json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status}, {len(self.body)} bytes>"


def _header_pairs(headers):
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = []
    for pair in items:
        name, value = pair
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be str")
        pairs.append((name, value))
    return pairs


def fetch(url, method="GET", headers=None, body=None, json=None):
    """Sends one request. headers: dict or list of (name, value); body: str
    (sent as UTF-8) or bytes; json: a value sent as JSON (sets
    Content-Type unless given). Raises HttpError when the host refuses or
    the request fails."""
    require_host("marie.http.fetch")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, not {type(method).__name__}")
    pairs = _header_pairs(headers)
    if json is not None:
        if body is not None:
            raise ValueError("give body or json, not both")
        body = _json.dumps(json, allow_nan=False)
        if not any(n.lower() == "content-type" for n, _ in pairs):
            pairs.append(("content-type", "application/json"))
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    elif body is not None and not isinstance(body, bytes):
        raise TypeError(f"body must be str or bytes, not {type(body).__name__}")
    req = _http.HttpRequest(method=method.upper(), url=url, headers=pairs, body=body)
    try:
        resp = _http.fetch(req)
    except Err as e:
        raise HttpError(e.value) from None
    return Response(resp.status, resp.headers, resp.body)
