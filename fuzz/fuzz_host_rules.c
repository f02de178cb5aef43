/*
 * fuzz_host_rules.c - the http allow-list matcher. Input: an allow-list
 * entry, a newline, a URL. Invariant: when a URL is allowed, its host is
 * the rule's host or (for "*.suffix") a strict subdomain of it, compared
 * on curl's parsed URL, so userinfo, ports and paths cannot smuggle another
 * host past the list.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "marie_wasm.h"
#include "policy/permissions_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *nl = memchr(data, '\n', size);
  if (!nl || memchr(data, '\0', size)) return 0;
  char *entry = strndup((const char *)data, (size_t)(nl - (const char *)data));
  char *url = strndup(nl + 1, size - (size_t)(nl + 1 - (const char *)data));
  mw_permissions_t *p = mw_permissions_new();
  mw_permissions_allow_http(p, true);
  mw_error_t *err = mw_permissions_add_http_host(p, entry);
  CURLU *u = curl_url();
  char *host = NULL, *scheme = NULL, *port = NULL;
  if (!err && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    char *ascii = mw__host_to_ascii(host); /* as http.c does */
    for (char *c = ascii; c && *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c | 0x20);
    if (ascii && mw__permissions_url_allowed(p, scheme, ascii, (uint16_t)atoi(port))) {
      const mw_host_rule_t *r = &p->hosts[0];
      size_t hl = strlen(ascii), rl = strlen(r->host);
      if (r->wildcard) {
        if (!(hl > rl + 1 && ascii[hl - rl - 1] == '.' &&
              strcmp(ascii + hl - rl, r->host) == 0))
          abort();
      } else if (strcmp(ascii, r->host) != 0) {
        abort();
      }
    }
    free(ascii);
  }
  curl_free(host);
  curl_free(scheme);
  curl_free(port);
  curl_url_cleanup(u);
  mw_error_free(err);
  mw_permissions_free(p);
  free(entry);
  free(url);
  return 0;
}
