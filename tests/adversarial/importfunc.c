/*
 * importfunc — a component that imports a bare function `spawn` (see
 * wit-importfunc/), not an interface of marie:node or WASI, and otherwise
 * exports the usual execute. Proves that the runtime refuses components
 * with imports it does not grant at load time, whatever the import's shape.
 * spawn() is really called so the import is kept when the component is made.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t cmd;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    node_string_set(&cmd, "/bin/sh");
    uint32_t pid = node_spawn(&cmd);
    ret->tag = EVIL_NODE_TYPES_RESPONSE_ERR;
    node_string_dup(&ret->val.err_, pid ? "spawned" : "not spawned");
}
