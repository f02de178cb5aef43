/* Asks for a host function outside the marie:node world. */
__attribute__((import_module("evil:net/raw"), import_name("connect"))) int evil_connect(int port);

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)config;
    (void)ctx;
    return marie_pushf(marie_ok(), "{\"fd\":%d}", evil_connect((int)input->count));
}
