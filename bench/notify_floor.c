/* The floor of tracing by seccomp user notification (bench/trace.sh, variant "floor"): runs a
 * command with every openat sent to a listener whose threads answer at once, recording nothing.
 * What remains is the cost of the notifications themselves: the tracer cannot be cheaper.
 * Usage: notify_floor sync|plain CMD [ARGS...]
 *   sync:  synchronous wake-ups, one answering thread (the tracer's way for one caller at a time)
 *   plain: ordinary wake-ups, two answering threads (its way for callers side by side) */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int listener;

static void *answer(void *unused) {
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  (void)unused;
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return NULL;
    }
    resp.id = req.id;
    resp.val = 0;
    resp.error = 0;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

int main(int argc, char **argv) {
  int pair[2], child_fd, status;
  pthread_t thread;
  if (argc < 3 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 2;
  int sync = strcmp(argv[1], "sync") == 0;
  pid_t pid = fork();
  if (pid == 0) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    char go;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(126);
    int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0) _exit(126);
    /* The parent copies the listener (pidfd_getfd), then says go. */
    if (write(pair[1], &fd, sizeof fd) != sizeof fd || read(pair[1], &go, 1) != 1) _exit(126);
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  if (pid < 0 || read(pair[0], &child_fd, sizeof child_fd) != sizeof child_fd) return 2;
  int pidfd = syscall(SYS_pidfd_open, pid, 0);
  listener = syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
  if (listener < 0 || (sync && ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL) != 0)) {
    perror("notify_floor: listener");
    return 2;
  }
  for (int i = 0; i < (sync ? 1 : 2); i++) pthread_create(&thread, NULL, answer, NULL);
  if (write(pair[0], "g", 1) != 1 || waitpid(pid, &status, 0) != pid) return 2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
