package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// cpuWindow measures the process's CPU between start and stop: a CPU
// profile (for the split by pprof label) and getrusage (for the total).
type cpuWindow struct {
	buf       bytes.Buffer
	began     time.Time
	wall      time.Duration
	ruStart   time.Duration
	total     time.Duration // rusage user+system over the window
	byLabel   map[string]time.Duration
	sampled   time.Duration // sum of the profile's samples
	sampleNum int64
}

func (w *cpuWindow) start() error {
	if err := pprof.StartCPUProfile(&w.buf); err != nil {
		return fmt.Errorf("start the CPU profile: %w", err)
	}
	w.began, w.ruStart = time.Now(), rusageCPU()
	return nil
}

// stop ends the window and splits the profile's CPU by the value of key.
func (w *cpuWindow) stop(key string) error {
	pprof.StopCPUProfile()
	w.wall, w.total = time.Since(w.began), rusageCPU()-w.ruStart
	var err error
	w.byLabel, w.sampleNum, err = cpuByLabel(w.buf.Bytes(), key)
	for _, d := range w.byLabel {
		w.sampled += d
	}
	return err
}

// perSecond is CPU-seconds per second of the window.
func (w *cpuWindow) perSecond(d time.Duration) float64 {
	if w.wall <= 0 {
		return 0
	}
	return d.Seconds() / w.wall.Seconds()
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Field numbers of profile.proto (github.com/google/pprof/proto/profile.proto).
const (
	profileSampleType  = 1
	profileSample      = 2
	profileStringTable = 6
	valueTypeType      = 1
	sampleValue        = 2
	sampleLabel        = 3
	labelKey           = 1
	labelStr           = 2
)

// cpuByLabel sums a CPU profile's (gzipped profile.proto, as
// runtime/pprof writes it) CPU time by the value of the label key; samples
// without it count under "". It also returns how many samples there were.
func cpuByLabel(data []byte, key string) (map[string]time.Duration, int64, error) {
	if len(data) == 0 {
		return nil, 0, errors.New("empty CPU profile")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("read the CPU profile: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, 0, fmt.Errorf("read the CPU profile: %w", err)
	}
	var types []uint64 // string indexes of the sample types
	var samples [][]byte
	var strs []string
	err = fields(raw, func(num protowire.Number, v uint64, b []byte) {
		switch num {
		case profileSampleType:
			_ = fields(b, func(n protowire.Number, v uint64, _ []byte) {
				if n == valueTypeType {
					types = append(types, v)
				}
			})
		case profileSample:
			samples = append(samples, b)
		case profileStringTable:
			strs = append(strs, string(b))
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("parse the CPU profile: %w", err)
	}
	cpu := len(types) - 1 // runtime/pprof writes "samples", then "cpu" (nanoseconds)
	for i, t := range types {
		if t < uint64(len(strs)) && strs[t] == "cpu" {
			cpu = i
		}
	}
	keyIdx := -1
	for i, s := range strs {
		if s == key {
			keyIdx = i
		}
	}
	out := map[string]time.Duration{}
	for _, smp := range samples {
		var values []int64
		label := ""
		err := fields(smp, func(num protowire.Number, v uint64, b []byte) {
			switch num {
			case sampleValue:
				if b == nil {
					values = append(values, int64(v)) // #nosec G115 -- protobuf sends an int64 as its two's complement varint
					return
				}
				for len(b) > 0 { // packed
					x, n := protowire.ConsumeVarint(b)
					if n < 0 {
						return
					}
					values, b = append(values, int64(x)), b[n:] // #nosec G115 -- as above
				}
			case sampleLabel:
				var k, s uint64
				_ = fields(b, func(n protowire.Number, v uint64, _ []byte) {
					switch n {
					case labelKey:
						k = v
					case labelStr:
						s = v
					}
				})
				if keyIdx >= 0 && k == uint64(keyIdx) && s < uint64(len(strs)) {
					label = strs[s]
				}
			}
		})
		if err != nil {
			return nil, 0, fmt.Errorf("parse the CPU profile: %w", err)
		}
		if cpu >= 0 && cpu < len(values) {
			out[label] += time.Duration(values[cpu])
		}
	}
	return out, int64(len(samples)), nil
}

// fields calls fn for each field of a protobuf message: v for varints, b
// for length-delimited fields (nil otherwise). Other wire types are skipped.
func fields(msg []byte, fn func(num protowire.Number, v uint64, b []byte)) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return protowire.ParseError(n)
		}
		msg = msg[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(msg)
			if n < 0 {
				return protowire.ParseError(n)
			}
			fn(num, v, nil)
			msg = msg[n:]
		case protowire.BytesType:
			b, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return protowire.ParseError(n)
			}
			fn(num, 0, b)
			msg = msg[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, msg)
			if n < 0 {
				return protowire.ParseError(n)
			}
			msg = msg[n:]
		}
	}
	return nil
}
