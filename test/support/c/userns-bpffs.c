// userns-bpffs UID DELEGATE PROGRAM [ARGS...]: runs PROGRAM as user UID
// (no capabilities in the initial user namespace) in new user, mount and
// network namespaces where it is root, with fd 3 a bpffs mount that this
// (privileged) parent created for that user namespace with
// delegate_cmds/maps/progs/attachs=DELEGATE ("" delegates nothing). The
// kernel's token setup, done by hand: the child opens the bpffs context in
// its namespace (fsopen), the parent sets the delegation (which needs
// CAP_SYS_ADMIN in the initial namespace), creates and mounts it, and hands
// the mount back. Exits with PROGRAM's status; 100+ when the setup failed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, int code) {
	fprintf(stderr, "userns-bpffs: %s: %s\n", what, strerror(errno));
	exit(code);
}

static void send_fd(int sock, int fd) {
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1) die("sendmsg", 101);
}

static int recv_fd(int sock) {
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &msg, 0) != 1) die("recvmsg", 102);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		errno = EPROTO;
		die("recvmsg: no fd", 102);
	}
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void write_file(const char *path, const char *text) {
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path, 103);
	close(fd);
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: userns-bpffs UID DELEGATE PROGRAM [ARGS...]\n");
		return 100;
	}
	uid_t uid = (uid_t)atoi(argv[1]);
	const char *delegate = argv[2];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair", 100);
	pid_t pid = fork();
	if (pid < 0) die("fork", 100);
	if (pid == 0) {
		close(sv[0]);
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) die("dropping root", 104);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); // so that /proc/self/uid_map stays ours to write
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET)) die("unshare", 105);
		char map[64];
		snprintf(map, sizeof(map), "0 %u 1\n", uid);
		write_file("/proc/self/uid_map", map);
		write_file("/proc/self/setgroups", "deny");
		write_file("/proc/self/gid_map", map);
		int fs = (int)syscall(SYS_fsopen, "bpf", FSOPEN_CLOEXEC);
		if (fs < 0) die("fsopen bpf", 106);
		send_fd(sv[1], fs);
		int mnt = recv_fd(sv[1]);
		// fsmount gives an O_PATH fd, which bpf() does not take: open the root.
		int root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root < 0) die("open bpffs root", 107);
		close(mnt);
		mnt = root;
		if (mnt != 3 && dup2(mnt, 3) != 3) die("dup2", 107);
		if (fcntl(3, F_SETFD, 0)) die("fcntl", 107); // kept across exec
		execvp(argv[3], argv + 3);
		die(argv[3], 108);
	}
	close(sv[1]);
	int fs = recv_fd(sv[0]);
	if (*delegate) {
		const char *opts[] = {"delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs"};
		for (int i = 0; i < 4; i++)
			if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opts[i], delegate, 0)) die(opts[i], 109);
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) die("fsconfig create", 110);
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0) die("fsmount", 111);
	send_fd(sv[0], mnt);
	close(mnt);
	close(fs);
	int status;
	if (waitpid(pid, &status, 0) < 0) die("waitpid", 112);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
