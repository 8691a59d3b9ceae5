package bot

// PromoteForTest undoes DemoteRoom, as Engine.PromoteRoom (rooms.go) will
// when a room becomes usable, and wakes the outbox.
func (e *Engine) PromoteForTest(room RoomRef) {
	e.mu.Lock()
	delete(e.demoted, room)
	e.mu.Unlock()
	e.wakeUp()
}
