/*
 * done_item.h — sets an ok response holding the single item {"done":true};
 * shared by the flood components, which report completion this way.
 */
#ifndef MW_TEST_DONE_ITEM_H
#define MW_TEST_DONE_ITEM_H

#include "guest_util.h"
#include "node.h"

static inline void tc_respond_done(node_response_t *ret)
{
    node_item_t *item = tc_xmalloc(sizeof *item);
    /* dup, not set: the post-return frees every string with free(). */
    node_string_dup(&item->json, "{\"done\":true}");
    item->binary.is_some = false;
    ret->tag = MARIE_NODE_TYPES_RESPONSE_OK;
    ret->val.ok.ptr = item;
    ret->val.ok.len = 1;
}

#endif
