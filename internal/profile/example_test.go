package profile_test

import (
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

func Example() {
	// 1. Ramp up to 10 virtual users over 10s, then hold until 1m.
	p, err := profile.RampUp(profile.Closed, 10, 10*time.Second, time.Minute)
	if err != nil {
		panic(err)
	}
	// 2. Three workers whose capacities are 2:1:1.
	sp, err := profile.NewSplitter([]float64{2, 1, 1})
	if err != nil {
		panic(err)
	}
	for _, t := range []time.Duration{0, 2 * time.Second, 5 * time.Second, 30 * time.Second} {
		n := p.TargetInt(t)
		fmt.Printf("%v: %d VUs → %v\n", t, n, sp.Counts(n))
	}
	// 4. At 30s someone ramps the run to 20 VUs over 10s.
	p = p.Retarget(30*time.Second, 20, 10*time.Second)
	for _, t := range []time.Duration{35 * time.Second, 45 * time.Second} {
		n := p.TargetInt(t)
		fmt.Printf("%v: %d VUs → %v\n", t, n, sp.Counts(n))
	}
	// Output:
	// 0s: 0 VUs → [0 0 0]
	// 2s: 2 VUs → [1 1 0]
	// 5s: 5 VUs → [3 1 1]
	// 30s: 10 VUs → [5 3 2]
	// 35s: 15 VUs → [8 4 3]
	// 45s: 20 VUs → [10 5 5]
}

func ExampleProfile_Pacer() {
	// 3. An open-model shard with half of a 4 iterations/s run gets 2/s.
	p, err := profile.ConstantArrivalRate(4, 2*time.Second)
	if err != nil {
		panic(err)
	}
	shard := p.Scale(0.5)
	pc := shard.Pacer(0, 0.5)
	for at, ok := pc.Next(); ok; at, ok = pc.Next() {
		fmt.Println(at)
	}
	fmt.Println(pc.Issued(), "iterations, as", shard.Arrivals(0, shard.Duration()), "were due")
	// Output:
	// 250ms
	// 750ms
	// 1.25s
	// 1.75s
	// 4 iterations, as 4 were due
}

func ExampleProfile_Shift() {
	// A shard retried 45s into a ramp from 0 to 100 over 1m resumes at 75.
	p, err := profile.RampUp(profile.Closed, 100, time.Minute, time.Minute)
	if err != nil {
		panic(err)
	}
	rest := p.Shift(45 * time.Second)
	fmt.Println(rest.Start, rest.Duration(), rest.Target(15*time.Second))
	// Output:
	// 75 15s 100
}
