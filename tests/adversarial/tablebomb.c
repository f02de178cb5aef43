/*
 * tablebomb — grows a funcref table by 4096 elements at a time until
 * table.grow fails, then traps. Proves that the runtime's table limit stops
 * a guest that grows tables without bound (the table-side twin of membomb),
 * reported as memory_limit rather than as an ordinary guest trap.
 *
 * C has no portable way to name a table, so the table and the table.grow
 * are written in assembly: a table of its own, without a maximum, so only
 * the host can refuse the grow.
 */
#include "node.h"

#define STEP 4096

__asm__(".tabletype bomb_table, funcref\n"
        "bomb_table:\n");

/* table.grow bomb_table by n null entries: the old size, or -1 if refused. */
static int grow(int n)
{
    int old;
    __asm__ volatile("ref.null_func\n\t"
                     "local.get %1\n\t"
                     "table.grow bomb_table\n\t"
                     "local.set %0"
                     : "=r"(old)
                     : "r"(n));
    return old;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    (void)ret;
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    while (grow(STEP) >= 0)
        ;
    __builtin_trap();
}
