/* Real requests to the loopback test server (tests/http_server.py);
 * config "base" is its URL. */
#include <string.h>

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)input;
    (void)ctx;
    const char *base = marie_json_string(marie_json_get(config, "base"), NULL);
    if (!base)
        return marie_err("config has no \"base\"");

    const marie_http_response *plain = marie_http_get(marie_printf("%s/plain", base));
    if (!plain)
        return marie_err("GET /plain: %s", marie_last_error());

    const char *body = "{\"a\": 1}";
    marie_header headers[] = {{"X-Test", "v1"}, {"Content-Type", "application/json"}};
    const marie_http_response *echo = marie_http_fetch(&(marie_http_request){
        .method = "POST",
        .url = marie_printf("%s/echo", base),
        .headers = headers,
        .header_count = sizeof headers / sizeof headers[0],
        .body = body,
        .body_len = strlen(body),
    });
    if (!echo)
        return marie_err("POST /echo: %s", marie_last_error());

    const marie_http_response *missing = marie_http_get(marie_printf("%s/status/404", base));
    if (!missing)
        return marie_err("GET /status/404: %s", marie_last_error());

    return marie_pushf(marie_ok(),
                       "{\"plain_status\":%u,\"plain_text\":%s,\"content_length\":%s,"
                       "\"echo\":%s,\"missing_status\":%u,\"missing_body\":%s}",
                       plain->status, marie_json_quote_n(plain->body, plain->body_len),
                       marie_json_quote(marie_http_header(plain, "CONTENT-LENGTH")),
                       marie_json_quote(echo->body), missing->status, marie_json_quote(missing->body));
}
