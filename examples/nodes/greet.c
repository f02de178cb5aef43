/* Greets each item by name and counts visits in the node's key-value store.
 * Without allow_kv the put is refused by the host and the node says so. */
#include <stdlib.h>
#include <string.h>

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    const char *text = marie_kv_get("visits", NULL);
    long seen = text ? strtol(text, NULL, 10) : 0;
    const char *total = marie_printf("%ld", seen + (long)input->count);
    if (!marie_kv_put("visits", total, strlen(total), MARIE_KV_NO_TTL))
        return marie_err("cannot count visits: %s", marie_last_error());
    marie_log_info("greeted %zu items, %s so far", input->count, total);
    marie_response *res = marie_ok();
    for (size_t i = 0; i < input->count; i++) {
        const char *name = marie_json_string(marie_json_get(input->items[i].json, "name"), NULL);
        marie_pushf(res, "{\"greeting\":%s,\"lang\":\"c\",\"visits\":%ld}",
                    marie_json_quote(marie_printf("Hello, %s!", name ? name : "stranger")),
                    seen + (long)i + 1);
    }
    (void)config, (void)ctx;
    return res;
}
