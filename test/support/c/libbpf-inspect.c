// libbpf-inspect OBJ: what libbpf's bpf_object__open sees in an object, as
// JSON in the shape of `tsbpf inspect --json` (plus an `internal` flag on
// maps), for the differential test in test/inspect-libbpf.test.ts.
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int print_errors(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void attach_type(const struct bpf_program *p)
{
	enum bpf_attach_type t = bpf_program__expected_attach_type(p);
	const char *sec = bpf_program__section_name(p);
	/* 0 is BPF_CGROUP_INET_INGRESS: meaningful only for cgroup_skb/ingress. */
	if (t == 0 && strncmp(sec, "cgroup_skb/ingress", 18) != 0 && strncmp(sec, "cgroup/skb", 10) != 0) {
		printf("null");
		return;
	}
	json_string(libbpf_bpf_attach_type_str(t));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJ\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_errors);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "bpf_object__open_file(%s): %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct bpf_program *p;
	struct bpf_map *m;
	int first = 1;
	printf("{\"programs\":[");
	bpf_object__for_each_program(p, obj) {
		printf("%s{\"name\":", first ? "" : ",");
		json_string(bpf_program__name(p));
		printf(",\"section\":");
		json_string(bpf_program__section_name(p));
		printf(",\"type\":");
		json_string(libbpf_bpf_prog_type_str(bpf_program__type(p)));
		printf(",\"attachType\":");
		attach_type(p);
		printf(",\"instructions\":%zu}", bpf_program__insn_cnt(p));
		first = 0;
	}
	printf("],\"maps\":[");
	first = 1;
	bpf_object__for_each_map(m, obj) {
		printf("%s{\"name\":", first ? "" : ",");
		json_string(bpf_map__name(m));
		printf(",\"type\":");
		json_string(libbpf_bpf_map_type_str(bpf_map__type(m)));
		printf(",\"keySize\":%u,\"valueSize\":%u,\"maxEntries\":%u,\"flags\":%u,\"internal\":%s}",
		       bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m),
		       bpf_map__map_flags(m), bpf_map__is_internal(m) ? "true" : "false");
		first = 0;
	}
	printf("]}\n");
	bpf_object__close(obj);
	return 0;
}
