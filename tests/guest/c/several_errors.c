/* Three errors (one line each on stderr) and a warning (not shown). */
#include <stdio.h>

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    int unused = 0;
    undeclared_helper(input);
    marie_log_info(config);
    marie_log_info("run %d", ctx);
    return marie_ok();
}
