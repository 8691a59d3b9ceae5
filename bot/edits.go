package bot

import "context"

// OnEdit registers a hook for edited messages (EventEdit): Event.Message is
// the message that changed and Event.Text its new text. Adapters do not
// send edits made by Vigil itself.
func (e *Engine) OnEdit(fn func(context.Context, *Request) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onEdit = append(e.onEdit, fn)
}

// OnDelete registers a hook for deleted messages (EventDelete):
// Event.Message is the message that is gone.
func (e *Engine) OnDelete(fn func(context.Context, *Request) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onDelete = append(e.onDelete, fn)
}

func (e *Engine) editHooks() []func(context.Context, *Request) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.onEdit
}

func (e *Engine) deleteHooks() []func(context.Context, *Request) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.onDelete
}
