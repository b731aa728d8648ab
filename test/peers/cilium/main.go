// Command cilium-peer reports what cilium/ebpf makes of a BPF ELF object, as
// JSON on stdout, for tsbpf's differential tests (test/peers/). It is built
// at test time against the cilium/ebpf version pinned in go.mod; nothing of
// cilium/ebpf is copied into the repository.
//
//	cilium-peer spec FILE          programs and maps of the object (cilium's CollectionSpec)
//	cilium-peer load FILE PINDIR   each program loaded on its own, pinned at PINDIR/<name>
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

type insn struct {
	Op     uint8  `json:"op"`
	Dst    uint8  `json:"dst"`
	Src    uint8  `json:"src"`
	Off    int16  `json:"off"`
	Imm    int64  `json:"imm,string"`
	Symbol string `json:"symbol,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

type program struct {
	Name        string `json:"name"`
	SectionName string `json:"sectionName"`
	Type        uint32 `json:"type"`
	AttachType  uint32 `json:"attachType"`
	AttachTo    string `json:"attachTo"`
	License     string `json:"license"`
	// Slots of the program's own function (8 bytes each), subprograms excluded.
	OwnSlots     int    `json:"ownSlots"`
	Instructions []insn `json:"instructions"`
}

type mapSpec struct {
	Name       string   `json:"name"`
	Type       uint32   `json:"type"`
	KeySize    uint32   `json:"keySize"`
	ValueSize  uint32   `json:"valueSize"`
	MaxEntries uint32   `json:"maxEntries"`
	Flags      uint32   `json:"flags"`
	Pinning    uint32   `json:"pinning"`
	MapExtra   uint64   `json:"mapExtra"`
	InnerMap   *mapSpec `json:"innerMap,omitempty"`
}

type specOut struct {
	ByteOrder string    `json:"byteOrder"`
	Programs  []program `json:"programs"`
	Maps      []mapSpec `json:"maps"`
	Error     string    `json:"error,omitempty"`
}

type loadOut struct {
	Programs map[string]string `json:"programs"` // name -> "" when loaded, else the error
	Error    string            `json:"error,omitempty"`
}

func toMap(m *ebpf.MapSpec) *mapSpec {
	if m == nil {
		return nil
	}
	return &mapSpec{m.Name, uint32(m.Type), m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, uint32(m.Pinning), m.MapExtra, toMap(m.InnerMap)}
}

func toProgram(p *ebpf.ProgramSpec) program {
	out := program{Name: p.Name, SectionName: p.SectionName, Type: uint32(p.Type), AttachType: uint32(p.AttachType), AttachTo: p.AttachTo, License: p.License}
	own := true
	for i, ins := range p.Instructions {
		if i > 0 && ins.Symbol() != "" {
			own = false
		}
		if own {
			out.OwnSlots += int(ins.Size() / asm.InstructionSize)
		}
		out.Instructions = append(out.Instructions, insn{uint8(ins.OpCode), uint8(ins.Dst), uint8(ins.Src), ins.Offset, ins.Constant, ins.Symbol(), ins.Reference()})
	}
	return out
}

func spec(file string) specOut {
	s, err := ebpf.LoadCollectionSpec(file)
	if err != nil {
		return specOut{Error: err.Error()}
	}
	out := specOut{ByteOrder: "little", Programs: []program{}, Maps: []mapSpec{}}
	if s.ByteOrder == binary.BigEndian {
		out.ByteOrder = "big"
	}
	for _, p := range s.Programs {
		out.Programs = append(out.Programs, toProgram(p))
	}
	for _, m := range s.Maps {
		out.Maps = append(out.Maps, *toMap(m))
	}
	sort.Slice(out.Programs, func(i, j int) bool { return out.Programs[i].Name < out.Programs[j].Name })
	sort.Slice(out.Maps, func(i, j int) bool { return out.Maps[i].Name < out.Maps[j].Name })
	return out
}

// load loads each program on its own (with the maps of the object), so that
// one program the kernel refuses does not hide the outcome of the others.
func load(file, pinDir string) loadOut {
	s, err := ebpf.LoadCollectionSpec(file)
	if err != nil {
		return loadOut{Error: err.Error()}
	}
	out := loadOut{Programs: map[string]string{}}
	// Maps pinned by name (LIBBPF_PIN_BY_NAME) go under PINDIR/maps, never elsewhere.
	maps := filepath.Join(pinDir, "maps")
	if err := os.MkdirAll(maps, 0o700); err != nil {
		return loadOut{Error: err.Error()}
	}
	for name := range s.Programs {
		out.Programs[name] = loadOne(s, name, pinDir, maps)
	}
	return out
}

// loadOne loads one program with the object's maps and pins it: "" or why not.
func loadOne(s *ebpf.CollectionSpec, name, pinDir, maps string) (why string) {
	defer func() {
		if r := recover(); r != nil {
			why = fmt.Sprintf("cilium/ebpf panicked: %v", r)
		}
	}()
	one := s.Copy()
	for other := range one.Programs {
		if other != name {
			delete(one.Programs, other)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: maps}})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			err = fmt.Errorf("%s", ve.Error())
		}
		return err.Error()
	}
	defer coll.Close()
	prog := coll.Programs[name]
	if prog == nil {
		return "not in the loaded collection"
	}
	if err := prog.Pin(filepath.Join(pinDir, name)); err != nil {
		return "pin: " + err.Error()
	}
	return ""
}

func main() {
	var v any
	switch {
	case len(os.Args) == 3 && os.Args[1] == "spec":
		v = spec(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "load":
		v = load(os.Args[2], os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "usage: cilium-peer spec FILE | load FILE PINDIR")
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		os.Exit(1)
	}
}
