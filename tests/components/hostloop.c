/*
 * hostloop — loops forever calling kv get("k") and never returns.
 * Proves that the timeout also interrupts a guest that spends its time going
 * in and out of host calls. The result is freed each time (the bindings give
 * the caller ownership of returned values), so memory stays flat and only the
 * timeout can end the call.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t key;

    (void)ret;
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    node_string_set(&key, "k");
    for (;;) {
        node_list_u8_t value;
        if (marie_node_kv_get(&key, &value))
            node_list_u8_free(&value);
    }
}
