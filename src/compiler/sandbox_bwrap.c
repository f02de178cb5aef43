/*
 * sandbox_bwrap.c - the bubblewrap sandbox backend (see sandbox.h).
 *
 * The parent forks; the child sets rlimits, drops to an unprivileged uid
 * when started as root (so RLIMIT_NPROC counts only sandboxed processes and
 * nothing runs as host root), and execs bwrap with an empty environment.
 * bwrap builds the namespaces and mounts, loads our seccomp filter and runs
 * the program as pid 1's child in a new session. The parent collects
 * stdout/stderr up to a cap and kills the tree at the deadline (bwrap's
 * --die-with-parent and the pid namespace take every descendant with it).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/sandbox.h"
#include "util/buf.h"
#include "util/error_int.h"

#define BWRAP "/usr/bin/bwrap"
#define SANDBOX_UID 65534 /* nobody */
#define MAX_ARGS 512

void mw__sandbox_spec_defaults(mw_sandbox_spec_t *s) {
  memset(s, 0, sizeof *s);
  s->timeout_ms = 120000;
  s->cpu_seconds = 120;
  s->max_memory_bytes = 2ull << 30;
  s->max_processes = 256;
  s->max_file_bytes = 512ull << 20;
  s->max_open_files = 1024;
  s->max_output_bytes = 1u << 20;
}

void mw__sandbox_result_free(mw_sandbox_result_t *r) {
  if (!r) return;
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A seccomp filter in BPF form in a memfd, for bwrap --seccomp. Compilers
 * never need these; each is a known path out of a sandbox or into the
 * kernel's less-trodden code. */
static int make_seccomp_fd(void) {
  static const int denied[] = {
      SCMP_SYS(ptrace),          SCMP_SYS(process_vm_readv),
      SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
      SCMP_SYS(umount2),         SCMP_SYS(pivot_root),
      SCMP_SYS(chroot),          SCMP_SYS(swapon),
      SCMP_SYS(swapoff),         SCMP_SYS(reboot),
      SCMP_SYS(kexec_load),      SCMP_SYS(kexec_file_load),
      SCMP_SYS(init_module),     SCMP_SYS(finit_module),
      SCMP_SYS(delete_module),   SCMP_SYS(bpf),
      SCMP_SYS(perf_event_open), SCMP_SYS(keyctl),
      SCMP_SYS(add_key),         SCMP_SYS(request_key),
      SCMP_SYS(userfaultfd),     SCMP_SYS(setns),
      SCMP_SYS(unshare),         SCMP_SYS(open_by_handle_at),
      SCMP_SYS(name_to_handle_at), SCMP_SYS(kcmp),
      SCMP_SYS(acct),            SCMP_SYS(settimeofday),
      SCMP_SYS(clock_settime),   SCMP_SYS(syslog),
      SCMP_SYS(quotactl),        SCMP_SYS(fanotify_init),
      SCMP_SYS(io_uring_setup),  SCMP_SYS(personality),
  };
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -1;
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof denied / sizeof *denied; i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
  /* No network sockets even if a network ever appeared: only AF_UNIX. */
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  int fd = rc ? -1 : memfd_create("mw-seccomp", 0);
  if (fd >= 0 && (seccomp_export_bpf(ctx, fd) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
    close(fd);
    fd = -1;
  }
  seccomp_release(ctx);
  return fd;
}

typedef struct argv_builder {
  const char *v[MAX_ARGS + 1];
  size_t n;
  bool overflow;
} argv_builder_t;

static void arg(argv_builder_t *a, const char *s) {
  if (a->n < MAX_ARGS) a->v[a->n++] = s;
  else a->overflow = true;
  a->v[a->n] = NULL;
}

/* names[i] is the name part of s->env[i] ("NAME" of "NAME=value"). */
static void build_argv(argv_builder_t *a, const mw_sandbox_spec_t *s,
                       char *const *names, const char *seccomp_fd,
                       const char *info_fd) {
  arg(a, BWRAP);
  /* Every namespace, so no network, no host pids, no IPC; no new userns
   * inside; a new session so the program cannot inject into our tty. */
  arg(a, "--unshare-all");
  arg(a, "--unshare-user");
  arg(a, "--disable-userns");
  arg(a, "--die-with-parent");
  arg(a, "--new-session");
  arg(a, "--clearenv");
  /* The OS, read-only; no /etc beyond what dynamic linking needs, no home. */
  arg(a, "--ro-bind"), arg(a, "/usr"), arg(a, "/usr");
  arg(a, "--symlink"), arg(a, "usr/bin"), arg(a, "/bin");
  arg(a, "--symlink"), arg(a, "usr/sbin"), arg(a, "/sbin");
  arg(a, "--symlink"), arg(a, "usr/lib"), arg(a, "/lib");
  arg(a, "--symlink"), arg(a, "usr/lib64"), arg(a, "/lib64");
  arg(a, "--ro-bind-try"), arg(a, "/etc/ld.so.cache"), arg(a, "/etc/ld.so.cache");
  arg(a, "--ro-bind-try"), arg(a, "/etc/alternatives"), arg(a, "/etc/alternatives");
  arg(a, "--proc"), arg(a, "/proc");
  arg(a, "--dev"), arg(a, "/dev");
  arg(a, "--tmpfs"), arg(a, "/tmp");
  for (const char *const *p = s->ro_binds; p && *p; p++)
    arg(a, "--ro-bind"), arg(a, *p), arg(a, *p);
  arg(a, "--bind"), arg(a, s->workdir), arg(a, "/build");
  arg(a, "--chdir"), arg(a, "/build");
  for (size_t i = 0; s->env && s->env[i]; i++)
    arg(a, "--setenv"), arg(a, names[i]), arg(a, strchr(s->env[i], '=') + 1);
  arg(a, "--seccomp"), arg(a, seccomp_fd);
  /* bwrap reports the pid of the sandbox's init here: the one to kill at
   * the deadline (see bwrap_run). */
  arg(a, "--info-fd"), arg(a, info_fd);
  arg(a, "--");
  for (const char *const *p = s->argv; p && *p; p++) arg(a, *p);
}

/* Child side: never returns. */
static void child(const mw_sandbox_spec_t *s, char *const argv[], int out_fd,
                  int err_fd, int seccomp_fd, int info_fd) {
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  /* Close everything but stdio and the seccomp fd. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != seccomp_fd && fd != info_fd) close(fd);
  fcntl(info_fd, F_SETFD, 0);
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = s->cpu_seconds;
  setrlimit(RLIMIT_CPU, &rl);
  rl.rlim_cur = rl.rlim_max = s->max_memory_bytes;
  setrlimit(RLIMIT_DATA, &rl);
  rl.rlim_cur = rl.rlim_max = s->max_processes;
  setrlimit(RLIMIT_NPROC, &rl);
  rl.rlim_cur = rl.rlim_max = s->max_file_bytes;
  setrlimit(RLIMIT_FSIZE, &rl);
  rl.rlim_cur = rl.rlim_max = s->max_open_files;
  setrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max = 0;
  setrlimit(RLIMIT_CORE, &rl);
  /* Never run user code as host root: drop to nobody. */
  if (getuid() == 0 &&
      (setgroups(0, NULL) != 0 || setgid(SANDBOX_UID) != 0 ||
       setuid(SANDBOX_UID) != 0)) {
    dprintf(STDERR_FILENO, "sandbox: cannot drop privileges: %s\n",
            strerror(errno));
    _exit(MW_SANDBOX_EXIT_SETUP);
  }
  /* bwrap resolves mount sources as this uid: say which one it cannot
   * reach rather than leave bwrap's terse "Can't find source path". */
  for (const char *const *p = s->ro_binds; p && *p; p++)
    if (access(*p, R_OK) != 0) {
      dprintf(STDERR_FILENO,
              "sandbox: %s is not readable by the sandbox user (uid %d): %s"
              " (install toolchains where every user can read them)\n",
              *p, (int)getuid(), strerror(errno));
      _exit(MW_SANDBOX_EXIT_SETUP);
    }
  char *const envp[] = {NULL};
  execve(BWRAP, argv, envp);
  dprintf(STDERR_FILENO, "sandbox: cannot run %s: %s\n", BWRAP, strerror(errno));
  _exit(127);
}

/* Reads what is available from fd into b (up to its max; the rest is read
 * and dropped). false at end of file. */
static bool drain(int fd, mw_buf_t *b, bool *truncated) {
  char chunk[16384];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  size_t room = b->max - b->len;
  if ((size_t)n > room) *truncated = true;
  mw__buf_append(b, chunk, (size_t)n < room ? (size_t)n : room);
  return true;
}

/* The host pid of the sandbox's init ("child-pid" in what bwrap wrote to
 * its info fd), or 0 when bwrap has not got that far. buf keeps what was
 * read so far across calls. */
static pid_t read_sandbox_pid(int fd, char *buf, size_t *len, size_t cap) {
  ssize_t n;
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  while (*len + 1 < cap && (n = read(fd, buf + *len, cap - 1 - *len)) > 0)
    *len += (size_t)n;
  buf[*len] = '\0';
  const char *p = strstr(buf, "\"child-pid\"");
  if (!p || !(p = strchr(p, ':'))) return 0;
  long v = strtol(p + 1, NULL, 10);
  return v > 1 ? (pid_t)v : 0;
}

/* Kills the sandbox at its deadline; true when bwrap was reaped (*status). Killing the sandbox's init takes
 * every process in its pid namespace with it, and bwrap (our child), still
 * alive, reaps it and exits: nothing is left for the host's init to reap.
 * bwrap itself is killed only if it does not exit by itself. */
static bool kill_tree(pid_t bwrap, pid_t sandbox_init, int *status) {
  if (sandbox_init > 0 && kill(sandbox_init, SIGKILL) == 0) {
    for (int i = 0; i < 200; i++) { /* up to 2 s */
      if (waitpid(bwrap, status, WNOHANG) == bwrap) return true;
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  kill(bwrap, SIGKILL); /* --die-with-parent takes the rest down */
  return false;
}

static mw_error_t *bwrap_run(const mw_sandbox_spec_t *s, mw_sandbox_result_t *res) {
  memset(res, 0, sizeof *res);
  if (!s->argv || !s->argv[0] || !s->workdir)
    return mw_error_new(MW_ERR_MISUSE, "sandbox: argv and workdir are required");
  if (access(BWRAP, X_OK) != 0)
    return mw_error_new(MW_ERR_BACKEND, "sandbox: %s not found (install bubblewrap)",
                        BWRAP);
  /* The work dir must be the sandbox uid's to write in. */
  if (getuid() == 0 && chown(s->workdir, SANDBOX_UID, SANDBOX_UID) != 0)
    return mw_error_new(MW_ERR_IO, "sandbox: %s: %s", s->workdir, strerror(errno));

  mw_error_t *err = NULL;
  int seccomp_fd = make_seccomp_fd();
  int out[2] = {-1, -1}, errp[2] = {-1, -1}, info[2] = {-1, -1};
  char fdtext[16], infotext[16];
  argv_builder_t a = {.n = 0};
  char **names = NULL; /* --setenv names, split from "NAME=value" */
  size_t n_env = 0;
  mw_buf_t ob, eb;
  mw__buf_init(&ob, s->max_output_bytes);
  mw__buf_init(&eb, s->max_output_bytes);
  if (seccomp_fd < 0) {
    err = mw_error_new(MW_ERR_BACKEND, "sandbox: cannot build the seccomp filter");
    goto out;
  }
  snprintf(fdtext, sizeof fdtext, "%d", seccomp_fd);
  for (const char *const *e = s->env; e && *e; e++, n_env++)
    if (!strchr(*e, '=')) {
      err = mw_error_new(MW_ERR_MISUSE, "sandbox: env entry without '='");
      goto out;
    }
  if (!(names = calloc(n_env + 1, sizeof *names))) {
    err = mw__nomem();
    goto out;
  }
  for (size_t i = 0; i < n_env; i++)
    if (!(names[i] = strndup(s->env[i], (size_t)(strchr(s->env[i], '=') - s->env[i])))) {
      err = mw__nomem();
      goto out;
    }
  if (pipe2(info, O_CLOEXEC) != 0) {
    err = mw_error_new(MW_ERR_BACKEND, "sandbox: %s", strerror(errno));
    goto out;
  }
  snprintf(infotext, sizeof infotext, "%d", info[1]);
  build_argv(&a, s, names, fdtext, infotext);
  if (a.overflow) {
    err = mw_error_new(MW_ERR_MISUSE, "sandbox: too many arguments");
    goto out;
  }
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
    err = mw_error_new(MW_ERR_BACKEND, "sandbox: %s", strerror(errno));
    goto out;
  }
  uint64_t start = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    err = mw_error_new(MW_ERR_BACKEND, "sandbox: fork: %s", strerror(errno));
    goto out;
  }
  if (pid == 0) child(s, (char *const *)a.v, out[1], errp[1], seccomp_fd, info[1]);
  close(out[1]), out[1] = -1;
  close(errp[1]), errp[1] = -1;
  close(info[1]), info[1] = -1;
  char info_text[512];
  size_t info_len = 0;

  bool open_out = true, open_err = true, truncated = false, reaped = false;
  int status = 0;
  while (open_out || open_err) {
    uint64_t elapsed = now_ms() - start;
    if (elapsed >= s->timeout_ms) {
      res->timed_out = true;
      reaped = kill_tree(pid, read_sandbox_pid(info[0], info_text, &info_len,
                                               sizeof info_text), &status);
      break;
    }
    struct pollfd pfd[2] = {{open_out ? out[0] : -1, POLLIN, 0},
                            {open_err ? errp[0] : -1, POLLIN, 0}};
    int timeout = (int)(s->timeout_ms - elapsed);
    if (poll(pfd, 2, timeout > 100 ? 100 : timeout) < 0 && errno != EINTR) break;
    if (open_out && (pfd[0].revents & (POLLIN | POLLHUP)))
      open_out = drain(out[0], &ob, &truncated);
    if (open_err && (pfd[1].revents & (POLLIN | POLLHUP)))
      open_err = drain(errp[0], &eb, &truncated);
  }
  while (!reaped && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res->wall_ms = now_ms() - start;
  res->output_truncated = truncated;
  if (WIFEXITED(status)) {
    res->exit_code = WEXITSTATUS(status);
  } else {
    res->exit_code = -1;
    res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  res->out = mw__buf_take(&ob, &res->out_len);
  res->err = mw__buf_take(&eb, &res->err_len);
  if (!res->out || !res->err) err = mw__nomem();
out:
  mw__buf_free(&ob);
  mw__buf_free(&eb);
  for (size_t i = 0; names && i < n_env; i++) free(names[i]);
  free(names);
  for (int i = 0; i < 2; i++) {
    if (out[i] >= 0) close(out[i]);
    if (errp[i] >= 0) close(errp[i]);
    if (info[i] >= 0) close(info[i]);
  }
  if (seccomp_fd >= 0) close(seccomp_fd);
  return err;
}

const mw_sandbox_vtable_t mw__sandbox_bwrap = {"bubblewrap", bwrap_run};
