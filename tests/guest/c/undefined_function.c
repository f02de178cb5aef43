/* helper is declared but defined nowhere: a link error. */
int helper(int x);

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)config;
    (void)ctx;
    return marie_pushf(marie_ok(), "{\"n\":%d}", helper((int)input->count));
}
