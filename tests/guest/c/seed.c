/* The README example, verbatim: wraps each item's JSON in {"processed": ...}. */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    marie_response *res = marie_ok();
    for (size_t i = 0; i < input->count; i++)
        marie_pushf(res, "{\"processed\":%s}", input->items[i].json);
    return res;
}
