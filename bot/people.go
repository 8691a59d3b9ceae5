package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/store"
)

const peopleCollection = "people"

// peopleEdit is a stored change to the directory made in chat: a person
// added or changed (Person set), or removed (Removed).
type peopleEdit struct {
	Person  *Person `json:"person,omitempty"`
	Removed bool    `json:"removed,omitempty"`
}

// refreshPeople reloads the directory when the event read a stamp of the
// people edits other than the one the directory was built from: an admin's
// edit on another replica counts from the next event, not 30 s later.
func (e *Engine) refreshPeople(ctx context.Context) {
	obs := observedIn(ctx)
	if obs == nil {
		return
	}
	field := store.StampField(peopleCollection, "")
	if s, ok := obs.stamp(field); !ok || s == e.peopleStamp.Load() {
		return
	}
	err := e.LoadPeople(ctx)
	if err != nil {
		// Not retried by every event (a bad edit would cost each one a
		// round trip and a log line); the 30 s refresh tries again.
		e.log.Warn("could not reload the directory after a change", "err", err)
	}
	// LoadPeople read the edits at this stamp (or a later one it loaded).
	if s, ok := obs.stamp(field); ok {
		e.peopleStamp.Store(s)
	}
}

// LoadPeople rebuilds the directory: the configured people, with the edits
// admins made in chat layered on top.
func (e *Engine) LoadPeople(ctx context.Context) error {
	ids, err := e.store.List(ctx, peopleCollection)
	if err != nil {
		return fmt.Errorf("load people: %w", err)
	}
	byName := map[string]Person{}
	order := []string{}
	for _, p := range e.base {
		byName[p.Name] = p
		order = append(order, p.Name)
	}
	for _, id := range ids {
		doc, err := e.store.Get(ctx, peopleCollection, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("load people: %w", err)
		}
		var ed peopleEdit
		if err := json.Unmarshal(doc.Data, &ed); err != nil {
			return fmt.Errorf("load person %s: %w: %v", id, store.ErrCorrupt, err)
		}
		if _, known := byName[id]; !known && !ed.Removed {
			order = append(order, id)
		}
		if ed.Removed {
			delete(byName, id)
		} else if ed.Person != nil {
			byName[id] = *ed.Person
		}
	}
	people := make([]Person, 0, len(byName))
	for _, name := range order {
		if p, ok := byName[name]; ok {
			people = append(people, p)
		}
	}
	return e.directory.Replace(people)
}

// SavePerson adds or changes a person in the directory (an admin's edit in
// chat). The whole directory is validated first, so a clash (a chat account
// already used by someone else) changes nothing.
func (e *Engine) SavePerson(ctx context.Context, p Person) error {
	all := e.directory.All()
	replaced := false
	for i := range all {
		if all[i].Name == p.Name {
			all[i], replaced = p, true
		}
	}
	if !replaced {
		all = append(all, p)
	}
	if _, err := NewDirectory(all); err != nil {
		return Usagef("%v", err)
	}
	data, err := json.Marshal(peopleEdit{Person: &p})
	if err != nil {
		return err
	}
	if _, err := e.store.Put(ctx, peopleCollection, p.Name, data, store.AnyVersion); err != nil {
		return fmt.Errorf("save person @%s: %w", p.Name, err)
	}
	return e.directory.Replace(all)
}

// RemovePerson removes a person from the directory.
func (e *Engine) RemovePerson(ctx context.Context, name string) error {
	if _, ok := e.directory.ByName(name); !ok {
		return Usagef("there is no @%s in the directory", name)
	}
	data, _ := json.Marshal(peopleEdit{Removed: true})
	if _, err := e.store.Put(ctx, peopleCollection, name, data, store.AnyVersion); err != nil {
		return fmt.Errorf("remove person @%s: %w", name, err)
	}
	var keep []Person
	for _, p := range e.directory.All() {
		if p.Name != name {
			keep = append(keep, p)
		}
	}
	return e.directory.Replace(keep)
}
