// bench-typed OPS [WALKS]: libbpf's side of bench/typed. A hash of u32 ->
// struct { u64 packets; u64 bytes; u32 ifindex; u32 flags; } (24 bytes),
// 1,024 hot keys: OPS single updates then OPS lookups, then the same 65,536
// entries through update batches of 1,024 and WALKS walks in lookup batches
// of 1,024. Nanoseconds per element as JSON: the walks' median, and the first.
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct stats {
	__u64 packets;
	__u64 bytes;
	__u32 ifindex;
	__u32 flags;
};

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 500000;
	int walks = argc > 2 ? atoi(argv[2]) : 1;
	if (walks < 1 || walks > 64)
		return 2;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "typed", 4, sizeof(struct stats), 65536, NULL);
	struct stats v = { 0 };
	volatile __u64 sink = 0;
	double t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		__u32 k = i & 1023;
		v.packets = i;
		v.bytes = i * 2;
		v.ifindex = k;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			return 1;
	}
	double t1 = now_ns();
	for (long i = 0; i < ops; i++) {
		__u32 k = i & 1023;
		if (bpf_map_lookup_elem(fd, &k, &v) == 0)
			sink += v.packets + v.ifindex;
	}
	double t2 = now_ns();
	enum { N = 65536, B = 1024 };
	static __u32 keys[N], okeys[B];
	static struct stats vals[N], ovals[B];
	for (int i = 0; i < N; i++) {
		keys[i] = i;
		vals[i].packets = i;
		vals[i].ifindex = i;
	}
	double t3 = now_ns();
	for (int i = 0; i < N; i += B) {
		__u32 count = B;
		if (bpf_map_update_batch(fd, keys + i, vals + i, &count, NULL))
			return 1;
	}
	double t4 = now_ns();
	double walk_ns[64];
	for (int w = 0; w < walks; w++) {
		double start = now_ns();
		long walked = 0;
		__u32 in_batch = 0, out_batch = 0;
		void *in = NULL;
		for (;;) {
			__u32 count = B;
			int err = bpf_map_lookup_batch(fd, in, &out_batch, okeys, ovals, &count, NULL);
			for (__u32 j = 0; j < count; j++)
				sink += ovals[j].packets;
			walked += count;
			if (err)
				break;
			in_batch = out_batch;
			in = &in_batch;
		}
		walk_ns[w] = (now_ns() - start) / walked;
	}
	double first = walk_ns[0];
	/* Median by insertion sort: at most 64 walks. */
	for (int i = 1; i < walks; i++)
		for (int j = i; j > 0 && walk_ns[j - 1] > walk_ns[j]; j--) {
			double t = walk_ns[j];
			walk_ns[j] = walk_ns[j - 1];
			walk_ns[j - 1] = t;
		}
	printf("{\"setNs\":%.1f,\"getNs\":%.1f,\"setManyNs\":%.1f,\"entriesNs\":%.1f,\"entriesFirstNs\":%.1f}\n", (t1 - t0) / ops, (t2 - t1) / ops,
	       (t4 - t3) / N, walk_ns[walks / 2], first);
	close(fd);
	return 0;
}
