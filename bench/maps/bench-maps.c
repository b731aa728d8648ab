// bench-maps OPS: libbpf's side of bench/maps. A BPF_MAP_TYPE_HASH (u32 -> u64,
// 1,024 preallocated entries), 1,024 hot keys, OPS single-element updates
// then OPS lookups through bpf_map_update_elem / bpf_map_lookup_elem.
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
	printf("{\"updateNs\":%.1f,\"lookupNs\":%.1f}\n", (t1 - t0) / ops, (t2 - t1) / ops);
	close(fd);
	return 0;
}
