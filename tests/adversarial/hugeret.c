/*
 * hugeret — returns a response far larger than the host accepts, real or
 * forged. env.vars picks the shape:
 *
 *   forged-string   one item whose json claims 2 GiB (pointer and length
 *                   made up; the bytes are not there)
 *   forged-list     a list claiming 268 million items
 *   forged-binary   one item whose binary claims 2 GiB
 *   forged-err      err(message) claiming 2 GiB
 *   oob             one item whose 4 KiB json runs off the end of linear
 *                   memory (small enough for the caps)
 *   big             one item of 20 MiB of real JSON text
 *
 * Proves that the host charges lengths against the output caps before it
 * copies anything (output_limit, no host allocation of the claimed size),
 * and bounds-checks what it does copy (a guest trap, not a host read past
 * the guest's memory).
 */
#include <string.h>

#include "guest_util.h"
#include "node.h"

#define FORGED_LEN 0x7ffffff0u
#define BIG_LEN (20u << 20)

static node_item_t one;

static bool is(const node_string_t *s, const char *word)
{
    return s->len == strlen(word) && memcmp(s->ptr, word, s->len) == 0;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    static uint8_t text[] = "\"x\"";
    size_t memory_end = __builtin_wasm_memory_size(0) * 65536;

    one.json.ptr = text;
    one.json.len = 3;
    one.binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = &one;
    ret->val.ok.len = 1;
    if (is(&env->vars, "forged-string")) {
        one.json.len = FORGED_LEN;
    } else if (is(&env->vars, "forged-list")) {
        ret->val.ok.len = 0x10000000;
    } else if (is(&env->vars, "forged-binary")) {
        one.binary.is_some = true;
        one.binary.val.ptr = text;
        one.binary.val.len = FORGED_LEN;
    } else if (is(&env->vars, "forged-err")) {
        ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
        ret->val.err_.ptr = text;
        ret->val.err_.len = FORGED_LEN;
    } else if (is(&env->vars, "oob")) {
        one.json.ptr = (uint8_t *)(memory_end - 16);
        one.json.len = 4096;
    } else if (is(&env->vars, "big")) {
        uint8_t *big = tc_xmalloc(BIG_LEN);
        memset(big, 'a', BIG_LEN);
        big[0] = big[BIG_LEN - 1] = '"';
        one.json.ptr = big;
        one.json.len = BIG_LEN;
    } else {
        ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
        node_string_dup(&ret->val.err_, "hugeret: unknown shape");
    }
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}

/* Replaces the generated post-return, which would free() the forged
 * pointers: nothing here was allocated per call except "big", and the
 * store dies with the execution anyway. */
__attribute__((__export_name__("cabi_post_execute")))
void __wasm_export_exports_node_execute_post_return(uint8_t *ret_area)
{
    (void)ret_area;
}
