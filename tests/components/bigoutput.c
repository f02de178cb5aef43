/*
 * bigoutput — returns ok with N items, each json the same 1 KiB JSON string
 * value ("aaa…a", 1024 bytes with the quotes). N is the first decimal number
 * in env.vars (so "5", "{\"N\":5}" and "N=5" all work); 100000 when there is
 * none. Proves that the host enforces its output-size limit (100000 items
 * are ~100 MiB once lifted) independently of the guest's memory limit.
 *
 * All items point at one shared buffer, so the guest needs only ~N*20 bytes.
 * The generated post-return would free every item's string, so this file
 * replaces it (the bindings define it as a weak symbol for that purpose)
 * with one that frees exactly what execute allocated.
 */
#include <stdlib.h>
#include <string.h>

#include "guest_util.h"
#include "node.h"

#define DEFAULT_COUNT 100000
#define MAX_COUNT 4000000 /* bound before arithmetic: 4M items ~ 80 MB of list */
#define ITEM_SIZE 1024

static node_item_t *items;
static uint8_t *json;

static size_t count_from_vars(const node_string_t *vars)
{
    size_t i = 0, n = 0;

    while (i < vars->len && (vars->ptr[i] < '0' || vars->ptr[i] > '9'))
        i++;
    if (i == vars->len)
        return DEFAULT_COUNT;
    for (; i < vars->len && vars->ptr[i] >= '0' && vars->ptr[i] <= '9'; i++) {
        n = n * 10 + (size_t)(vars->ptr[i] - '0');
        if (n > MAX_COUNT)
            return MAX_COUNT;
    }
    return n;
}

void exports_node_execute(node_list_item_t *input, node_env_t *env, node_context_t *ctx,
                          node_response_t *ret)
{
    size_t count = count_from_vars(&env->vars);

    node_list_item_free(input);
    node_env_free(env);
    node_context_free(ctx);
    json = tc_xmalloc(ITEM_SIZE);
    memset(json, 'a', ITEM_SIZE);
    json[0] = '"';
    json[ITEM_SIZE - 1] = '"';
    items = tc_xmalloc(count * sizeof *items);
    for (size_t i = 0; i < count; i++) {
        items[i].json.ptr = json;
        items[i].json.len = ITEM_SIZE;
        items[i].binary.is_some = false;
    }
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = items;
    ret->val.ok.len = count;
}

/* Runs after the host has copied the response out (canonical ABI
 * post-return); replaces the generated weak definition. */
__attribute__((__export_name__("cabi_post_execute")))
void __wasm_export_exports_node_execute_post_return(uint8_t *ret_area)
{
    (void)ret_area;
    free(items);
    free(json);
    items = NULL;
    json = NULL;
}
