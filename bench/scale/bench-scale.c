// bench-scale: libbpf's side of bench/scale's curves, and the ring buffer
// producers every side's consumer starts. JSON on stdout.
//   walk N WALKS                           N-entry u32 -> 24-byte struct hash, filled in batches of
//                                          1,024, walked WALKS times with lookup batches: {"entriesNs"}
//   btfsplit VMLINUX ROUNDS MOD...         btf__parse(VMLINUX) + find task_struct, then each MOD with
//                                          btf__parse_split on it + find bench_module_root: {"medianMs"}
//   ringbuf-mp OBJ N K PRODUCER PIN        OBJ loaded, its program emit pinned at PIN, `PRODUCER produce
//                                          PIN K N` started, N records consumed with ring_buffer__consume,
//                                          timed from the first record to the last: {"recordsPerSec"}
//   produce PIN K N                        K threads, thread i on CPU i % CPUs, each running the program
//                                          pinned at PIN (BPF_PROG_TEST_RUN, repeat) for its share of N
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *xs, int n)
{
	qsort(xs, n, sizeof(double), cmp);
	return xs[n / 2];
}

static int walk(int n, int walks)
{
	enum { B = 1024 };
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "walk", 4, sizeof(struct stats), n, NULL);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	static __u32 keys[B];
	static struct stats vals[B];
	for (int i = 0; i < n; i += B) {
		__u32 count = n - i < B ? n - i : B;
		for (__u32 j = 0; j < count; j++) {
			keys[j] = i + j;
			vals[j] = (struct stats){ .packets = i + j, .ifindex = i + j };
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
			perror("update_batch");
			return 1;
		}
	}
	double *t = calloc(walks, sizeof(double));
	volatile __u64 sink = 0;
	for (int w = 0; w < walks; w++) {
		double start = now_ns();
		long walked = 0;
		__u32 in_batch = 0, out_batch = 0;
		void *in = NULL;
		for (;;) {
			__u32 count = B;
			int err = bpf_map_lookup_batch(fd, in, &out_batch, keys, vals, &count, NULL);
			for (__u32 j = 0; j < count; j++)
				sink += vals[j].packets;
			walked += count;
			if (err)
				break;
			in_batch = out_batch;
			in = &in_batch;
		}
		if (walked != n) {
			fprintf(stderr, "walked %ld of %d\n", walked, n);
			return 1;
		}
		t[w] = (now_ns() - start) / walked;
	}
	printf("{\"entriesNs\":%.1f}\n", median(t, walks));
	close(fd);
	return 0;
}

static int btfsplit(const char *vmlinux, int rounds, int nmods, char **mods)
{
	double *t = calloc(rounds, sizeof(double));
	struct btf **split = calloc(nmods, sizeof(*split));
	for (int r = 0; r < rounds + 3; r++) {
		double start = now_ns();
		struct btf *base = btf__parse(vmlinux, NULL);
		if (!base || btf__find_by_name_kind(base, "task_struct", BTF_KIND_STRUCT) < 0) {
			fprintf(stderr, "cannot parse %s\n", vmlinux);
			return 1;
		}
		for (int i = 0; i < nmods; i++) {
			split[i] = btf__parse_split(mods[i], base);
			if (!split[i] || btf__find_by_name_kind(split[i], "bench_module_root", BTF_KIND_STRUCT) < 0) {
				fprintf(stderr, "cannot parse %s or find bench_module_root\n", mods[i]);
				return 1;
			}
		}
		for (int i = 0; i < nmods; i++)
			btf__free(split[i]);
		btf__free(base);
		if (r >= 3)
			t[r - 3] = (now_ns() - start) / 1e6;
	}
	printf("{\"medianMs\":%.3f}\n", median(t, rounds));
	return 0;
}

static long seen;
static double first_ns;
static unsigned long long checksum;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct {
		__u64 seq;
		__u32 len;
	} *r = data;
	if (!seen++)
		first_ns = now_ns();
	checksum += r->seq + r->len;
	return 0;
}

static int ringbuf_mp(const char *obj_path, long n, int k, const char *producer, const char *pin)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", obj_path);
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "emit");
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "records")), on_record, NULL, NULL);
	if (!prog || !rb || bpf_program__pin(prog, pin)) {
		fprintf(stderr, "cannot set up the ring or pin %s\n", pin);
		return 1;
	}
	char ks[16], ns[32];
	snprintf(ks, sizeof(ks), "%d", k);
	snprintf(ns, sizeof(ns), "%ld", n);
	pid_t child = fork();
	if (child == 0) {
		execl(producer, producer, "produce", pin, ks, ns, (char *)NULL);
		_exit(127);
	}
	int err = 0;
	while (seen < n)
		if (ring_buffer__consume(rb) < 0) {
			err = 1;
			break;
		}
	double end = now_ns();
	int status;
	waitpid(child, &status, 0);
	unlink(pin);
	if (err || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "consume failed or the producer did\n");
		return 1;
	}
	printf("{\"recordsPerSec\":%.0f}\n", n / ((end - first_ns) / 1e9));
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}

struct producer {
	int prog, cpu;
	long repeat;
	pthread_barrier_t *go;
};

static void *produce_one(void *arg)
{
	struct producer *p = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	char packet[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = p->repeat);
	pthread_barrier_wait(p->go);
	if (bpf_prog_test_run_opts(p->prog, &opts))
		perror("test_run");
	return NULL;
}

static int produce(const char *pin, int k, long n)
{
	if (k < 1 || k > 64)
		return 2;
	int prog = bpf_obj_get(pin);
	if (prog < 0) {
		perror(pin);
		return 1;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, k);
	struct producer p[64];
	pthread_t threads[64];
	for (int i = 0; i < k; i++) {
		p[i] = (struct producer){ .prog = prog, .cpu = i % cpus, .repeat = n / k + (i == 0 ? n % k : 0), .go = &go };
		pthread_create(&threads[i], NULL, produce_one, &p[i]);
	}
	for (int i = 0; i < k; i++)
		pthread_join(threads[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "walk"))
		return walk(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "btfsplit"))
		return btfsplit(argv[2], atoi(argv[3]), argc - 4, argv + 4);
	if (argc == 7 && !strcmp(argv[1], "ringbuf-mp"))
		return ringbuf_mp(argv[2], atol(argv[3]), atoi(argv[4]), argv[5], argv[6]);
	if (argc == 5 && !strcmp(argv[1], "produce"))
		return produce(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: %s walk N WALKS | btfsplit VMLINUX ROUNDS MOD... | ringbuf-mp OBJ N K PRODUCER PIN | produce PIN K N\n", argv[0]);
	return 2;
}
