// An SO_REUSEPORT group for the reuseport tests: N UDP sockets bound with
// SO_REUSEPORT to 127.0.0.1:PORT as fds 3..3+N-1, inherited by a command it
// runs (tsbpf attaches to them); when the command exits it prints what each
// socket received, one "index payload" line per datagram.
// Usage: reuseport-group PORT N COMMAND [ARG...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: reuseport-group PORT N COMMAND [ARG...]\n");
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]);
  if (port <= 0 || port > 65535 || n <= 0 || n > 16) {
    fprintf(stderr, "reuseport-group: bad PORT or N\n");
    return 2;
  }
  for (int i = 0; i < n; i++) {
    int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
      perror("reuseport-group: socket");
      return 1;
    }
    if (s != 3 + i && (dup2(s, 3 + i) < 0 || close(s) < 0)) {
      perror("reuseport-group: dup2");
      return 1;
    }
  }
  pid_t child = fork();
  if (child < 0) {
    perror("reuseport-group: fork");
    return 1;
  }
  if (child == 0) {
    execvp(argv[3], argv + 3);
    perror("reuseport-group: exec");
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) < 0) {
    perror("reuseport-group: waitpid");
    return 1;
  }
  fflush(stdout);
  for (int i = 0; i < n; i++) {
    char buf[256];
    ssize_t len;
    while ((len = recv(3 + i, buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
      buf[len] = 0;
      printf("%d %s\n", i, buf);
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
