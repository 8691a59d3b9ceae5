package slack

import "sync"

// serializer runs functions one at a time per key, in the order they were
// queued, with different keys in parallel. slack-go would start a handler
// per envelope; two quick commands in one thread could then answer out of
// order or race on the same form. One goroutine per busy key drains its
// queue and exits when it is empty, so idle conversations cost nothing.
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
