/* One node, many behaviours: config {"mode": NAME} picks one (see
 * run_tests.sh for what each should produce). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth(int n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    return depth(n + 1) + pad[0];
}

/* 64 KiB frames: the 1 MiB shadow stack in linear memory runs out long
 * before the engine's call stack does. */
static int big_frames(int n)
{
    volatile char pad[65536];
    pad[n & 0xffff] = (char)n;
    return big_frames(n + 1) + pad[0];
}

static marie_response *json_read(const char *config)
{
    const char *data = marie_json_get(config, "data");
    const char *list = marie_json_get(data, "list");
    double d = 0;
    int64_t big = 0, neg = 0, sci = 0, i1 = 0;
    bool flag = false;
    size_t text_len = 0;
    const char *text = marie_json_string(marie_json_at(list, 3), &text_len);
    const char *tricky = marie_json_get(data, "k\"ey");
    marie_json_number(marie_json_at(list, 1), &d);
    marie_json_int(marie_json_get(data, "big"), &big);
    marie_json_int(marie_json_get(data, "neg"), &neg);
    marie_json_int(marie_json_at(list, 2), &sci);
    marie_json_int(marie_json_at(list, 0), &i1);
    marie_json_bool(marie_json_at(list, 4), &flag);
    size_t sub_len = marie_json_len(marie_json_get(data, "nested"));
    return marie_pushf(
        marie_ok(),
        "{\"count\":%zu,\"members\":%zu,\"i1\":%lld,\"d\":%g,\"sci\":%lld,\"text\":%s,\"text_len\":%zu,"
        "\"flag\":%s,\"null\":%s,\"missing\":%s,\"over\":%s,\"frac\":%s,\"big\":%lld,\"neg\":%lld,"
        "\"tricky\":%s,\"nested\":%.*s,\"types\":[%d,%d,%d,%d,%d,%d,%d],\"valid\":[%d,%d,%d]}",
        marie_json_count(list), marie_json_count(data), (long long)i1, d, (long long)sci,
        marie_json_quote_n(text, text_len), text_len, flag ? "true" : "false",
        marie_json_is_null(marie_json_at(list, 5)) ? "true" : "false",
        marie_json_get(data, "absent") || marie_json_at(list, 99) ? "true" : "false",
        marie_json_int(marie_json_get(data, "over"), NULL) ? "true" : "false",
        marie_json_int(marie_json_at(list, 1), NULL) ? "true" : "false", (long long)big, (long long)neg,
        marie_json_string(tricky, NULL) ? marie_json_quote(marie_json_string(tricky, NULL)) : "null",
        (int)sub_len, marie_json_get(data, "nested"),
        marie_json_typeof(NULL), marie_json_typeof("null"), marie_json_typeof(" true"),
        marie_json_typeof("-1"), marie_json_typeof("\"s\""), marie_json_typeof("[]"),
        marie_json_typeof("{}"), marie_json_valid("{\"a\":[1,2,{}]}"), marie_json_valid("{\"a\":}"),
        marie_json_valid("[1] x"));
}

marie_response *execute(const marie_items *input, const char *config, const marie_context *ctx)
{
    (void)ctx;
    const char *mode = marie_json_string(marie_json_get(config, "mode"), NULL);
    if (!mode)
        return marie_err("unknown mode %s", config);

    if (strcmp(mode, "values") == 0) {
        marie_response *res = marie_ok();
        marie_push(res, "{\"x\":1,\"y\":2}");
        marie_push(res, " [1, \"two\", null] ");
        marie_pushf(res, "%s", marie_json_quote("tab\there \"quoted\" \xc3\xa9 \xf0\x9f\x98\x80 \x01 bad:\xff"));
        marie_pushf(res, "%d", 42);
        marie_push_binary(res, "[true]", (const unsigned char[]){1, 2}, 2);
        marie_push_binary(res, "{}", NULL, 0);
        return res;
    }
    if (strcmp(mode, "echo_binary") == 0) {
        marie_response *res = marie_ok();
        for (size_t i = 0; i < input->count; i++) {
            const marie_item *it = &input->items[i];
            if (it->binary)
                marie_push_binary(res, it->json, it->binary, it->binary_len);
            else
                marie_push(res, it->json);
        }
        return res;
    }
    if (strcmp(mode, "config") == 0)
        return marie_pushf(marie_ok(), "{\"config\":%s}", marie_json_quote(config));
    if (strcmp(mode, "error") == 0)
        return marie_err("custom failure %d", 7);
    if (strcmp(mode, "null") == 0)
        return NULL;
    if (strcmp(mode, "foreign") == 0) {
        static char not_a_response[64];
        return (marie_response *)not_a_response;
    }
    if (strcmp(mode, "bad_json") == 0)
        return marie_push(marie_push(marie_ok(), "{\"fine\":true}"), "{\"a\": nope}");
    if (strcmp(mode, "bad_utf8") == 0)
        return marie_push(marie_ok(), "\"\xc3\x28\"");
    if (strcmp(mode, "json_read") == 0)
        return json_read(config);
    if (strcmp(mode, "deep") == 0) {
        /* 100000 nested arrays are refused (the reader's depth limit is
         * 512), 500 are fine: no stack overflow either way. */
        size_t ok_depth = 500, bad_depth = 100000;
        char *text = marie_alloc(2 * bad_depth + 1);
        memset(text, '[', bad_depth);
        memset(text + bad_depth, ']', bad_depth);
        bool deep_valid = marie_json_valid(text);
        size_t deep_len = marie_json_len(text);
        char *fine = marie_alloc(2 * ok_depth + 1);
        memset(fine, '[', ok_depth);
        memset(fine + ok_depth, ']', ok_depth);
        return marie_pushf(marie_ok(), "{\"deep_valid\":%d,\"deep_len\":%zu,\"fine_valid\":%d,\"fine_len\":%zu}",
                           deep_valid, deep_len, marie_json_valid(fine), marie_json_len(fine));
    }
    if (strcmp(mode, "many") == 0) {
        marie_response *res = marie_ok();
        for (int i = 0; i < 10000; i++)
            marie_pushf(res, "{\"i\":%d}", i);
        return res;
    }
    if (strcmp(mode, "kv_denied") == 0) {
        if (!marie_kv_put("k", "v", 1, MARIE_KV_NO_TTL))
            return marie_err("kv.put: %s", marie_last_error());
        return marie_ok();
    }
    if (strcmp(mode, "bad_args") == 0) {
        const char *why[4];
        why[0] = marie_kv_put("k", NULL, 5, MARIE_KV_NO_TTL) ? "" : marie_last_error();
        why[1] = marie_kv_put("k", "v", 1, -5) ? "" : marie_last_error();
        why[2] = marie_secret_get("bad\xff") ? "" : marie_last_error();
        why[3] = marie_http_get(NULL) ? "" : marie_last_error();
        return marie_pushf(marie_ok(), "[%s,%s,%s,%s]", marie_json_quote(why[0]), marie_json_quote(why[1]),
                           marie_json_quote(why[2]), marie_json_quote(why[3]));
    }
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "assert") == 0) {
        assert(input->count > 0);
        return marie_ok();
    }
    if (strcmp(mode, "null_deref") == 0) {
        int *p = marie_json_get(config, "absent") ? malloc(4) : NULL;
        *p = 1;
        return marie_ok();
    }
    if (strcmp(mode, "bounds") == 0) {
        int table[4] = {0};
        int64_t i = 0;
        marie_json_int(marie_json_get(config, "index"), &i);
        table[i] = 1;
        return marie_pushf(marie_ok(), "%d", table[0]);
    }
    if (strcmp(mode, "recursion") == 0)
        return marie_pushf(marie_ok(), "%d", depth(0));
    if (strcmp(mode, "big_frames") == 0)
        return marie_pushf(marie_ok(), "%d", big_frames(0));
    if (strcmp(mode, "memory") == 0) {
        /* Keeps every block (a chain) so that no allocation is dead. */
        void **chain = NULL;
        size_t mib = 0;
        for (void **block; (block = malloc(1 << 20)) != NULL; mib++) {
            *block = chain;
            chain = block;
        }
        marie_log_info("chain %p", (void *)chain);
        return marie_err("out of memory after %zu MiB", mib);
    }
    if (strcmp(mode, "loop") == 0) {
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    if (strcmp(mode, "exit") == 0)
        exit(3);
    return marie_err("unknown mode %s", mode);
}
