// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Small traffic tools for bench/pod-firewall, run inside the pods' network
// namespaces (nsenter --net=...), pinned with taskset by the caller:
//
//   netperf crr-server PORT              accept; read 1 byte; write 1 byte; wait for EOF; close (forever)
//   netperf crr-client IP PORT SECONDS   connect, send 1 byte, read the reply, close, again (TCP_CRR)
//   netperf udp-sink PORT SECONDS        counts datagrams for SECONDS from the first one
//   netperf udp-blast IP PORT SECONDS    sends 64-byte datagrams as fast as it can (sendmmsg)
//
// Every client mode prints one JSON line: {"count":N,"seconds":S,"rate":N/S,"errors":E}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 64
#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "netperf: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in address(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };

	if (ip == NULL)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "netperf: bad address %s\n", ip);
		exit(2);
	}
	return a;
}

static void report(unsigned long long count, double seconds, unsigned long long errors)
{
	printf("{\"count\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"errors\":%llu}\n", count, seconds,
	       seconds > 0 ? count / seconds : 0.0, errors);
	fflush(stdout);
}

static int crr_server(const char *port)
{
	struct sockaddr_in a = address(NULL, port);
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(s, 4096) < 0)
		die("listen");
	printf("{\"listening\":%s}\n", port);
	fflush(stdout);
	for (;;) {
		char b[64];
		int c = accept(s, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (read(c, b, 1) == 1 && write(c, b, 1) == 1) {
			/* The client closes first (its side keeps TIME_WAIT, as netperf's TCP_CRR). */
			while (read(c, b, sizeof(b)) > 0)
				;
		}
		close(c);
	}
	return 0;
}

static int crr_client(const char *ip, const char *port, double seconds)
{
	struct sockaddr_in a = address(ip, port);
	unsigned long long count = 0, errors = 0;
	double start = now(), t = start, end = start + seconds;
	int one = 1;

	while (t < end) {
		char b = 'x';
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			die("socket");
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 && write(s, &b, 1) == 1 && read(s, &b, 1) == 1)
			count++;
		else {
			errors++;
			if (errors > 1000 && errors > count) {
				close(s);
				fprintf(stderr, "netperf: crr-client: %llu failures (last: %s)\n", errors, strerror(errno));
				report(count, now() - start, errors);
				return 1;
			}
		}
		close(s);
		t = now();
	}
	report(count, t - start, errors);
	return 0;
}

static int udp_sink(const char *port, double seconds)
{
	struct sockaddr_in a = address(NULL, port);
	int s = socket(AF_INET, SOCK_DGRAM, 0), size = 8 << 20;
	struct timeval first_wait = { .tv_sec = 10 }, tick = { .tv_usec = 100000 };
	static char bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long count = 0;
	double start, t;
	int n;

	if (s < 0)
		die("socket");
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("{\"listening\":%s}\n", port);
	fflush(stdout);
	/* The window starts at the first datagram, so the sender's start-up is not counted. */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &first_wait, sizeof(first_wait));
	if (recv(s, bufs[0], sizeof(bufs[0]), 0) < 0) {
		fprintf(stderr, "netperf: udp-sink: nothing arrived in 10 s\n");
		report(0, 0, 1);
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	start = t = now();
	while (t - start < seconds) {
		n = recvmmsg(s, msgs, BATCH, 0, NULL);
		if (n > 0)
			count += n;
		t = now();
	}
	report(count, t - start, 0);
	return 0;
}

static int udp_blast(const char *ip, const char *port, double seconds)
{
	struct sockaddr_in a = address(ip, port);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	static char payload[PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov = { .iov_base = payload, .iov_len = PAYLOAD };
	unsigned long long count = 0, errors = 0;
	double start = now(), t = start, end = start + seconds;
	int n;

	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (t < end) {
		n = sendmmsg(s, msgs, BATCH, 0);
		if (n > 0)
			count += n;
		else
			errors++; /* ECONNREFUSED from an ICMP error, ENOBUFS: go on */
		t = now();
	}
	report(count, t - start, errors);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "crr-server") == 0 && argc == 3)
		return crr_server(argv[2]);
	if (strcmp(mode, "crr-client") == 0 && argc == 5)
		return crr_client(argv[2], argv[3], atof(argv[4]));
	if (strcmp(mode, "udp-sink") == 0 && argc == 4)
		return udp_sink(argv[2], atof(argv[3]));
	if (strcmp(mode, "udp-blast") == 0 && argc == 5)
		return udp_blast(argv[2], argv[3], atof(argv[4]));
	fprintf(stderr,
		"usage: netperf crr-server PORT | crr-client IP PORT SECONDS | udp-sink PORT SECONDS | udp-blast IP PORT SECONDS\n");
	return 2;
}
