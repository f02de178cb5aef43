/* Includes itself forever. */
#include __FILE__
marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    return marie_ok();
}
