/*
 * recurse — recurses without bound until Wasmtime's stack-overflow trap.
 * Proves that exhausting the wasm call stack is reported as a trap (stack
 * overflow) and does not crash the host. The recursion uses only wasm locals
 * and the call stack: no local has its address taken, so wasi-libc's shadow
 * stack in linear memory is not involved. The result depends on the callee's
 * result through a non-associative step, so the compiler can neither turn it
 * into a loop (tail-call or accumulator elimination) nor compute it ahead.
 */
#include "guest_util.h"
#include "node.h"

static volatile uint32_t stop_at = 0; /* never reached: depth runs out first */

__attribute__((noinline)) static uint32_t down(uint32_t n)
{
    if (n == stop_at)
        return 1;
    uint32_t r = down(n + 1);
    return (r >> 1) ^ (r * n) ^ n;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    uint32_t r = down(1);

    /* Unreachable in practice; reporting r keeps the recursion's result live. */
    tc_buf_t b = {0};
    tc_buf_puts(&b, "recursion ended: ");
    tc_buf_u64(&b, r);
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
    ret->val.err_.ptr = b.ptr;
    ret->val.err_.len = b.len;
}
