/*
 * context — returns ok with one item describing what the guest was given:
 *   {"workflow_id":"…","execution_id":"…","node_id":"…","run_index":N,
 *    "env":"<env.vars as a JSON string>","count":<number of input items>}
 * Proves that ctx, env and the input count reach the guest intact, including
 * strings that need JSON escaping.
 */
#include <string.h>

#include "guest_util.h"
#include "node.h"

static void put_field(tc_buf_t *b, const char *key, const node_string_t *s)
{
    tc_buf_json_str(b, key, strlen(key));
    tc_buf_put(b, ":", 1);
    tc_buf_json_str(b, s->ptr, s->len);
    tc_buf_put(b, ",", 1);
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    tc_buf_t b = {0};

    tc_buf_puts(&b, "{");
    put_field(&b, "workflow_id", &ctx->workflow_id);
    put_field(&b, "execution_id", &ctx->execution_id);
    put_field(&b, "node_id", &ctx->node_id);
    tc_buf_puts(&b, "\"run_index\":");
    tc_buf_u64(&b, ctx->run_index);
    tc_buf_puts(&b, ",");
    put_field(&b, "env", &env->vars);
    tc_buf_puts(&b, "\"count\":");
    tc_buf_u64(&b, input->len);
    tc_buf_puts(&b, "}");

    node_item_t *item = tc_xmalloc(sizeof *item);
    item->json.ptr = b.ptr;
    item->json.len = b.len;
    item->binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = item;
    ret->val.ok.len = 1;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}
