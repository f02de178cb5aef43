/* Defines process, not execute. */
marie_response *process(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)input;
    (void)config;
    (void)ctx;
    return marie_ok();
}
