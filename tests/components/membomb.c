/*
 * membomb — mallocs 1 MiB blocks forever, touching every page, and calls
 * abort() once malloc returns NULL.
 * Proves that the runtime's memory limit makes memory.grow fail (malloc then
 * returns NULL) and that the resulting abort is reported as a trap, without
 * the host running out of memory. Blocks are chained from a volatile root so
 * the compiler cannot drop the allocations as unused.
 */
#include <stdlib.h>

#include "node.h"

#define BLOCK_SIZE (1024 * 1024)
#define PAGE_SIZE 4096

static void *volatile chain;

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    (void)ret;
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    for (;;) {
        volatile unsigned char *block = malloc(BLOCK_SIZE);
        if (!block)
            abort();
        for (size_t off = 0; off < BLOCK_SIZE; off += PAGE_SIZE)
            block[off] = (unsigned char)off;
        *(void *volatile *)block = chain;
        chain = (void *)block;
    }
}
