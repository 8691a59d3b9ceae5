package openapifake

import "sync"

// Faults queues the faults a test injects, per operation id, in order. F
// is the fake's own fault description. The zero value is ready to use.
type Faults[F any] struct {
	mu     sync.Mutex
	queued map[string][]*queuedFault[F]
}

type queuedFault[F any] struct {
	fault F
	left  int
}

// Add queues fault for the next times requests for operation (at least
// one).
func (q *Faults[F]) Add(operation string, fault F, times int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued == nil {
		q.queued = map[string][]*queuedFault[F]{}
	}
	q.queued[operation] = append(q.queued[operation], &queuedFault[F]{fault: fault, left: max(times, 1)})
}

// Next takes the fault for the current request for operation, if any.
func (q *Faults[F]) Next(operation string) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	queue := q.queued[operation]
	if len(queue) == 0 {
		var none F
		return none, false
	}
	head := queue[0]
	head.left--
	if head.left <= 0 {
		q.queued[operation] = queue[1:]
	}
	return head.fault, true
}
