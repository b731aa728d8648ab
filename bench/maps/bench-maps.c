// bench-maps OPS [REPS]: libbpf's side of bench/maps. A BPF_MAP_TYPE_HASH (u32 -> u64,
// 1,024 preallocated entries), 1,024 hot keys, OPS single-element updates
// then OPS lookups through bpf_map_update_elem / bpf_map_lookup_elem, then
// REPS (default 5) batch updates and walks of 65,536 elements.
// Prints JSON {"updateNs": x, "lookupNs": y} (nanoseconds per operation).
#include <bpf/bpf.h>
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

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 1000000;
	int REPS = argc > 2 ? atoi(argv[2]) : 5;
	if (ops < 1 || REPS < 1)
		return 2;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, 1024, NULL);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	__u64 value = 0;
	double t0 = now_ns();
	for (long i = 0; i < ops; i++) {
		__u32 key = i & 1023;
		value = i;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) {
			perror("update");
			return 1;
		}
	}
	double t1 = now_ns();
	volatile __u64 sum = 0;
	for (long i = 0; i < ops; i++) {
		__u32 key = i & 1023;
		if (bpf_map_lookup_elem(fd, &key, &value) == 0)
			sum += value;
	}
	double t2 = now_ns();
	close(fd);

	/* Batches: 65,536 elements, 1,024 per call, update then a full lookup walk, REPS times. */
	enum { N = 65536, B = 1024 };
	int bfd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_batch", 4, 8, N, NULL);
	static __u32 keys[N], out_keys[B];
	static __u64 values[N], out_values[B];
	for (int i = 0; i < N; i++) {
		keys[i] = i * 7;
		values[i] = i;
	}
	double tb0 = now_ns();
	for (int r = 0; r < REPS; r++)
		for (int i = 0; i < N; i += B) {
			__u32 count = B;
			if (bpf_map_update_batch(bfd, keys + i, values + i, &count, NULL)) {
				perror("update_batch");
				return 1;
			}
		}
	double tb1 = now_ns();
	long walked = 0;
	for (int r = 0; r < REPS; r++) {
		__u32 in_batch = 0, out_batch = 0;
		void *in = NULL;
		for (;;) {
			__u32 count = B;
			int err = bpf_map_lookup_batch(bfd, in, &out_batch, out_keys, out_values, &count, NULL);
			walked += count;
			if (err)
				break;
			in_batch = out_batch;
			in = &in_batch;
		}
	}
	double tb2 = now_ns();
	if (walked != (long)N * REPS) {
		fprintf(stderr, "walked %ld\n", walked);
		return 1;
	}
	printf("{\"updateNs\":%.1f,\"lookupNs\":%.1f,\"batchUpdateNs\":%.1f,\"batchLookupNs\":%.1f}\n",
	       (t1 - t0) / ops, (t2 - t1) / ops, (tb1 - tb0) / ((double)N * REPS), (tb2 - tb1) / ((double)N * REPS));
	close(bfd);
	return 0;
}
