/* A string where a number belongs. */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)input;
    (void)ctx;
    int limit = config;
    return marie_pushf(marie_ok(), "{\"limit\":%d}", limit);
}
