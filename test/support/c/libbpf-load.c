// libbpf-load OBJ PINDIR: loads each program of OBJ with libbpf on its own
// (the others' autoload off, the object opened anew each time, so one
// program the kernel refuses does not hide the outcome of the others) and
// pins what loaded at PINDIR/<program>. Prints JSON:
//   {"open": "" | "<why libbpf cannot open it>",
//    "programs": {"<name>": "" | "<why it did not load>"}}
// The peer of tsbpf's loader in the differential tests under test/peers/.
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char last_warning[512];

static int keep_warnings(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN) {
		char line[512];
		vsnprintf(line, sizeof(line), fmt, args);
		// Keep the first line that says why: later ones are often "failed to load object".
		if (last_warning[0] == 0)
			snprintf(last_warning, sizeof(last_warning), "%s", line);
	}
	return 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			continue;
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ PINDIR\n", argv[0]);
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(keep_warnings);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		char why[700];
		snprintf(why, sizeof(why), "%s (%s)", last_warning[0] ? last_warning : "open failed", strerror(errno));
		printf("{\"open\":");
		json_string(why);
		printf(",\"programs\":{}}\n");
		return 0;
	}
	// The names first: each load below opens the object again.
	char names[256][64];
	int n = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) {
		if (n < 256)
			snprintf(names[n++], sizeof(names[0]), "%s", bpf_program__name(p));
	}
	bpf_object__close(obj);

	printf("{\"open\":\"\",\"programs\":{");
	for (int i = 0; i < n; i++) {
		last_warning[0] = 0;
		obj = bpf_object__open_file(argv[1], NULL);
		bpf_object__for_each_program(p, obj)
			bpf_program__set_autoload(p, strcmp(bpf_program__name(p), names[i]) == 0);
		// Nothing is pinned by name outside PINDIR.
		struct bpf_map *m;
		bpf_object__for_each_map(m, obj) {
			char path[512];
			snprintf(path, sizeof(path), "%.400s/map-%.63s", argv[2], bpf_map__name(m));
			if (bpf_map__get_pin_path(m))
				bpf_map__set_pin_path(m, path);
		}
		char why[700] = "";
		int err = bpf_object__load(obj);
		if (err) {
			snprintf(why, sizeof(why), "%s (%s)", last_warning[0] ? last_warning : "load failed", strerror(-err));
		} else {
			char path[512];
			snprintf(path, sizeof(path), "%.400s/%.63s", argv[2], names[i]);
			struct bpf_program *prog = bpf_object__find_program_by_name(obj, names[i]);
			if (bpf_program__pin(prog, path))
				snprintf(why, sizeof(why), "pin %s: %s", path, strerror(errno));
		}
		printf("%s", i ? "," : "");
		json_string(names[i]);
		putchar(':');
		json_string(why);
		bpf_object__close(obj);
	}
	printf("}}\n");
	return 0;
}
