// Loading through cilium/ebpf (bench/load and the load scale curves):
// ebpf.LoadCollectionSpec (reads and parses the ELF file) + ebpf.NewCollection
// (creates the maps, loads every program) + Close, timed per round after
// WARMUP untimed rounds (20, as the C helper, unless given).
package main

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

func benchLoad(args []string) (any, error) {
	obj := strArg(args, 0)
	rounds := intArg(args, 1, -1)
	warmup := intArg(args, 2, 20)
	t := make([]float64, 0, rounds)
	for i := 0; i < rounds+warmup; i++ {
		start := time.Now()
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			return nil, err
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", obj, err)
		}
		coll.Close()
		if i >= warmup {
			t = append(t, nsSince(start)/1e3)
		}
	}
	return map[string]float64{"medianUs": round1(median(t))}, nil
}
