// Package serial runs work one at a time per key, in the order it was
// queued, with different keys in parallel. Chat adapters use it to keep
// each conversation (channel or room, and thread) in order: their client
// libraries start a handler per event, and two quick commands in one thread
// could otherwise answer out of order or race on the same form. One
// goroutine per busy key drains its queue and exits when it is empty, so
// idle conversations cost nothing.
package serial

import "sync"

// Queues is a set of per-key work queues. The zero value is not ready; use
// New.
type Queues struct {
	mu     sync.Mutex
	queues map[string][]func()
	wg     sync.WaitGroup
}

// New returns empty queues.
func New() *Queues { return &Queues{queues: map[string][]func(){}} }

// Do queues fn behind the work already queued for key.
func (s *Queues) Do(key string, fn func()) {
	s.mu.Lock()
	q, busy := s.queues[key]
	s.queues[key] = append(q, fn)
	if !busy {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if !busy {
		go s.drain(key)
	}
}

func (s *Queues) drain(key string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		q := s.queues[key]
		if len(q) == 0 {
			delete(s.queues, key)
			s.mu.Unlock()
			return
		}
		fn := q[0]
		s.queues[key] = q[1:]
		s.mu.Unlock()
		fn()
	}
}

// Wait returns when every queued function has run.
func (s *Queues) Wait() { s.wg.Wait() }
