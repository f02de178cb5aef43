/*
 * test_sandbox.c - the compile sandbox contains what untrusted build steps
 * might try: network access, reading host files, writing outside the work
 * dir, fork bombs, endless output, running past the timeout.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/sandbox.h"
#include "test_util.h"

static char workdir[64];

/* Processes owned by uid: live ones, or zombies (exited, not yet reaped:
 * an orphaned sandbox process that has exited waits as a zombie until the
 * host's init reaps it; it runs nothing and holds nothing but its pid). */
static int processes_of_uid(uid_t uid, bool zombies, const char *marker) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d))) {
    char path[300], stat_line[512];
    struct stat st;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s", e->d_name);
    if (stat(path, &st) != 0 || st.st_uid != uid) continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    const char *paren = NULL;
    if (fgets(stat_line, sizeof stat_line, f)) paren = strrchr(stat_line, ')');
    fclose(f);
    if (!paren || paren[1] != ' ' || (paren[2] == 'Z') != zombies) continue;
    if (marker) { /* only processes whose command line has it */
      char cmd[4096];
      snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
      FILE *c = fopen(path, "r");
      size_t len = c ? fread(cmd, 1, sizeof cmd - 1, c) : 0;
      if (c) fclose(c);
      for (size_t i = 0; i < len; i++)
        if (!cmd[i]) cmd[i] = ' ';
      cmd[len] = '\0';
      if (!strstr(cmd, marker)) continue;
    }
    n++;
  }
  if (d) closedir(d);
  return n;
}

/* Zombies of uid that stay for 2 s (others' sandboxes may be exiting
 * right now; theirs are reaped at once). */
static int lasting_zombies_of_uid(uid_t uid) {
  int n = 0;
  for (int i = 0; i < 20 && (n = processes_of_uid(uid, true, NULL)) > 0; i++) usleep(100000);
  return n;
}

static int setup(void **state) {
  (void)state;
  snprintf(workdir, sizeof workdir, "/tmp/mw-sandbox-XXXXXX");
  return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/ok.txt", workdir);
  unlink(path);
  return rmdir(workdir);
}

static mw_sandbox_result_t sh(const char *script, mw_sandbox_spec_t *spec_in) {
  mw_sandbox_spec_t spec;
  if (spec_in) spec = *spec_in;
  else mw__sandbox_spec_defaults(&spec);
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  const char *env[] = {"HOME=/build", "PATH=/usr/bin:/bin", "MW_TEST=1", NULL};
  spec.argv = argv;
  spec.env = env;
  spec.workdir = workdir;
  mw_sandbox_result_t res;
  TU_OK(mw__sandbox_bwrap.run(&spec, &res));
  return res;
}

static void runs_unprivileged_with_only_given_env(void **state) {
  (void)state;
  mw_sandbox_result_t r = sh("id -u; env | sort; echo hi > /build/ok.txt", NULL);
  assert_int_equal(r.exit_code, 0);
  if (getuid() == 0) assert_non_null(strstr(r.out, "65534\n"));
  assert_non_null(strstr(r.out, "MW_TEST=1"));
  assert_null(strstr(r.out, "TERM=")); /* nothing inherited */
  char path[128];
  snprintf(path, sizeof path, "%s/ok.txt", workdir);
  assert_int_equal(access(path, F_OK), 0); /* the work dir is writable */
  mw__sandbox_result_free(&r);
}

static void host_files_are_invisible_and_read_only(void **state) {
  (void)state;
  mw_sandbox_result_t r = sh(
      "cat /etc/shadow; ls /root; ls /home; touch /usr/evil; touch /evil;"
      " ls /etc", NULL);
  assert_null(strstr(r.out, "root:")); /* no shadow entries */
  assert_non_null(strstr(r.err, "/etc/shadow: No such file"));
  assert_non_null(strstr(r.err, "'/usr/evil': Read-only file system"));
  assert_int_equal(access("/usr/evil", F_OK), -1);
  mw__sandbox_result_free(&r);
}

static void no_network(void **state) {
  (void)state;
  /* A listener on the host's loopback that must never see a connection. */
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  assert_int_equal(listen(ls, 4), 0);
  char script[512];
  snprintf(script, sizeof script,
           "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 2)'"
           " && echo CONNECTED; cat /sys/class/net/*/address 2>/dev/null | wc -l",
           ntohs(a.sin_port));
  mw_sandbox_result_t r = sh(script, NULL);
  assert_null(strstr(r.out, "CONNECTED"));
  assert_non_null(strstr(r.err, "Error")); /* python's refusal */
  mw__sandbox_result_free(&r);
  /* Nothing reached the listener. */
  struct timeval tv = {0, 100000};
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(ls, &fds);
  assert_int_equal(select(ls + 1, &fds, NULL, NULL, &tv), 0);
  close(ls);
}

static void fork_bomb_is_contained(void **state) {
  (void)state;
  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  spec.max_processes = 32;
  spec.timeout_ms = 3000;
  /* The marker tells this bomb's processes from other sandboxes' (tests
   * run in parallel, all as the sandbox uid). */
  char script[128], marker[48];
  snprintf(marker, sizeof marker, "mw-bomb-%d", (int)getpid());
  snprintf(script, sizeof script, ": %s; f() { f | f & }; f; sleep 10", marker);
  mw_sandbox_result_t r = sh(script, &spec);
  assert_true(r.timed_out || r.exit_code != 0);
  assert_true(r.wall_ms < 6000);
  mw__sandbox_result_free(&r);
  /* Nothing of the sandbox survives it: the pid namespace is torn down
   * (the kernel may take a moment to reap thousands of processes). */
  int left = -1;
  for (int i = 0; i < 100 && left != 0; i++) {
    left = getuid() == 0 ? processes_of_uid(65534, false, marker) : 0;
    if (left) usleep(100000);
  }
  assert_int_equal(left, 0);
}

static void endless_output_is_capped(void **state) {
  (void)state;
  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  spec.max_output_bytes = 4096;
  spec.timeout_ms = 1500;
  mw_sandbox_result_t r = sh("yes", &spec);
  assert_true(r.output_truncated);
  assert_int_equal(r.out_len, 4096);
  assert_true(r.timed_out);
  mw__sandbox_result_free(&r);
}

static void sleeping_past_the_timeout_is_killed(void **state) {
  (void)state;
  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  spec.timeout_ms = 500;
  mw_sandbox_result_t r = sh("sleep 30", &spec);
  assert_true(r.timed_out);
  assert_true(r.wall_ms >= 500 && r.wall_ms < 3000);
  mw__sandbox_result_free(&r);
  /* Nothing is left behind, not even a zombie for the host's init. */
  if (getuid() == 0) assert_int_equal(lasting_zombies_of_uid(65534), 0);
}

/* A read-only path the sandbox uid cannot read (a toolchain under root's
 * home) is refused up front with a message naming it; a readable one is
 * usable and stays read-only. */
static void read_only_paths_are_usable_or_named(void **state) {
  (void)state;
  char priv[64], tool[96], script[160], cmd[400];
  snprintf(priv, sizeof priv, "/tmp/mw-private-XXXXXX");
  assert_non_null(mkdtemp(priv));
  assert_int_equal(chmod(priv, 0755), 0);
  snprintf(tool, sizeof tool, "%s/toolchain", priv);
  assert_int_equal(mkdir(tool, 0755), 0);
  snprintf(script, sizeof script, "%s/tool.sh", tool);
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fputs("echo tool-ran\n", f);
  fclose(f);
  assert_int_equal(chmod(script, 0644), 0);

  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  const char *binds[] = {tool, NULL};
  spec.ro_binds = binds;
  snprintf(cmd, sizeof cmd, "sh %s && (echo x > %s/new || echo denied)", script, tool);
  mw_sandbox_result_t r = sh(cmd, &spec);
  assert_int_equal(r.exit_code, 0);
  assert_non_null(strstr(r.out, "tool-ran\n"));
  assert_non_null(strstr(r.out, "denied\n"));
  mw__sandbox_result_free(&r);

  if (getuid() == 0) { /* only root's sandbox runs as another uid */
    assert_int_equal(chmod(priv, 0700), 0);
    r = sh(cmd, &spec);
    assert_int_equal(r.exit_code, MW_SANDBOX_EXIT_SETUP);
    assert_non_null(strstr(r.err, tool));
    assert_non_null(strstr(r.err, "not readable by the sandbox user"));
    mw__sandbox_result_free(&r);
  }
  unlink(script);
  rmdir(tool);
  rmdir(priv);
}

static void huge_files_hit_the_file_limit(void **state) {
  (void)state;
  mw_sandbox_spec_t spec;
  mw__sandbox_spec_defaults(&spec);
  spec.max_file_bytes = 1 << 20;
  mw_sandbox_result_t r = sh("head -c 5000000 /dev/zero > /build/big; echo rc=$?", &spec);
  char path[128];
  snprintf(path, sizeof path, "%s/big", workdir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size <= 1 << 20);
  unlink(path);
  mw__sandbox_result_free(&r);
}

int main(void) {
  if (access("/usr/bin/bwrap", X_OK) != 0) {
    fprintf(stderr, "bubblewrap is not installed\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(runs_unprivileged_with_only_given_env),
      cmocka_unit_test(host_files_are_invisible_and_read_only),
      cmocka_unit_test(no_network),
      cmocka_unit_test(fork_bomb_is_contained),
      cmocka_unit_test(endless_output_is_capped),
      cmocka_unit_test(sleeping_past_the_timeout_is_killed),
      cmocka_unit_test(huge_files_hit_the_file_limit),
      cmocka_unit_test(read_only_paths_are_usable_or_named),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
