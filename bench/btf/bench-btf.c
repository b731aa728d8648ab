// bench-btf FILE ROUNDS: libbpf's side of bench/btf. Prints JSON with the
// median and minimum milliseconds of
//   parseFind:       btf__parse(FILE) + btf__find_by_name_kind("task_struct")
//   parseFindMemory: btf__new(bytes already in memory) + the same find
//   fullDecode:      parse + visit every type's name and every member's name
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static volatile unsigned long sink;

static void run_parse_find(const char *file, const void *data, size_t size, int memory)
{
	struct btf *btf = memory ? btf__new(data, size) : btf__parse(file, NULL);
	if (!btf || btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT) < 0) {
		fprintf(stderr, "libbpf could not parse %s or find task_struct\n", file);
		exit(1);
	}
	btf__free(btf);
}

static void run_full_decode(const char *file)
{
	struct btf *btf = btf__parse(file, NULL);
	unsigned long sum = 0;
	for (unsigned int id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		sum += strlen(btf__name_by_offset(btf, t->name_off));
		if (btf_is_composite(t)) {
			const struct btf_member *m = btf_members(t);
			for (int i = 0; i < btf_vlen(t); i++, m++)
				sum += strlen(btf__name_by_offset(btf, m->name_off));
		}
	}
	sink = sum;
	btf__free(btf);
}

static void measure(const char *name, int rounds, const char *file, const void *data, size_t size, int which, int last)
{
	double *t = calloc(rounds, sizeof(double));
	for (int i = 0; i < rounds + 3; i++) {
		double start = now_ms();
		if (which == 2)
			run_full_decode(file);
		else
			run_parse_find(file, data, size, which);
		if (i >= 3)
			t[i - 3] = now_ms() - start;
	}
	qsort(t, rounds, sizeof(double), cmp);
	printf("\"%s\":{\"median\":%.4f,\"min\":%.4f}%s", name, t[rounds / 2], t[0], last ? "" : ",");
	free(t);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE ROUNDS\n", argv[0]);
		return 2;
	}
	int rounds = atoi(argv[2]);
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	size_t cap = 1 << 20, size = 0, n;
	char *data = malloc(cap);
	while ((n = fread(data + size, 1, cap - size, f)) > 0) {
		size += n;
		if (size == cap)
			data = realloc(data, cap *= 2);
	}
	fclose(f);
	printf("{");
	measure("parseFind", rounds, argv[1], data, size, 0, 0);
	measure("parseFindMemory", rounds, argv[1], data, size, 1, 0);
	measure("fullDecode", rounds, argv[1], data, size, 2, 1);
	printf("}\n");
	free(data);
	return 0;
}
