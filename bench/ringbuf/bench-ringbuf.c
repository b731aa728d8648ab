// bench-ringbuf OBJ N: libbpf's side of bench/ringbuf. Loads OBJ, has its
// program emit N records (BPF_PROG_TEST_RUN, repeat N), then times
// ring_buffer__consume until all N are read. Prints {"recordsPerSec": x}.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct record {
	__u64 seq;
	__u32 len;
	__u32 flags;
};

static long seen;
static unsigned long long checksum;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct record *r = data;
	checksum += r->seq + r->len;
	seen++;
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[2]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "emit"));
	int map = bpf_map__fd(bpf_object__find_map_by_name(obj, "records"));
	struct ring_buffer *rb = ring_buffer__new(map, on_record, NULL, NULL);
	char packet[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = n);
	if (bpf_prog_test_run_opts(prog, &opts)) {
		perror("test_run");
		return 1;
	}
	double t0 = now_s();
	while (seen < n)
		if (ring_buffer__consume(rb) < 0)
			return 1;
	double t1 = now_s();
	printf("{\"recordsPerSec\":%.0f,\"checksum\":%llu}\n", n / (t1 - t0), checksum);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
