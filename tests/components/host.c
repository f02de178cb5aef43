/*
 * host — drives every host capability from test input. Each input item's
 * json text is one plain-text command (words separated by spaces; the last
 * argument takes the rest of the line), and the response has one item per
 * command whose json describes the result:
 *
 *   secret NAME            {"op":"secret","found":true,"value":"…"} | {"op":"secret","found":false}
 *   kv_get KEY             {"op":"kv_get","found":true,"value":"…"} | {"op":"kv_get","found":false}
 *   kv_put KEY TTL VALUE   {"op":"kv_put","ok":true} | {"op":"kv_put","ok":false,"error":"…"}
 *                          (TTL is "-" for none, else seconds as a u32)
 *   kv_del KEY             {"op":"kv_del","ok":true} | {"op":"kv_del","ok":false,"error":"…"}
 *   log LEVEL MESSAGE      {"op":"log"}     (LEVEL: debug|info|warn|error)
 *   event TYPE PAYLOAD     {"op":"event"}
 *   http METHOD URL        {"op":"http","ok":true,"status":N,"body":"…"} | {"op":"http","ok":false,"error":"…"}
 *                          (sends header x-test: 1 and no body)
 *   print TEXT / eprint TEXT   writes TEXT and a newline to stdout / stderr; {"op":"print"}
 *
 * Anything else makes the whole response err("unknown command: WORD"), and a
 * malformed command err("bad command: …"). Proves that each capability is
 * wired through (or refused) as the permissions say, with the host's exact
 * answers visible to the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "node.h"

/* Returns the next space-separated word of *line (NUL-terminated in place)
 * or NULL when there is none. */
static char *next_word(char **line)
{
    char *s = *line;
    while (*s == ' ')
        s++;
    if (*s == '\0')
        return NULL;
    char *word = s;
    while (*s != ' ' && *s != '\0')
        s++;
    if (*s == ' ')
        *s++ = '\0';
    *line = s;
    return word;
}

/* The rest of the line after the separating spaces; may be empty. */
static char *rest(char **line)
{
    char *s = *line;
    while (*s == ' ')
        s++;
    return s;
}

static node_string_t str(const char *s)
{
    node_string_t out;
    node_string_set(&out, s);
    return out;
}

static void put_op(tc_buf_t *b, const char *op)
{
    tc_buf_puts(b, "{\"op\":\"");
    tc_buf_puts(b, op);
    tc_buf_puts(b, "\"");
}

/* Appends ,"ok":true} or ,"ok":false,"error":"…"} and frees err. */
static void put_ok(tc_buf_t *b, bool ok, node_string_t *err)
{
    if (ok) {
        tc_buf_puts(b, ",\"ok\":true}");
        return;
    }
    tc_buf_puts(b, ",\"ok\":false,\"error\":");
    tc_buf_json_str(b, err->ptr, err->len);
    tc_buf_puts(b, "}");
    node_string_free(err);
}

static bool parse_ttl(const char *s, uint32_t *out_ttl)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out_ttl = (uint32_t)v;
    return true;
}

static bool parse_level(const char *s, marie_node_console_log_level_t *out_level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (uint8_t i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out_level = i; /* MARIE_NODE_CONSOLE_LOG_LEVEL_* follow WIT order */
            return true;
        }
    }
    return false;
}

static void do_http(tc_buf_t *b, char *method, char *url)
{
    node_tuple2_string_string_t header = {str("x-test"), str("1")};
    marie_node_http_client_http_request_t req = {
        .method = str(method),
        .url = str(url),
        .headers = {&header, 1},
        .body = {.is_some = false},
    };
    marie_node_http_client_http_response_t resp;
    node_string_t err;

    put_op(b, "http");
    if (!marie_node_http_client_fetch(&req, &resp, &err)) {
        put_ok(b, false, &err);
        return;
    }
    tc_buf_puts(b, ",\"ok\":true,\"status\":");
    tc_buf_u64(b, resp.status);
    tc_buf_puts(b, ",\"body\":");
    tc_buf_json_str(b, resp.body.ptr, resp.body.len);
    tc_buf_puts(b, "}");
    marie_node_http_client_http_response_free(&resp);
}

/* Runs one command, appending its result object to b. Returns NULL, or the
 * reason the command was refused: "unknown command: " (then *out_word is the
 * word) or a static "bad command: …" text. */
static const char *run(char *line, tc_buf_t *b, const char **out_word)
{
    char *op = next_word(&line);
    char *a1, *a2;

    *out_word = op ? op : "";
    if (!op)
        return "unknown command: ";
    if (strcmp(op, "secret") == 0) {
        node_string_t name = str(rest(&line)), value;
        put_op(b, "secret");
        if (marie_node_secrets_get(&name, &value)) {
            tc_buf_puts(b, ",\"found\":true,\"value\":");
            tc_buf_json_str(b, value.ptr, value.len);
            tc_buf_puts(b, "}");
            node_string_free(&value);
        } else {
            tc_buf_puts(b, ",\"found\":false}");
        }
    } else if (strcmp(op, "kv_get") == 0) {
        node_string_t key = str(rest(&line));
        node_list_u8_t value;
        put_op(b, "kv_get");
        if (marie_node_kv_get(&key, &value)) {
            tc_buf_puts(b, ",\"found\":true,\"value\":");
            tc_buf_json_str(b, value.ptr, value.len);
            tc_buf_puts(b, "}");
            node_list_u8_free(&value);
        } else {
            tc_buf_puts(b, ",\"found\":false}");
        }
    } else if (strcmp(op, "kv_put") == 0) {
        uint32_t ttl;
        if (!(a1 = next_word(&line)) || !(a2 = next_word(&line)))
            return "bad command: kv_put KEY TTL VALUE";
        if (strcmp(a2, "-") != 0 && !parse_ttl(a2, &ttl))
            return "bad command: kv_put TTL must be - or a u32";
        char *text = rest(&line);
        node_string_t key = str(a1), err;
        node_list_u8_t value = {(uint8_t *)text, strlen(text)};
        put_op(b, "kv_put");
        put_ok(b, marie_node_kv_put(&key, &value, strcmp(a2, "-") ? &ttl : NULL, &err), &err);
    } else if (strcmp(op, "kv_del") == 0) {
        node_string_t key = str(rest(&line)), err;
        put_op(b, "kv_del");
        put_ok(b, marie_node_kv_delete(&key, &err), &err);
    } else if (strcmp(op, "log") == 0) {
        marie_node_console_log_level_t level;
        if (!(a1 = next_word(&line)) || !parse_level(a1, &level))
            return "bad command: log debug|info|warn|error MESSAGE";
        node_string_t message = str(rest(&line));
        marie_node_console_log(level, &message);
        put_op(b, "log");
        tc_buf_puts(b, "}");
    } else if (strcmp(op, "event") == 0) {
        if (!(a1 = next_word(&line)))
            return "bad command: event TYPE PAYLOAD";
        node_string_t type = str(a1), payload = str(rest(&line));
        marie_node_events_emit(&type, &payload);
        put_op(b, "event");
        tc_buf_puts(b, "}");
    } else if (strcmp(op, "http") == 0) {
        if (!(a1 = next_word(&line)))
            return "bad command: http METHOD URL";
        do_http(b, a1, rest(&line));
    } else if (strcmp(op, "print") == 0 || strcmp(op, "eprint") == 0) {
        FILE *f = op[0] == 'e' ? stderr : stdout;
        fprintf(f, "%s\n", rest(&line));
        fflush(f);
        put_op(b, "print");
        tc_buf_puts(b, "}");
    } else {
        return "unknown command: ";
    }
    return NULL;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    node_item_t *items = tc_xmalloc(input->len * sizeof *items);
    size_t done = 0;

    for (; done < input->len; done++) {
        char *line = tc_strndup0(input->ptr[done].json.ptr, input->ptr[done].json.len);
        const char *word;
        tc_buf_t b = {0};
        const char *refused = run(line, &b, &word);
        if (refused) {
            tc_buf_t msg = {0};
            tc_buf_puts(&msg, refused);
            if (strncmp(refused, "unknown", 7) == 0)
                tc_buf_puts(&msg, word);
            free(line);
            free(b.ptr);
            ret->tag = MARIE_NODE_TYPES_RESPONSE_ERR;
            ret->val.err_.ptr = msg.ptr;
            ret->val.err_.len = msg.len;
            goto out;
        }
        free(line);
        items[done].json.ptr = b.ptr;
        items[done].json.len = b.len;
        items[done].binary.is_some = false;
    }
    /* The post-return frees the list only when it is non-empty. */
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = done ? items : NULL;
    ret->val.ok.len = done;
    if (done)
        items = NULL;
out:
    if (items) {
        for (size_t i = 0; i < done; i++)
            node_item_free(&items[i]);
        free(items);
    }
    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
}
