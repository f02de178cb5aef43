/*
 * http_curl.h - internal hooks of the libcurl HTTP backend (http_curl.c).
 */
#ifndef MW_HOST_HTTP_CURL_H
#define MW_HOST_HTTP_CURL_H

#include "marie_wasm/host.h"
#include "policy/address.h"

/* Test hook, defined in host/http_curl.c: replaces the address rule of the
 * libcurl backend installed on host (which must be one from
 * mw_host_use_curl_http) with fn; NULL restores mw__address_refusal. Tests
 * use it to treat their loopback server as "public" so that redirects and
 * re-checks can be exercised without touching any other network. Not for
 * production use; not thread-safe against running executions. */
void mw__curl_http_set_address_rule(mw_host_t *host, mw_address_rule_fn fn);

#endif
