/*
 * badutf8 — puts text that is not valid UTF-8 (or is valid but holds a NUL)
 * across the component boundary. env.vars picks where:
 *
 *   item, err              the response: an item's json / the err message
 *   overlong, surrogate    the response, with an overlong '/' (C0 AF) / a
 *                          UTF-16 surrogate (ED A0 80) in an item
 *   log, event             console.log message / events.emit payload
 *   kv-key, secret, url    a kv get key / a secret name / a fetch URL
 *   stdout                 raw bytes on stdout (a byte stream, not a string)
 *   nul-item, nul-log      "a\0b" (valid UTF-8) as an item / a log message
 *
 * and otherwise returns ok with the single item {"done":true}. Component
 * strings must be UTF-8, so the host may never trust them to be: an invalid
 * string is refused (the guest traps) before any host code reads it; bytes
 * on stdout are repaired; a NUL is kept, with its length, or cut, but never
 * read past.
 */
#include <stdio.h>
#include <string.h>

#include "done_item.h"

static const char invalid[] = "\"\xff\xfe bad\"";

static bool is(const node_string_t *s, const char *word)
{
    return s->len == strlen(word) && memcmp(s->ptr, word, s->len) == 0;
}

static void respond_item(node_response_t *ret, const char *p, size_t n)
{
    node_item_t *item = tc_xmalloc(sizeof *item);
    node_string_dup_n(&item->json, p, n);
    item->binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = item;
    ret->val.ok.len = 1;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t bad = {(uint8_t *)invalid, sizeof invalid - 1};
    node_string_t ok_text;
    node_string_set(&ok_text, "ok");
    node_string_t *mode = &env->vars;

    tc_respond_done(ret);
    if (is(mode, "item") || is(mode, "overlong") || is(mode, "surrogate")) {
        node_response_free(ret);
        if (is(mode, "item"))
            respond_item(ret, invalid, sizeof invalid - 1);
        else if (is(mode, "overlong"))
            respond_item(ret, "\"\xc0\xaf\"", 4);
        else
            respond_item(ret, "\"\xed\xa0\x80\"", 5);
    } else if (is(mode, "err")) {
        node_response_free(ret);
        ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
        node_string_dup_n(&ret->val.err_, invalid, sizeof invalid - 1);
    } else if (is(mode, "log")) {
        marie_node_console_log(MARIE_NODE_CONSOLE_LOG_LEVEL_INFO, &bad);
    } else if (is(mode, "event")) {
        marie_node_events_emit(&ok_text, &bad);
    } else if (is(mode, "kv-key")) {
        node_list_u8_t value;
        if (marie_node_kv_get(&bad, &value))
            node_list_u8_free(&value);
    } else if (is(mode, "secret")) {
        node_string_t value;
        if (marie_node_secrets_get(&bad, &value))
            node_string_free(&value);
    } else if (is(mode, "url")) {
        marie_node_http_client_http_request_t req = {
            .method = ok_text, .url = bad, .headers = {NULL, 0}, .body = {.is_some = false}};
        marie_node_http_client_http_response_t resp;
        node_string_t err;
        if (marie_node_http_client_fetch(&req, &resp, &err))
            marie_node_http_client_http_response_free(&resp);
        else
            node_string_free(&err);
    } else if (is(mode, "stdout")) {
        fwrite(invalid, 1, sizeof invalid - 1, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else if (is(mode, "nul-item")) {
        node_response_free(ret);
        respond_item(ret, "\"a\0b\"", 5);
    } else if (is(mode, "nul-log")) {
        node_string_t text = {(uint8_t *)"a\0b", 3};
        marie_node_console_log(MARIE_NODE_CONSOLE_LOG_LEVEL_INFO, &text);
    }
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}
