/* Uses every host capability; run with perms.json, secrets.json,
 * config.json, context.json and items.json of this directory. */
#include <stdio.h>
#include <string.h>

#include "marie.h"

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    const char *allowed = marie_secret_get("API_KEY");
    const char *denied = marie_secret_get("DB_PASSWORD");
    const char *denied_why = marie_last_error();

    static const unsigned char blob[] = {0, 1, 255};
    if (!marie_kv_put("counter", "41", 2, 60) || !marie_kv_put("blob", blob, sizeof blob, MARIE_KV_NO_TTL))
        return marie_err("kv.put failed: %s", marie_last_error());
    const char *counter = marie_kv_get("counter", NULL);
    size_t blob_len = 0;
    const unsigned char *got = (const unsigned char *)marie_kv_get("blob", &blob_len);
    if (!counter || !got || blob_len != 3)
        return marie_err("kv.get failed");
    if (!marie_kv_delete("counter"))
        return marie_err("kv.delete failed: %s", marie_last_error());
    const char *after_delete = marie_kv_get("counter", NULL);

    marie_log_debug("debug line");
    marie_log_info("info line %s", "{\"n\":1}");
    marie_log_warn("warn line %d", 3);
    marie_log_error("error line with bad UTF-8: \xff!");
    printf("printf line from %s\n", ctx->node_id);
    fprintf(stderr, "stderr line\n");

    marie_event_emit("node.done", marie_printf("{\"items\":%zu}", input->count));
    marie_event_emit("node.note", "plain text payload");

    const char *http;
    marie_header accept = {"accept", "application/json"};
    const marie_http_response *res = marie_http_fetch(&(marie_http_request){
        .url = "https://denied.example.com/data", .headers = &accept, .header_count = 1});
    if (res)
        http = marie_printf("status %u", res->status);
    else
        http = marie_printf("error: %s", marie_last_error());

    int64_t threshold = 0;
    marie_json_int(marie_json_get(config, "threshold"), &threshold);
    const char *name = marie_json_string(marie_json_get(config, "name"), NULL);

    const char *binary_in = "[";
    for (size_t i = 0; i < input->count; i++) {
        const marie_item *it = &input->items[i];
        const char *b = "null";
        if (it->binary) {
            b = "[";
            for (size_t j = 0; j < it->binary_len; j++)
                b = marie_printf("%s%s%u", b, j ? "," : "", it->binary[j]);
            b = marie_printf("%s]", b);
        }
        binary_in = marie_printf("%s%s%s", binary_in, i ? "," : "", b);
    }
    binary_in = marie_printf("%s]", binary_in);

    marie_response *out = marie_ok();
    marie_pushf(out,
                "{\"secret_allowed\":%s,\"secret_denied\":%s,\"secret_denied_why\":%s,"
                "\"kv_text\":%s,\"kv_blob\":[%u,%u,%u],\"kv_after_delete\":%s,"
                "\"http\":%s,\"config\":%s,\"threshold\":%lld,\"name\":%s,"
                "\"context\":{\"workflow_id\":%s,\"execution_id\":%s,\"node_id\":%s,\"run_index\":%u},"
                "\"binary_in\":%s}",
                marie_json_quote(allowed), marie_json_quote(denied), marie_json_quote(denied_why),
                marie_json_quote(counter), got[0], got[1], got[2], marie_json_quote(after_delete),
                marie_json_quote(http), config, (long long)threshold, marie_json_quote(name),
                marie_json_quote(ctx->workflow_id), marie_json_quote(ctx->execution_id),
                marie_json_quote(ctx->node_id), ctx->run_index, binary_in);
    return marie_push_binary(out, "{\"has_binary\":true}", "abc", 3);
}
