package serial

import (
	"fmt"
	"sync"
	"testing"
)

func TestOrderPerKeyAndParallelKeys(t *testing.T) {
	q := New()
	var mu sync.Mutex
	got := map[string][]int{}
	gate := make(chan struct{})
	// Key "slow" is blocked; key "fast" must still run meanwhile.
	q.Do("slow", func() { <-gate })
	for i := range 100 {
		for _, k := range []string{"slow", "fast"} {
			q.Do(k, func() {
				mu.Lock()
				got[k] = append(got[k], i)
				mu.Unlock()
			})
		}
	}
	for {
		mu.Lock()
		n := len(got["fast"])
		mu.Unlock()
		if n == 100 {
			break
		}
	}
	mu.Lock()
	if len(got["slow"]) != 0 {
		t.Errorf("slow ran %d items past its blocked head", len(got["slow"]))
	}
	mu.Unlock()
	close(gate)
	q.Wait()
	for _, k := range []string{"slow", "fast"} {
		for i, v := range got[k] {
			if v != i {
				t.Fatalf("key %s ran out of order: %v", k, fmt.Sprint(got[k][:i+1]))
			}
		}
	}
}
