/*
 * eventflood — emits 1,000,000 "tick" events with a small JSON payload, then
 * returns ok with one item {"done":true}.
 * Proves that the host bounds the events it keeps per execution and keeps
 * working while the guest floods it.
 */
#include "done_item.h"

#define EVENT_COUNT 1000000

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_string_t type, payload;

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    node_string_set(&type, "tick");
    node_string_set(&payload, "{\"tick\":true}");
    for (int i = 0; i < EVENT_COUNT; i++)
        marie_node_events_emit(&type, &payload);
    tc_respond_done(ret);
}
