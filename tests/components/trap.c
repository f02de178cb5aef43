/*
 * trap — executes wasm `unreachable` via __builtin_trap().
 * Proves that a guest trap is reported as a trap (not a guest error, not a
 * host failure) and that the engine stays usable afterwards.
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    (void)input;
    (void)env;
    (void)ctx;
    (void)ret;
    __builtin_trap();
}
