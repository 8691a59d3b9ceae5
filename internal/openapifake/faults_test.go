package openapifake

import "testing"

func TestFaultsQueueInOrderAndCountTimes(t *testing.T) {
	var q Faults[string]
	if _, ok := q.Next("op"); ok {
		t.Fatal("an empty queue gave a fault")
	}
	q.Add("op", "first", 2)
	q.Add("op", "second", 0) // 0 means once
	q.Add("other", "elsewhere", 1)
	var got []string
	for {
		f, ok := q.Next("op")
		if !ok {
			break
		}
		got = append(got, f)
	}
	if want := []string{"first", "first", "second"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("faults for op = %v, want %v", got, want)
	}
	if f, ok := q.Next("other"); !ok || f != "elsewhere" {
		t.Fatalf("faults for other = %q, %v; want elsewhere", f, ok)
	}
}
