/*
 * marie_wasm/runner.h - executions on a pool of threads, for event loops.
 *
 * An event loop (Python's asyncio, libuv, ...) must not block in
 * mw_execute. A runner owns threads that execute submitted requests; each
 * finished execution becomes a completion, and the runner's descriptor
 * turns readable while completions wait to be taken. The loop watches the
 * descriptor, takes the completions and matches them to its callers by
 * tag. The runner's threads run only C: a binding's interpreter lock is
 * never needed to execute.
 *
 * Thread-safe: any thread may submit and take.
 */
#ifndef MARIE_WASM_RUNNER_H
#define MARIE_WASM_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "error.h"
#include "execute.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_runner mw_runner_t;

/* One finished execution, owned by the taker: either error (mw_execute's
 * error) or the result -- as result, or with MW_RUNNER_PACK as packed
 * (mw_result_pack's buffer, freed with free()). */
typedef struct mw_completion {
  uint64_t tag;
  mw_result_t *result;
  void *packed;
  size_t packed_len;
  mw_error_t *error;
} mw_completion_t;

/* The runner's threads pack each result (mw_result_pack) and free it:
 * the taker's thread then reads one buffer, and only that buffer crosses
 * threads (cheaper for malloc than a result's many blocks). */
#define MW_RUNNER_PACK 1u

/* A runner with `threads` threads (0: one per online CPU) and flags
 * (MW_RUNNER_PACK or 0). Errors: MW_ERR_NOMEM, MW_ERR_LIMIT for more than
 * 1024 threads, MW_ERR_ENGINE when a thread or the descriptor cannot be
 * made. */
MW_API mw_error_t *mw_runner_new(unsigned threads, unsigned flags,
                                 mw_runner_t **out);

/* Readable (poll/epoll) while completions wait. Owned by the runner. */
MW_API int mw_runner_fd(const mw_runner_t *r);

/* Queues an execution of c with req. On success the runner owns req (and
 * frees it after the execution); engine, c, and the permissions and host
 * set on req are borrowed until this tag's completion has been taken.
 * Errors: MW_ERR_MISUSE for NULL arguments or after mw_runner_shutdown;
 * MW_ERR_NOMEM. The caller keeps req on error. */
MW_API mw_error_t *mw_runner_submit(mw_runner_t *r, mw_engine_t *engine,
                                    const mw_component_t *c,
                                    mw_request_t *req, uint64_t tag);

/* Moves up to max completions into out, oldest first; returns how many.
 * Never blocks. The descriptor stays readable while more remain. */
MW_API size_t mw_runner_take(mw_runner_t *r, mw_completion_t *out,
                             size_t max);

/* Refuses new submissions and blocks until everything submitted has been
 * executed; the completions stay to be taken. Idempotent. */
MW_API void mw_runner_shutdown(mw_runner_t *r);

/* mw_runner_shutdown, then stops the threads and frees the runner with any
 * completions not taken. */
MW_API void mw_runner_free(mw_runner_t *r);

#ifdef __cplusplus
}
#endif
#endif
