/*
 * runner.c - mw_runner_t: a fixed set of threads executing queued requests,
 * with completions announced on an eventfd.
 *
 * The eventfd is written when the completion list goes from empty to
 * non-empty and drained when a take empties it, both under the lock, so it
 * is readable exactly while completions wait: one wake-up of the loop can
 * carry many completions.
 *
 * Waking a sleeping thread costs two context switches, more than a small
 * execution on some VMs. So a thread that runs out of work first spins a
 * short while for the next submission (one thread at a time;
 * submissions do not wake anyone while it spins, and a thread that takes
 * a job and sees more queued wakes the next): a loop submitting back to
 * back feeds it without a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/runtime_int.h"
#include "util/error_int.h"

typedef struct job {
  struct job *next;
  mw_engine_t *engine;
  const mw_component_t *c;
  mw_request_t *req; /* owned */
  mw_completion_t done;
} job_t;

struct mw_runner {
  pthread_mutex_t lock;
  pthread_cond_t work; /* a job was queued, or stop */
  pthread_cond_t idle; /* outstanding reached 0 */
  job_t *queue_head, *queue_tail;
  job_t *done_head, *done_tail;
  size_t outstanding; /* queued + running */
  atomic_size_t queued; /* jobs in the queue, read without the lock */
  bool spinning;        /* a thread spins for the next job */
  bool closed;        /* no more submissions */
  bool stop;          /* threads exit once the queue is empty */
  int fd;
  unsigned flags;
  pthread_t *threads;
  unsigned n_threads;
};

static void signal_fd(int fd) {
  uint64_t one = 1;
  /* Cannot fail short of a bad descriptor: the counter stays far from its
   * maximum because it is drained whenever the list empties. */
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

static void drain_fd(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

/* How long a thread out of work spins before it sleeps. */
#define SPIN_NS 50000u

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Called and returns with the lock held; the lock is dropped while
 * spinning. */
static void spin_for_work(mw_runner_t *r) {
  r->spinning = true;
  pthread_mutex_unlock(&r->lock);
  uint64_t until = mw__now_ns() + SPIN_NS;
  for (unsigned i = 0; !atomic_load_explicit(&r->queued, memory_order_relaxed); i++) {
    cpu_relax();
    if ((i & 63) == 63 && mw__now_ns() >= until) break;
  }
  pthread_mutex_lock(&r->lock);
  r->spinning = false;
}

static void *worker(void *arg) {
  mw_runner_t *r = arg;
  for (;;) {
    pthread_mutex_lock(&r->lock);
    if (!r->queue_head && !r->stop && !r->spinning) spin_for_work(r);
    while (!r->queue_head && !r->stop) pthread_cond_wait(&r->work, &r->lock);
    job_t *j = r->queue_head;
    if (!j) {
      pthread_mutex_unlock(&r->lock);
      return NULL;
    }
    if (!(r->queue_head = j->next)) r->queue_tail = NULL;
    atomic_fetch_sub_explicit(&r->queued, 1, memory_order_relaxed);
    /* Submissions made while a thread spun woke nobody: pass the rest on
     * to a sleeping thread rather than run them after this one. */
    if (r->queue_head) pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->lock);

    j->done.error = mw_execute(j->engine, j->c, j->req, &j->done.result);
    if (j->done.error) j->done.result = NULL;
    if (j->done.result && (r->flags & MW_RUNNER_PACK)) {
      j->done.packed = mw_result_pack(j->done.result, &j->done.packed_len);
      mw_result_free(j->done.result);
      j->done.result = NULL;
      if (!j->done.packed) j->done.error = mw__nomem();
    }
    mw_request_free(j->req);
    j->req = NULL;
    j->next = NULL;

    pthread_mutex_lock(&r->lock);
    bool was_empty = r->done_head == NULL;
    if (r->done_tail)
      r->done_tail->next = j;
    else
      r->done_head = j;
    r->done_tail = j;
    if (was_empty) signal_fd(r->fd);
    if (--r->outstanding == 0) pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->lock);
  }
}

mw_error_t *mw_runner_new(unsigned threads, unsigned flags, mw_runner_t **out) {
  if (!out) return mw_error_new(MW_ERR_MISUSE, "NULL out");
  if (flags & ~MW_RUNNER_PACK)
    return mw_error_new(MW_ERR_MISUSE, "runner: unknown flags %#x", flags);
  *out = NULL;
  if (threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (unsigned)n : 1;
  }
  if (threads > 1024)
    return mw_error_new(MW_ERR_LIMIT, "runner: %u threads (at most 1024)", threads);
  mw_runner_t *r = calloc(1, sizeof *r);
  if (!r || !(r->threads = calloc(threads, sizeof *r->threads))) {
    free(r);
    return mw__nomem();
  }
  r->flags = flags;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->work, NULL);
  pthread_cond_init(&r->idle, NULL);
  if ((r->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
    int e = errno;
    mw_runner_free(r);
    return mw_error_new(MW_ERR_ENGINE, "runner: eventfd: %s", strerror(e));
  }
  for (; r->n_threads < threads; r->n_threads++) {
    int e = pthread_create(&r->threads[r->n_threads], NULL, worker, r);
    if (e) {
      mw_runner_free(r);
      return mw_error_new(MW_ERR_ENGINE, "runner: thread: %s", strerror(e));
    }
  }
  *out = r;
  return NULL;
}

int mw_runner_fd(const mw_runner_t *r) { return r ? r->fd : -1; }

mw_error_t *mw_runner_submit(mw_runner_t *r, mw_engine_t *engine,
                             const mw_component_t *c, mw_request_t *req,
                             uint64_t tag) {
  if (!r || !engine || !c || !req) return mw_error_new(MW_ERR_MISUSE, "NULL argument");
  job_t *j = calloc(1, sizeof *j);
  if (!j) return mw__nomem();
  *j = (job_t){.engine = engine, .c = c, .req = req, .done = {.tag = tag}};
  pthread_mutex_lock(&r->lock);
  if (r->closed) {
    pthread_mutex_unlock(&r->lock);
    free(j);
    return mw_error_new(MW_ERR_MISUSE, "runner: shut down");
  }
  if (r->queue_tail)
    r->queue_tail->next = j;
  else
    r->queue_head = j;
  r->queue_tail = j;
  r->outstanding++;
  atomic_fetch_add_explicit(&r->queued, 1, memory_order_relaxed);
  if (!r->spinning) pthread_cond_signal(&r->work);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

size_t mw_runner_take(mw_runner_t *r, mw_completion_t *out, size_t max) {
  if (!r || !out) return 0;
  size_t n = 0;
  pthread_mutex_lock(&r->lock);
  while (n < max && r->done_head) {
    job_t *j = r->done_head;
    if (!(r->done_head = j->next)) r->done_tail = NULL;
    out[n++] = j->done;
    free(j);
  }
  if (!r->done_head) drain_fd(r->fd);
  pthread_mutex_unlock(&r->lock);
  return n;
}

void mw_runner_shutdown(mw_runner_t *r) {
  if (!r) return;
  pthread_mutex_lock(&r->lock);
  r->closed = true;
  while (r->outstanding) pthread_cond_wait(&r->idle, &r->lock);
  pthread_mutex_unlock(&r->lock);
}

void mw_runner_free(mw_runner_t *r) {
  if (!r) return;
  mw_runner_shutdown(r);
  pthread_mutex_lock(&r->lock);
  r->stop = true;
  atomic_fetch_add_explicit(&r->queued, 1, memory_order_relaxed); /* end a spin */
  pthread_cond_broadcast(&r->work);
  pthread_mutex_unlock(&r->lock);
  for (unsigned i = 0; i < r->n_threads; i++) pthread_join(r->threads[i], NULL);
  for (job_t *j = r->done_head, *next; j; j = next) {
    next = j->next;
    mw_result_free(j->done.result);
    free(j->done.packed);
    mw_error_free(j->done.error);
    free(j);
  }
  if (r->fd >= 0) close(r->fd);
  pthread_cond_destroy(&r->idle);
  pthread_cond_destroy(&r->work);
  pthread_mutex_destroy(&r->lock);
  free(r->threads);
  free(r);
}
