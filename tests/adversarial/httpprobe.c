/*
 * httpprobe — one HTTP request per input item, built from raw fields so
 * that a test can put any bytes (CR, LF, NUL, odd URLs) into them. An item's
 * json text is
 *
 *   METHOD <US> URL [<US> HEADER-NAME <US> HEADER-VALUE]...
 *
 * with <US> the unit separator 0x1f; the response has one item per request:
 * {"ok":true,"status":N} or {"ok":false,"error":"…"} (the body is left
 * out: only whether and how the host refused matters). Proves that denied
 * hosts, non-public addresses, redirects into them and injection attempts
 * come back as the host's err, never as a request made.
 */
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "node.h"

#define SEP 0x1f
#define MAX_FIELDS 34 /* method, url and 16 headers */

/* Splits p[0..n) at SEP into at most MAX_FIELDS fields. */
static size_t split(uint8_t *p, size_t n, node_string_t *fields)
{
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= n && count < MAX_FIELDS; i++) {
        if (i == n || p[i] == SEP) {
            fields[count].ptr = p + start;
            fields[count].len = i - start;
            count++;
            start = i + 1;
        }
    }
    return count;
}

static void probe(const node_item_t *in, tc_buf_t *b)
{
    node_string_t f[MAX_FIELDS];
    node_tuple2_string_string_t headers[MAX_FIELDS / 2];
    size_t n = split(in->json.ptr, in->json.len, f);
    size_t nh = n > 2 ? (n - 2) / 2 : 0;

    for (size_t i = 0; i < nh; i++) {
        headers[i].f0 = f[2 + 2 * i];
        headers[i].f1 = f[3 + 2 * i];
    }
    marie_node_http_client_http_request_t req = {
        .method = f[0],
        .url = n > 1 ? f[1] : (node_string_t){NULL, 0},
        .headers = {headers, nh},
        .body = {.is_some = false},
    };
    marie_node_http_client_http_response_t resp;
    node_string_t err;
    if (marie_node_http_client_fetch(&req, &resp, &err)) {
        tc_buf_puts(b, "{\"ok\":true,\"status\":");
        tc_buf_u64(b, resp.status);
        tc_buf_puts(b, "}");
        marie_node_http_client_http_response_free(&resp);
    } else {
        tc_buf_puts(b, "{\"ok\":false,\"error\":");
        tc_buf_json_str(b, err.ptr, err.len);
        tc_buf_puts(b, "}");
        node_string_free(&err);
    }
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_item_t *items = input->len ? tc_xmalloc(input->len * sizeof *items) : NULL;

    for (size_t i = 0; i < input->len; i++) {
        tc_buf_t b = {0};
        probe(&input->ptr[i], &b);
        items[i].json.ptr = b.ptr;
        items[i].json.len = b.len;
        items[i].binary.is_some = false;
    }
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = items;
    ret->val.ok.len = input->len;
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}
