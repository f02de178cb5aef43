/* Falls off the end of a function that returns a value. */
static int pick(int n)
{
    if (n > 0)
        return n;
}

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)config;
    (void)ctx;
    return marie_pushf(marie_ok(), "{\"n\":%d}", pick((int)input->count));
}
