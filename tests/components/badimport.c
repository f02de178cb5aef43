/*
 * badimport — a component that imports evil:net/raw (see wit-badimport/),
 * an interface outside marie:node and WASI, and otherwise exports the usual
 * execute. Proves that the runtime refuses components with imports it does
 * not grant, at load time rather than at the first call. connect() is really
 * called so that the import is not dropped as unused when the component is
 * made.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t addr;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    node_string_set(&addr, "127.0.0.1:9");
    uint32_t fd = evil_net_raw_connect(&addr);
    ret->tag = EVIL_NODE_TYPES_RESPONSE_ERR;
    node_string_dup(&ret->val.err_, fd ? "connected" : "not connected");
}
