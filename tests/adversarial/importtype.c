/*
 * importtype — imports marie:node/kv@1.0.0 with a `get` of the wrong type
 * and a marie:node/shell@1.0.0 the world does not have (see
 * wit-importtype/). Proves that the runtime checks imports by their types,
 * not by their names, and refuses the component at load time. Both imports
 * are called so that they are kept when the component is made.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t key, out;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    node_string_set(&key, "k");
    uint32_t handle = marie_node_kv_get(&key);
    marie_node_shell_run(&key, &out);
    node_string_free(&out);
    ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
    node_string_dup(&ret->val.err_, handle ? "got a handle" : "no handle");
}
