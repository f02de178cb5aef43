/*
 * kvflood — puts keys "k0", "k1", … (value "v") until the host refuses one,
 * then tries a value over the kv interface's 1 MiB cap and a key over the
 * host's key cap, deletes every key it stored, and returns one item:
 *
 *   {"stored":N,"error":"<first refusal>","big_value":"<err>","long_key":"<err>","deleted":N}
 *
 * (an absent refusal is ""). Proves that a node cannot fill the key-value
 * store past its quota and that the refusals are plain err results the
 * guest can read, not traps. Deleting at the end leaves the store as it was,
 * so the case gives the same answer every time it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "node.h"

#define MAX_PUTS 1000000
#define BIG_VALUE ((1u << 20) + 1)
#define LONG_KEY 4096

/* Appends ,"name":"<err>" and frees err (when set). */
static void put_err(tc_buf_t *b, const char *name, bool failed, node_string_t *err)
{
    tc_buf_puts(b, ",\"");
    tc_buf_puts(b, name);
    tc_buf_puts(b, "\":");
    if (failed) {
        tc_buf_json_str(b, err->ptr, err->len);
        node_string_free(err);
    } else {
        tc_buf_puts(b, "\"\"");
    }
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    char name[32];
    node_string_t key, err;
    uint8_t v = 'v';
    node_list_u8_t value = {&v, 1};
    tc_buf_t b = {0};
    size_t stored = 0, deleted = 0;
    bool failed = false;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    tc_buf_puts(&b, "{\"stored\":");
    while (stored < MAX_PUTS) {
        snprintf(name, sizeof name, "k%zu", stored);
        node_string_set(&key, name);
        if (!marie_node_kv_put(&key, &value, NULL, &err)) {
            failed = true;
            break;
        }
        stored++;
    }
    tc_buf_u64(&b, stored);
    put_err(&b, "error", failed, &err);

    node_list_u8_t big = {tc_xmalloc(BIG_VALUE), BIG_VALUE};
    memset(big.ptr, 'b', big.len);
    node_string_set(&key, "big");
    failed = !marie_node_kv_put(&key, &big, NULL, &err);
    put_err(&b, "big_value", failed, &err);
    free(big.ptr);

    char *long_name = tc_xmalloc(LONG_KEY + 1);
    memset(long_name, 'L', LONG_KEY);
    long_name[LONG_KEY] = '\0';
    node_string_set(&key, long_name);
    failed = !marie_node_kv_put(&key, &value, NULL, &err);
    put_err(&b, "long_key", failed, &err);
    free(long_name);

    for (size_t i = 0; i < stored; i++) {
        snprintf(name, sizeof name, "k%zu", i);
        node_string_set(&key, name);
        if (marie_node_kv_delete(&key, &err))
            deleted++;
        else
            node_string_free(&err);
    }
    tc_buf_puts(&b, ",\"deleted\":");
    tc_buf_u64(&b, deleted);
    tc_buf_puts(&b, "}");

    node_item_t *item = tc_xmalloc(sizeof *item);
    item->json.ptr = b.ptr;
    item->json.len = b.len;
    item->binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = item;
    ret->val.ok.len = 1;
}
