// call-gap N THREADED: C's side of bench/maps/call-gap.mjs. A u32 -> u64 hash
// of 1,024 entries, N bpf_map_update_elem (value = i) then N
// bpf_map_lookup_elem on keys i & 1023, as bench-maps does; with THREADED=1
// an idle second thread exists first (a Node process always has several:
// the kernel then takes and drops a reference on the map's file in every
// fdget, which a single-threaded process skips). Prints JSON
// {"update": [wall, user, system], "lookup": [...]} in ns an operation.
#include <bpf/bpf.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* User and system CPU time so far, in ns. */
static void cpu_ns(double *user, double *sys)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	*user = u.ru_utime.tv_sec * 1e9 + u.ru_utime.tv_usec * 1e3;
	*sys = u.ru_stime.tv_sec * 1e9 + u.ru_stime.tv_usec * 1e3;
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 200000;
	int threaded = argc > 2 && atoi(argv[2]);
	pthread_t thread;
	if (threaded && pthread_create(&thread, NULL, idle, NULL))
		return 1;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "call_gap", 4, 8, 1024, NULL);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	__u64 value = 0;
	double u0, s0, u1, s1, u2, s2;
	cpu_ns(&u0, &s0);
	double t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		__u32 key = i & 1023;
		value = i;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
			return 1;
	}
	double t1 = now_ns();
	cpu_ns(&u1, &s1);
	volatile __u64 sum = 0;
	for (long i = 0; i < ops; i++) {
		__u32 key = i & 1023;
		if (bpf_map_lookup_elem(fd, &key, &value) == 0)
			sum += value;
	}
	double t2 = now_ns();
	cpu_ns(&u2, &s2);
	close(fd);
	printf("{\"update\": [%.1f, %.1f, %.1f], \"lookup\": [%.1f, %.1f, %.1f]}\n", (t1 - t0) / ops, (u1 - u0) / ops,
	       (s1 - s0) / ops, (t2 - t1) / ops, (u2 - u1) / ops, (s2 - s1) / ops);
	return 0;
}
