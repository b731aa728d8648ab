// bench-typed OPS [WALKS]: libbpf's side of bench/typed. A hash of u32 ->
// struct { u64 packets; u64 bytes; u32 ifindex; u32 flags; } (24 bytes),
// 1,024 hot keys: OPS single updates then OPS lookups, then the same 65,536
// entries through update batches of 1,024 and WALKS walks in lookup batches
// of 1,024, then WALKS times getMany(every key) done with libbpf (batch walk
// plus an index of the keys asked for). Nanoseconds per element as JSON:
// medians of the walks, and the first walk.
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Sorts at most 64 figures in place, for their median. */
static void median_sort(double *xs, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
			double t = xs[j];
			xs[j] = xs[j - 1];
			xs[j - 1] = t;
		}
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
	median_sort(walk_ns, walks);

	/* getMany(every key) as a C program would do it with libbpf: the kernel
	 * has no batch lookup by key, so walk the map in batches and pick the
	 * keys asked for out of an open-addressing index, copying each value
	 * to its key's place in the answer. */
	static __u32 wanted_ids[2 * N];
	static int wanted_at[2 * N];
	static struct stats answer[N];
	static char found[N];
	double gather_ns[64];
	for (int w = 0; w < walks; w++) {
		double start = now_ns();
		memset(wanted_at, 0, sizeof(wanted_at));
		memset(found, 0, sizeof(found));
		for (int i = 0; i < N; i++) {
			__u32 slot = (keys[i] * 0x9e3779b1u) >> (32 - 17);
			while (wanted_at[slot] && wanted_ids[slot] != keys[i])
				slot = (slot + 1) & (2 * N - 1);
			wanted_ids[slot] = keys[i];
			wanted_at[slot] = i + 1;
		}
		__u32 in_batch = 0, out_batch = 0;
		void *in = NULL;
		for (;;) {
			__u32 count = B;
			int err = bpf_map_lookup_batch(fd, in, &out_batch, okeys, ovals, &count, NULL);
			for (__u32 j = 0; j < count; j++) {
				__u32 slot = (okeys[j] * 0x9e3779b1u) >> (32 - 17);
				while (wanted_at[slot] && wanted_ids[slot] != okeys[j])
					slot = (slot + 1) & (2 * N - 1);
				if (!wanted_at[slot])
					continue;
				answer[wanted_at[slot] - 1] = ovals[j];
				found[wanted_at[slot] - 1] = 1;
			}
			if (err)
				break;
			in_batch = out_batch;
			in = &in_batch;
		}
		gather_ns[w] = (now_ns() - start) / N;
		sink += answer[N - 1].packets + found[N - 1];
	}
	median_sort(gather_ns, walks);
	printf("{\"setNs\":%.1f,\"getNs\":%.1f,\"setManyNs\":%.1f,\"entriesNs\":%.1f,\"entriesFirstNs\":%.1f,\"getManyNs\":%.1f}\n",
	       (t1 - t0) / ops, (t2 - t1) / ops, (t4 - t3) / N, walk_ns[walks / 2], first, gather_ns[walks / 2]);
	close(fd);
	return 0;
}
