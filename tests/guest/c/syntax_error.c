/* A missing semicolon. */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)config;
    (void)ctx
    return marie_pushf(marie_ok(), "{\"n\":%zu}", input->count);
}
