// bench-load OBJ ROUNDS: libbpf's side of bench/load. Times bpf_object__open_file
// + bpf_object__load + bpf_object__close of a small object, after 20 warm-up
// rounds; prints JSON {"medianUs": x, "minUs": y}.
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	libbpf_set_print(quiet);
	int rounds = atoi(argv[2]);
	double *t = calloc(rounds, sizeof(double));
	for (int i = 0; i < rounds + 20; i++) {
		double start = now_us();
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj || bpf_object__load(obj)) {
			fprintf(stderr, "libbpf could not load %s\n", argv[1]);
			return 1;
		}
		bpf_object__close(obj);
		if (i >= 20)
			t[i - 20] = now_us() - start;
	}
	qsort(t, rounds, sizeof(double), cmp);
	printf("{\"medianUs\":%.1f,\"minUs\":%.1f}\n", t[rounds / 2], t[0]);
	return 0;
}
