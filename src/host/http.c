/*
 * http.c - marie:node/http-client: the only way out of the sandbox to the
 * network. A request is checked before any backend runs: allow_http, a
 * parsed http(s) URL whose scheme, host and port match http_allowed_hosts,
 * the per-execution request cap, and header names and values free of CR/LF.
 * The backend (libcurl in production) gets the remaining execution time.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"
#include "host/val.h"
#include "policy/permissions_int.h"

#define MW_HTTP_MAX_HEADERS 64
#define MW_HTTP_MAX_BODY (8u << 20)

/* Parses url and checks it against the permissions. On refusal writes the
 * reason into why. */
static bool url_allowed(mw_exec_t *ex, const char *url, char *why,
                        size_t why_size) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *ascii = NULL;
  bool ok = false;
  if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
          CURLUE_OK) {
    snprintf(why, why_size, "http-client: invalid URL");
    goto out;
  }
  for (char *c = scheme; *c; c++) *c = (char)(*c | 0x20);
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    snprintf(why, why_size, "http-client: scheme '%s' not allowed", scheme);
    goto out;
  }
  /* Punycode, so "bücher.example" and "xn--bcher-kva.example" are one
   * host to the allow-list (entries are converted the same way). */
  ascii = mw__host_to_ascii(host);
  if (!ascii) {
    snprintf(why, why_size, "http-client: invalid international host name");
    goto out;
  }
  for (char *c = ascii; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c | 0x20);
  size_t hl = strlen(ascii);
  if (hl > 1 && ascii[hl - 1] == '.') ascii[hl - 1] = '\0';
  long p = strtol(port, NULL, 10);
  if (!mw__permissions_url_allowed(ex->perms, scheme, ascii, (uint16_t)p)) {
    snprintf(why, why_size,
             "http-client: request to '%s' denied: needs allow_http and the "
             "host in http_allowed_hosts",
             ascii);
    mw__host_denied(ex, "%s", why);
    goto out;
  }
  ok = true;
out:
  free(ascii);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return ok;
}

/* The redirect check handed to backends: same rules as the first hop. */
static bool hop_allowed(void *ctx, const char *url) {
  char why[512];
  return url_allowed(ctx, url, why, sizeof why);
}

static bool has_crlf(const char *s, size_t n) {
  return memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, '\0', n);
}

static void free_headers(mw_http_header_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(h[i].name);
    free(h[i].value);
  }
  free(h);
}

/* Reads list<tuple<string,string>>; false with why on bad headers. */
static bool read_headers(const wasmtime_component_val_t *v,
                         mw_http_header_t **out, size_t *n, char *why,
                         size_t why_size) {
  *out = NULL;
  *n = 0;
  if (!v || v->kind != WASMTIME_COMPONENT_LIST) return false;
  size_t count = v->of.list.size;
  if (count > MW_HTTP_MAX_HEADERS) {
    snprintf(why, why_size, "http-client: more than %d headers",
             MW_HTTP_MAX_HEADERS);
    return false;
  }
  mw_http_header_t *h = calloc(count ? count : 1, sizeof *h);
  if (!h) return false;
  for (size_t i = 0; i < count; i++) {
    const wasmtime_component_val_t *t = &v->of.list.data[i];
    const char *name, *value;
    size_t nl, vl;
    if (t->kind != WASMTIME_COMPONENT_TUPLE || t->of.tuple.size != 2 ||
        !mw__get_string(&t->of.tuple.data[0], &name, &nl) ||
        !mw__get_string(&t->of.tuple.data[1], &value, &vl)) {
      free_headers(h, i);
      return false;
    }
    /* CR/LF in a header would let the guest inject headers or requests. */
    if (nl == 0 || has_crlf(name, nl) || has_crlf(value, vl)) {
      snprintf(why, why_size, "http-client: invalid header (empty name, CR, "
                              "LF or NUL)");
      free_headers(h, i);
      return false;
    }
    h[i].name = strndup(name, nl);
    h[i].value = strndup(value, vl);
    if (!h[i].name || !h[i].value) {
      free_headers(h, i + 1);
      return false;
    }
  }
  *out = h;
  *n = count;
  return true;
}

static void set_response(wasmtime_component_val_t *res,
                         const mw_http_response_t *r) {
  wasmtime_component_val_t rec;
  wasmtime_component_valrecord_entry_t *f = mw__val_record(&rec, 3);
  mw__val_u16(mw__val_record_field(&f[0], "status"), r->status);
  wasmtime_component_val_t *hl =
      mw__val_list(mw__val_record_field(&f[1], "headers"), r->header_count);
  for (size_t i = 0; i < r->header_count; i++) {
    hl[i].kind = WASMTIME_COMPONENT_TUPLE;
    wasmtime_component_valtuple_new_uninit(&hl[i].of.tuple, 2);
    const char *n = r->headers[i].name ? r->headers[i].name : "";
    const char *v = r->headers[i].value ? r->headers[i].value : "";
    mw__val_string(&hl[i].of.tuple.data[0], n, strlen(n));
    mw__val_string(&hl[i].of.tuple.data[1], v, strlen(v));
  }
  mw__val_bytes(mw__val_record_field(&f[2], "body"), r->body, r->body_len);
  mw__val_result(res, true, &rec);
}

static wasmtime_error_t *http_fetch(void *env, wasmtime_context_t *ctx,
                                    const wasmtime_component_func_type_t *ty,
                                    wasmtime_component_val_t *args,
                                    size_t nargs,
                                    wasmtime_component_val_t *results,
                                    size_t nresults) {
  (void)env, (void)ty;
  mw_exec_t *ex = mw__host_call(ctx);
  if (nargs != 1 || nresults != 1) return mw__bad_args("http-client.fetch");
  const wasmtime_component_val_t *m = mw__get_field(&args[0], 0, "method");
  const wasmtime_component_val_t *u = mw__get_field(&args[0], 1, "url");
  const wasmtime_component_val_t *hv = mw__get_field(&args[0], 2, "headers");
  const wasmtime_component_val_t *bv = mw__get_field(&args[0], 3, "body");
  const char *method, *url;
  size_t ml, ul;
  if (!mw__get_string(m, &method, &ml) || !mw__get_string(u, &url, &ul) ||
      !bv || bv->kind != WASMTIME_COMPONENT_OPTION)
    return mw__bad_args("http-client.fetch");

  char why[512] = "";
  char *cmethod = NULL, *curl_text = NULL;
  mw_http_header_t *headers = NULL;
  size_t nh = 0;
  uint8_t *body = NULL;
  size_t body_len = 0;
  mw_http_response_t resp;
  memset(&resp, 0, sizeof resp);
  const mw_host_t *h = ex->host;

  if (!ex->perms->allow_http) {
    snprintf(why, sizeof why, "http-client: denied: allow_http is false");
    mw__host_denied(ex, "%s", why);
    goto fail;
  }
  if (ex->http_requests >=
      mw_permissions_limit(ex->perms, MW_LIMIT_MAX_HTTP_REQUESTS)) {
    snprintf(why, sizeof why, "http-client: max_http_requests reached");
    mw__host_denied(ex, "%s", why);
    goto fail;
  }
  cmethod = strndup(method, ml);
  curl_text = strndup(url, ul);
  if (!cmethod || !curl_text) {
    snprintf(why, sizeof why, "http-client: out of memory");
    goto fail;
  }
  if (ml == 0 || ml > 16 || has_crlf(method, ml) || strchr(cmethod, ' ')) {
    snprintf(why, sizeof why, "http-client: invalid method");
    goto fail;
  }
  /* A NUL would hide the rest of the URL from the checks below. */
  if (memchr(url, '\0', ul)) {
    snprintf(why, sizeof why, "http-client: invalid URL (NUL byte)");
    goto fail;
  }
  if (!url_allowed(ex, curl_text, why, sizeof why)) goto fail;
  if (!read_headers(hv, &headers, &nh, why, sizeof why)) {
    if (!why[0]) snprintf(why, sizeof why, "http-client: invalid headers");
    goto fail;
  }
  if (bv->of.option) {
    if (bv->of.option->kind == WASMTIME_COMPONENT_LIST &&
        bv->of.option->of.list.size > MW_HTTP_MAX_BODY) {
      snprintf(why, sizeof why, "http-client: request body over 8 MiB");
      goto fail;
    }
    if (!mw__get_bytes(bv->of.option, &body, &body_len)) {
      snprintf(why, sizeof why, "http-client: invalid body");
      goto fail;
    }
  }
  if (!h || !h->http.fetch) {
    snprintf(why, sizeof why, "http-client: no HTTP backend configured");
    goto fail;
  }
  ex->http_requests++;
  uint64_t now = mw__now_ns();
  mw_http_request_t req = {
      .method = cmethod,
      .url = curl_text,
      .headers = headers,
      .header_count = nh,
      .body = body,
      .body_len = body_len,
      .timeout_ms = ex->deadline_ns > now ? (ex->deadline_ns - now) / 1000000
                                          : 0,
      .max_response_bytes = MW_HTTP_MAX_BODY,
      .url_allowed = hop_allowed,
      .url_allowed_ctx = ex,
  };
  mw_error_t *err = h->http.fetch(h->http_ctx, &req, &resp);
  if (err) {
    snprintf(why, sizeof why, "http-client: %s", mw_error_message(err));
    mw_error_free(err);
    goto fail;
  }
  set_response(&results[0], &resp);
  goto out;
fail:
  mw__val_result_err(&results[0], why);
out:
  free_headers(resp.headers, resp.header_count);
  free(resp.body);
  free_headers(headers, nh);
  free(body);
  free(cmethod);
  free(curl_text);
  return NULL;
}

mw_error_t *mw__define_http(wasmtime_component_linker_t *linker) {
  static const mw_host_func_t funcs[] = {{"fetch", http_fetch}};
  return mw__define_interface(linker, "marie:node/http-client@1.0.0", funcs,
                              1);
}
