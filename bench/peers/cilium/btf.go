// BTF through cilium/ebpf (bench/btf and the split-BTF scale curve):
// btf.LoadSpec of a file (or LoadSpecFromReader of bytes in memory) and
// TypeByName of task_struct; every type visited; the kernel's BTF plus split
// module BTFs, each parsed on the kernel's with LoadSplitSpec.
package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/btf"
)

func findStruct(spec *btf.Spec, name string) error {
	var s *btf.Struct
	return spec.TypeByName(name, &s)
}

// timeMs runs fn rounds+3 times and returns the milliseconds of all but the first 3.
func timeMs(rounds int, fn func() error) ([]float64, error) {
	t := make([]float64, 0, rounds)
	for i := 0; i < rounds+3; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		if i >= 3 {
			t = append(t, nsSince(start)/1e6)
		}
	}
	return t, nil
}

func figures(t []float64) map[string]float64 {
	lo := t[0]
	for _, x := range t {
		lo = min(lo, x)
	}
	return map[string]float64{"median": median(t), "min": lo}
}

func benchBtf(args []string) (any, error) {
	file := strArg(args, 0)
	rounds := intArg(args, 1, -1)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]float64{}
	fromFile, err := timeMs(rounds, func() error {
		spec, err := btf.LoadSpec(file)
		if err != nil {
			return err
		}
		return findStruct(spec, "task_struct")
	})
	if err != nil {
		return nil, err
	}
	out["parseFind"] = figures(fromFile)
	fromMemory, err := timeMs(rounds, func() error {
		spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
		if err != nil {
			return err
		}
		return findStruct(spec, "task_struct")
	})
	if err != nil {
		return nil, err
	}
	out["parseFindMemory"] = figures(fromMemory)
	var sink int
	full, err := timeMs(max(1, rounds/5), func() error {
		spec, err := btf.LoadSpec(file)
		if err != nil {
			return err
		}
		for typ, err := range spec.All() {
			if err != nil {
				return err
			}
			sink += len(typ.TypeName())
			var members []btf.Member
			switch c := typ.(type) {
			case *btf.Struct:
				members = c.Members
			case *btf.Union:
				members = c.Members
			}
			for _, m := range members {
				sink += len(m.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out["fullDecode"] = figures(full)
	_ = sink
	return out, nil
}

// benchBtfSplit: parse VMLINUX, then each module file split on it, finding
// the module's bench_module_root struct in each; milliseconds for all.
func benchBtfSplit(args []string) (any, error) {
	vmlinux := strArg(args, 0)
	rounds := intArg(args, 1, -1)
	mods := args[2:]
	t, err := timeMs(rounds, func() error {
		base, err := btf.LoadSpec(vmlinux)
		if err != nil {
			return err
		}
		if err := findStruct(base, "task_struct"); err != nil {
			return err
		}
		for _, mod := range mods {
			spec, err := btf.LoadSplitSpec(mod, base)
			if err != nil {
				return fmt.Errorf("%s: %w", mod, err)
			}
			if err := findStruct(spec, "bench_module_root"); err != nil {
				return fmt.Errorf("%s: %w", mod, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]float64{"medianMs": median(t)}, nil
}
