/*
 * logflood — calls console log (info) 1,000,000 times with a 1 KiB message
 * (1 GB in total), then returns ok with one item {"done":true}.
 * Proves that the host bounds what it keeps of a guest's logs (a cap, not
 * unbounded growth) and keeps working while the guest floods it.
 */
#include <string.h>

#include "done_item.h"

#define LOG_CALLS 1000000
#define MESSAGE_SIZE 1024

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    static char text[MESSAGE_SIZE];
    node_string_t message = {(uint8_t *)text, sizeof text};

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    memset(text, 'x', sizeof text);
    for (int i = 0; i < LOG_CALLS; i++)
        marie_node_console_log(MARIE_NODE_CONSOLE_LOG_LEVEL_INFO, &message);
    tc_respond_done(ret);
}
