/* The smallest useful node: one item that greets the node by its id. */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)config;
    marie_log_info("hello from %s, %zu items", ctx->node_id, input->count);
    return marie_pushf(marie_ok(), "{\"hello\":%s,\"items\":%zu}", marie_json_quote(ctx->node_id),
                       input->count);
}
