// Command bench-cilium is cilium/ebpf's side of tsbpf's benchmarks (bench/):
// the same operations as the C helpers against libbpf, through cilium/ebpf's
// API at the version go.mod pins, printed as the same JSON. bench/peers/build.mjs
// builds it once per machine into ~/.cache/tsbpf/peers.
//
//	bench-cilium maps OPS                           single and batch hash ops ([]byte keys and values)
//	bench-cilium typed OPS WALKS                    u32 -> struct: Put/Lookup, BatchUpdate, BatchLookup walks
//	bench-cilium load OBJ ROUNDS [WARMUP]           LoadCollectionSpec + NewCollection + Close
//	bench-cilium btf FILE ROUNDS                    btf.LoadSpec + TypeByName(task_struct)
//	bench-cilium ringbuf OBJ N                      ringbuf.Reader over N records a program wrote
//	bench-cilium walk N WALKS                       typed batch walk of an N-entry map (scale curve)
//	bench-cilium btfsplit VMLINUX ROUNDS MOD...     the kernel's BTF plus split module BTFs (scale curve)
//	bench-cilium ringbuf-mp OBJ N K PRODUCER PIN    N records from K concurrent producers (scale curve)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

var commands = map[string]func(args []string) (any, error){
	"maps":       benchMaps,
	"typed":      benchTyped,
	"load":       benchLoad,
	"btf":        benchBtf,
	"ringbuf":    benchRingbuf,
	"walk":       benchWalk,
	"btfsplit":   benchBtfSplit,
	"ringbuf-mp": benchRingbufMP,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: bench-cilium maps|typed|load|btf|ringbuf|walk|btfsplit|ringbuf-mp ARGS...")
		os.Exit(2)
	}
	out, err := commands[os.Args[1]](os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-cilium %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}

// intArg reads args[i] as a positive integer, or def when absent.
func intArg(args []string, i int, def int) int {
	if i >= len(args) {
		if def < 0 {
			fmt.Fprintf(os.Stderr, "bench-cilium: missing argument %d\n", i+1)
			os.Exit(2)
		}
		return def
	}
	n, err := strconv.Atoi(args[i])
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "bench-cilium: bad number %q\n", args[i])
		os.Exit(2)
	}
	return n
}

func strArg(args []string, i int) string {
	if i >= len(args) {
		fmt.Fprintf(os.Stderr, "bench-cilium: missing argument %d\n", i+1)
		os.Exit(2)
	}
	return args[i]
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func nsSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) }

// round1 keeps one decimal, as the C helpers print.
func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
