/*
 * echo — returns ok with the input items unchanged, json and binary alike.
 * Proves that items round-trip through the canonical ABI both ways: the
 * input list (owned by us per the bindings) is moved into the response, and
 * the generated post-return frees it after the host has read it.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = input->ptr;
    ret->val.ok.len = input->len;
    node_env_free(env);
    node_context_free(ctx);
}
