// The map rows through cilium/ebpf: single-element hash update and lookup
// on 1,024 hot keys and the batch calls (bench/maps), the same on a
// u32 -> struct map with typed keys and values (bench/typed), and typed
// batch walks of maps from 1k to 1M entries (bench/scale). Each mirrors the
// C helper's loop; the fastest way cilium/ebpf offers is used: reused
// buffers passed by pointer, BatchLookup for walks (Map.Iterate walks key by
// key, two calls an element, reported apart as iterateNs).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// stats is the 24-byte value of bench/typed: struct { u64 packets; u64 bytes; u32 ifindex; u32 flags; }.
type stats struct {
	Packets uint64
	Bytes   uint64
	Ifindex uint32
	Flags   uint32
}

func newHash(name string, keySize, valueSize, maxEntries uint32) (*ebpf.Map, error) {
	return ebpf.NewMap(&ebpf.MapSpec{Name: name, Type: ebpf.Hash, KeySize: keySize, ValueSize: valueSize, MaxEntries: maxEntries})
}

func benchMaps(args []string) (any, error) {
	ops := intArg(args, 0, 1000000)
	m, err := newHash("bench", 4, 8, 1024)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = binary.LittleEndian.AppendUint32(nil, uint32(i))
	}
	value := make([]byte, 8)
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		binary.LittleEndian.PutUint64(value, uint64(i))
		if err := m.Update(keys[i&1023], value, ebpf.UpdateAny); err != nil {
			return nil, err
		}
	}
	updateNs := nsSince(t0) / float64(ops)
	var sum uint64
	t1 := time.Now()
	for i := 0; i < ops; i++ {
		if err := m.Lookup(keys[i&1023], &value); err == nil {
			sum += uint64(value[0])
		}
	}
	lookupNs := nsSince(t1) / float64(ops)

	// Batches: 65,536 elements, 1,024 per call, update then a full lookup walk, reps times.
	const n, b = 65536, 1024
	reps := intArg(args, 1, 5)
	bm, err := newHash("bench_batch", 4, 8, n)
	if err != nil {
		return nil, err
	}
	defer bm.Close()
	bkeys := make([]uint32, n)
	bvalues := make([]uint64, n)
	for i := range bkeys {
		bkeys[i] = uint32(i * 7)
		bvalues[i] = uint64(i)
	}
	tb0 := time.Now()
	for r := 0; r < reps; r++ {
		for i := 0; i < n; i += b {
			if _, err := bm.BatchUpdate(bkeys[i:i+b], bvalues[i:i+b], nil); err != nil {
				return nil, fmt.Errorf("batch update: %w", err)
			}
		}
	}
	tb1 := time.Now()
	outKeys := make([]uint32, b)
	outValues := make([]uint64, b)
	walked := 0
	for r := 0; r < reps; r++ {
		var cursor ebpf.MapBatchCursor
		for {
			count, err := bm.BatchLookup(&cursor, outKeys, outValues, nil)
			walked += count
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("batch lookup: %w", err)
			}
		}
	}
	tb2 := time.Now()
	if walked != n*reps {
		return nil, fmt.Errorf("walked %d", walked)
	}
	_ = sum
	per := float64(n * reps)
	return map[string]float64{
		"updateNs": round1(updateNs), "lookupNs": round1(lookupNs),
		"batchUpdateNs": round1(float64(tb1.Sub(tb0).Nanoseconds()) / per), "batchLookupNs": round1(float64(tb2.Sub(tb1).Nanoseconds()) / per),
	}, nil
}

// walkBatches reads every entry of m in BatchLookup calls of len(keys); returns entries seen and a checksum.
func walkBatches(m *ebpf.Map, keys []uint32, values []stats) (int, uint64, error) {
	var cursor ebpf.MapBatchCursor
	walked, sum := 0, uint64(0)
	for {
		count, err := m.BatchLookup(&cursor, keys, values, nil)
		for j := 0; j < count; j++ {
			sum += values[j].Packets
		}
		walked += count
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return walked, sum, nil
		}
		if err != nil {
			return walked, sum, fmt.Errorf("batch lookup: %w", err)
		}
	}
}

// fillBatches writes keys 0..n-1 with packets = ifindex = key, 1,024 a call.
func fillBatches(m *ebpf.Map, n int) error {
	const b = 1024
	keys := make([]uint32, b)
	values := make([]stats, b)
	for i := 0; i < n; i += b {
		c := min(b, n-i)
		for j := 0; j < c; j++ {
			keys[j] = uint32(i + j)
			values[j] = stats{Packets: uint64(i + j), Ifindex: uint32(i + j)}
		}
		if _, err := m.BatchUpdate(keys[:c], values[:c], nil); err != nil {
			return fmt.Errorf("batch update: %w", err)
		}
	}
	return nil
}

func benchTyped(args []string) (any, error) {
	ops := intArg(args, 0, 500000)
	walks := intArg(args, 1, 1)
	const n, b = 65536, 1024
	m, err := newHash("typed", 4, 24, n)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var k uint32
	var v stats
	t0 := time.Now()
	for i := 0; i < ops; i++ {
		k = uint32(i & 1023)
		v = stats{Packets: uint64(i), Bytes: uint64(i * 2), Ifindex: k}
		if err := m.Put(&k, &v); err != nil {
			return nil, err
		}
	}
	t1 := time.Now()
	var sink uint64
	for i := 0; i < ops; i++ {
		k = uint32(i & 1023)
		if err := m.Lookup(&k, &v); err == nil {
			sink += v.Packets + uint64(v.Ifindex)
		}
	}
	t2 := time.Now()
	t3 := time.Now()
	if err := fillBatches(m, n); err != nil {
		return nil, err
	}
	t4 := time.Now()
	keys := make([]uint32, b)
	values := make([]stats, b)
	walkNs := make([]float64, walks)
	for w := range walkNs {
		start := time.Now()
		walked, sum, err := walkBatches(m, keys, values)
		if err != nil {
			return nil, err
		}
		sink += sum
		walkNs[w] = nsSince(start) / float64(walked)
	}
	// The idiomatic walk, Map.Iterate: NextKey + Lookup per element.
	iterNs := make([]float64, walks)
	for w := range iterNs {
		start := time.Now()
		it := m.Iterate()
		walked := 0
		for it.Next(&k, &v) {
			sink += v.Packets
			walked++
		}
		if it.Err() != nil {
			return nil, it.Err()
		}
		iterNs[w] = nsSince(start) / float64(walked)
	}
	_ = sink
	return map[string]float64{
		"setNs": round1(float64(t1.Sub(t0).Nanoseconds()) / float64(ops)), "getNs": round1(float64(t2.Sub(t1).Nanoseconds()) / float64(ops)),
		"setManyNs": round1(float64(t4.Sub(t3).Nanoseconds()) / n), "entriesNs": round1(median(walkNs)), "entriesFirstNs": round1(walkNs[0]),
		"iterateNs": round1(median(iterNs)),
	}, nil
}

func benchWalk(args []string) (any, error) {
	n := intArg(args, 0, -1)
	walks := intArg(args, 1, 3)
	m, err := newHash("walk", 4, 24, uint32(n))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := fillBatches(m, n); err != nil {
		return nil, err
	}
	keys := make([]uint32, 1024)
	values := make([]stats, 1024)
	walkNs := make([]float64, walks)
	for w := range walkNs {
		start := time.Now()
		walked, _, err := walkBatches(m, keys, values)
		if err != nil {
			return nil, err
		}
		if walked != n {
			return nil, fmt.Errorf("walked %d of %d", walked, n)
		}
		walkNs[w] = nsSince(start) / float64(walked)
	}
	return map[string]float64{"entriesNs": round1(median(walkNs))}, nil
}
