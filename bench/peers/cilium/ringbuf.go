// Ring buffer consumption through cilium/ebpf's ringbuf.Reader (bench/ringbuf
// and the producers scale curve): records of { u64 seq; u32 len; u32 flags }
// written by bench/ringbuf/emit.bpf.c, read with ReadInto into a reused
// Record, two fields summed as the C helper does. The producer submits with
// BPF_RB_NO_WAKEUP, so the reader polls: a deadline in the past makes
// ReadInto return os.ErrDeadlineExceeded once the ring is empty.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

type ringSetup struct {
	coll   *ebpf.Collection
	reader *ringbuf.Reader
}

func openRing(obj string) (*ringSetup, error) {
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		return nil, err
	}
	c, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, err
	}
	rd, err := ringbuf.NewReader(c.Maps["records"])
	if err != nil {
		c.Close()
		return nil, err
	}
	rd.SetDeadline(time.Unix(1, 0))
	return &ringSetup{coll: c, reader: rd}, nil
}

func (s *ringSetup) close() {
	s.reader.Close()
	s.coll.Close()
}

// consume reads n records; returns the seconds from the first record to the last.
func (s *ringSetup) consume(n int) (float64, error) {
	var rec ringbuf.Record
	var checksum uint64
	var start time.Time
	for seen := 0; seen < n; {
		err := s.reader.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if seen == 0 {
			start = time.Now()
		}
		checksum += binary.LittleEndian.Uint64(rec.RawSample) + uint64(binary.LittleEndian.Uint32(rec.RawSample[8:]))
		seen++
	}
	_ = checksum
	return time.Since(start).Seconds(), nil
}

func benchRingbuf(args []string) (any, error) {
	obj := strArg(args, 0)
	n := intArg(args, 1, -1)
	s, err := openRing(obj)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if _, err := s.coll.Programs["emit"].Run(&ebpf.RunOptions{Data: make([]byte, 64), Repeat: uint32(n)}); err != nil {
		return nil, fmt.Errorf("test run: %w", err)
	}
	start := time.Now()
	if _, err := s.consume(n); err != nil {
		return nil, err
	}
	return map[string]float64{"recordsPerSec": float64(n) / time.Since(start).Seconds()}, nil
}

// benchRingbufMP: the program pinned at PIN, K producers started by PRODUCER
// (`PRODUCER produce PIN K N`, build/c/bench-scale), N records consumed while
// they run; the rate is taken from the first record to the last.
func benchRingbufMP(args []string) (any, error) {
	obj := strArg(args, 0)
	n := intArg(args, 1, -1)
	k := intArg(args, 2, -1)
	producer := strArg(args, 3)
	pin := strArg(args, 4)
	s, err := openRing(obj)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.coll.Programs["emit"].Pin(pin); err != nil {
		return nil, err
	}
	defer os.Remove(pin)
	cmd := exec.Command(producer, "produce", pin, strconv.Itoa(k), strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	secs, err := s.consume(n)
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("producer: %w", werr)
	}
	if err != nil {
		return nil, err
	}
	return map[string]float64{"recordsPerSec": float64(n) / secs}, nil
}
