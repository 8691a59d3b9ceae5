package matrix

import "sync"

// serializer runs functions one at a time per key, in the order they were
// queued, with different keys in parallel. It carries events decrypted
// after their sync batch (the keys arrived late); batch events go through
// runBatch, which groups them the same way.
type serializer struct {
	mu     sync.Mutex
	queues map[string][]func()
	wg     sync.WaitGroup
}

func newSerializer() *serializer { return &serializer{queues: map[string][]func(){}} }

// Do queues fn behind the work already queued for key.
func (s *serializer) Do(key string, fn func()) {
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

func (s *serializer) drain(key string) {
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
func (s *serializer) Wait() { s.wg.Wait() }
