/*
 * loop — spins forever in pure guest code and never returns.
 * Proves that the runtime's timeout (epoch interruption or fuel) stops a
 * guest that makes no host calls. The counter is volatile so the compiler
 * cannot prove the loop side-effect free and delete it (C11 6.8.5p6).
 */
#include "node.h"

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    volatile uint64_t counter = 0;

    (void)input;
    (void)env;
    (void)ctx;
    (void)ret;
    for (;;)
        counter = counter + 1;
}
