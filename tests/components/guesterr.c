/*
 * guesterr — returns err("bad input: expected a number").
 * Proves that a guest-reported error (the response's err case) is told apart
 * from a trap and that its message reaches the caller verbatim.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
    /* dup, not set: the post-return frees the string with free(). */
    node_string_dup(&ret->val.err_, "bad input: expected a number");
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}
