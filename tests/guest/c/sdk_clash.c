/* Redefines an SDK function with its own signature: a duplicate symbol. */
#include <stddef.h>

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)input;
    (void)config;
    (void)ctx;
    return marie_ok();
}

marie_response *marie_ok(void)
{
    return NULL;
}
