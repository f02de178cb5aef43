/*
 * resolve.c - name resolution with a deadline (see resolve.h).
 */
#include "util/resolve.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error_int.h"

/* getaddrinfo cannot be timed out, so it runs on a detached thread; the
 * caller stops waiting at its deadline and whoever finishes last frees. */
typedef struct lookup {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int refs;
  bool done;
  int rc;
  struct addrinfo *res;
  char *host;
  char port[8];
} lookup_t;

static void lookup_release(lookup_t *l) {
  pthread_mutex_lock(&l->lock);
  bool last = --l->refs == 0;
  pthread_mutex_unlock(&l->lock);
  if (!last) return;
  if (l->res) freeaddrinfo(l->res);
  pthread_cond_destroy(&l->cond);
  pthread_mutex_destroy(&l->lock);
  free(l->host);
  free(l);
}

static void *lookup_thread(void *arg) {
  lookup_t *l = arg;
  /* No AI_ADDRCONFIG: every answer must be seen to be checked. */
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(l->host, l->port, &hints, &res);
  pthread_mutex_lock(&l->lock);
  l->rc = rc;
  l->res = rc == 0 ? res : NULL;
  l->done = true;
  pthread_cond_signal(&l->cond);
  pthread_mutex_unlock(&l->lock);
  lookup_release(l);
  return NULL;
}

mw_error_t *mw__resolve(const char *host, const char *port,
                        uint64_t deadline_ns, struct addrinfo **out) {
  *out = NULL;
  lookup_t *l = calloc(1, sizeof *l);
  if (!l || !(l->host = strdup(host))) {
    free(l);
    return mw__nomem();
  }
  snprintf(l->port, sizeof l->port, "%s", port);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&l->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&l->lock, NULL);
  l->refs = 2;
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
  pthread_t tid;
  int prc = pthread_create(&tid, &ta, lookup_thread, l);
  pthread_attr_destroy(&ta);
  if (prc != 0) {
    l->refs = 1;
    lookup_release(l);
    return mw_error_new(MW_ERR_BACKEND, "cannot resolve '%s': no thread",
                        host);
  }
  struct timespec abs = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
                         .tv_nsec = (long)(deadline_ns % 1000000000ull)};
  mw_error_t *err = NULL;
  pthread_mutex_lock(&l->lock);
  while (!l->done)
    if (pthread_cond_timedwait(&l->cond, &l->lock, &abs) == ETIMEDOUT) break;
  if (!l->done)
    err = mw_error_new(MW_ERR_BACKEND, "resolving '%s' timed out", host);
  else if (l->rc != 0)
    err = mw_error_new(MW_ERR_BACKEND, "cannot resolve '%s': %s", host,
                       gai_strerror(l->rc));
  else {
    *out = l->res;
    l->res = NULL;
  }
  pthread_mutex_unlock(&l->lock);
  lookup_release(l);
  return err;
}

