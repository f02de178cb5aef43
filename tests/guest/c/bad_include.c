#include <string.h>
#include "helpers.h"

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)input;
    (void)config;
    (void)ctx;
    return marie_ok();
}
