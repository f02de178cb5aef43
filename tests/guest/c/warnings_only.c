/* Compiles: warnings (an unused variable, an unused parameter, a
 * comparison of signed and unsigned) are not errors and are not shown. */
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    int unused;
    int n = -1;
    (void)config;
    if (n < input->count)
        n = 0;
    return marie_pushf(marie_ok(), "{\"n\":%d}", n);
}
