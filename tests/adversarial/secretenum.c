/*
 * secretenum — asks the host for many secret names: well-known ones, near
 * misses of a real one (case, spaces, wildcards, an embedded NUL, a very
 * long name) and S0…S9999; returns one item
 *
 *   {"asked":N,"found":["NAME=VALUE",...]}
 *
 * and logs every value it found. Proves that only the names the permissions
 * list answer (all others look exactly like missing secrets), that asking
 * many times costs the host nothing it keeps, and that a value read is
 * redacted from the node's logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "node.h"

#define GENERATED 10000

static const char *const known[] = {
    "API_KEY", "api_key", "Api_Key", "API_KEY ", " API_KEY", "API_KEY\n", "API_KEY.",
    "API_*", "*", "API_KEY,DB_PASSWORD", "", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "DATABASE_URL", "MW_SECRETS_KEY",
    "../API_KEY", "MW_SECRET_API_KEY", "PATH", "HOME",
};

static size_t asked, found;
static tc_buf_t out;

static void ask(const char *p, size_t n)
{
    node_string_t name = {(uint8_t *)p, n}, value;
    asked++;
    if (!marie_node_secrets_get(&name, &value))
        return;
    tc_buf_puts(&out, found++ ? "," : "");
    tc_buf_t entry = {0};
    tc_buf_put(&entry, p, n);
    tc_buf_puts(&entry, "=");
    tc_buf_put(&entry, value.ptr, value.len);
    tc_buf_json_str(&out, entry.ptr, entry.len);
    node_string_t line = {entry.ptr, entry.len};
    marie_node_console_log(MARIE_NODE_CONSOLE_LOG_LEVEL_INFO, &line);
    free(entry.ptr);
    node_string_free(&value);
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    char name[32];

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    asked = found = 0;
    out = (tc_buf_t){0};
    tc_buf_puts(&out, "{\"found\":[");
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        ask(known[i], strlen(known[i]));
    ask("API_KEY\0DB_PASSWORD", 19); /* a NUL must not end the name early */
    char *huge = tc_xmalloc(70000);
    memset(huge, 'A', 70000);
    ask(huge, 70000);
    free(huge);
    for (int i = 0; i < GENERATED; i++) {
        snprintf(name, sizeof name, "S%d", i);
        ask(name, strlen(name));
    }
    tc_buf_puts(&out, "],\"asked\":");
    tc_buf_u64(&out, asked);
    tc_buf_puts(&out, "}");

    node_item_t *item = tc_xmalloc(sizeof *item);
    item->json.ptr = out.ptr;
    item->json.len = out.len;
    item->binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = item;
    ret->val.ok.len = 1;
}
