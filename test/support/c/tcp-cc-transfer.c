// tcp-cc-transfer NAME BYTES: inside the calling network namespace, a TCP
// connection over 127.0.0.1 whose client socket selects the congestion
// control NAME (setsockopt TCP_CONGESTION) before connecting; the client
// sends BYTES, the server reads them all. Prints one JSON line: the
// algorithm the client socket reports (getsockopt) and the bytes received.
// Exits 2 when the kernel refuses NAME (errno printed), 1 on other failures.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
	fprintf(stderr, "tcp-cc-transfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: tcp-cc-transfer NAME BYTES\n");
		return 1;
	}
	const char *name = argv[1];
	long total = atol(argv[2]);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int server = socket(AF_INET, SOCK_STREAM, 0);
	if (server < 0 || bind(server, (struct sockaddr *)&addr, sizeof(addr)) || listen(server, 1) ||
	    getsockname(server, (struct sockaddr *)&addr, &len))
		die("listen");
	int client = socket(AF_INET, SOCK_STREAM, 0);
	if (client < 0) die("socket");
	if (setsockopt(client, IPPROTO_TCP, TCP_CONGESTION, name, strlen(name))) {
		fprintf(stderr, "tcp-cc-transfer: setsockopt TCP_CONGESTION %s: %s\n", name, strerror(errno));
		return 2;
	}
	if (connect(client, (struct sockaddr *)&addr, sizeof(addr))) die("connect");
	int peer = accept(server, NULL, NULL);
	if (peer < 0) die("accept");
	static char buf[65536];
	memset(buf, 7, sizeof(buf));
	long sent = 0, received = 0;
	while (received < total) {
		if (sent < total) {
			long n = total - sent < (long)sizeof(buf) ? total - sent : (long)sizeof(buf);
			ssize_t w = send(client, buf, n, MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) die("send");
			if (w > 0) sent += w;
		}
		ssize_t r = recv(peer, buf, sizeof(buf), sent < total ? MSG_DONTWAIT : 0);
		if (r < 0 && errno != EAGAIN) die("recv");
		if (r == 0) break;
		if (r > 0) received += r;
	}
	char algo[32] = {0};
	socklen_t alen = sizeof(algo) - 1;
	if (getsockopt(client, IPPROTO_TCP, TCP_CONGESTION, algo, &alen)) die("getsockopt");
	printf("{\"congestion\":\"%s\",\"received\":%ld}\n", algo, received);
	close(client);
	close(peer);
	close(server);
	return 0;
}
