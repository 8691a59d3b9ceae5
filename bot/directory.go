package bot

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Role is what a person may do.
type Role string

const (
	// RoleResponder is a member of the security team.
	RoleResponder Role = "responder"
	// RoleMaintainer maintains named repositories.
	RoleMaintainer Role = "maintainer"
	// RoleAdmin administers Vigil (rotations, people, audit log).
	RoleAdmin Role = "admin"
)

// TeamRoles are the roles of the security team (responders and admins),
// the usual Roles of a team-only command or action; Person.OnTeam tells the
// same people apart. A new slice each call, so no caller can change another's.
func TeamRoles() []Role { return []Role{RoleResponder, RoleAdmin} }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleResponder, RoleMaintainer, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want responder, maintainer or admin)", s)
}

// Person is one entry of the people directory.
type Person struct {
	// Name is the unique handle used in commands (@alice).
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Chat        map[string]string `json:"chat,omitempty"` // adapter -> platform user id
	GitHub      string            `json:"github,omitempty"`
	Email       string            `json:"email,omitempty"`
	Roles       []Role            `json:"roles,omitempty"`
	Maintains   []string          `json:"maintains,omitempty"` // owner/repo
	Timezone    string            `json:"timezone,omitempty"`
}

// Has reports whether the person holds role. Maintaining any repository
// makes a person a maintainer.
func (p *Person) Has(role Role) bool {
	if p == nil {
		return false
	}
	if role == RoleMaintainer && len(p.Maintains) > 0 {
		return true
	}
	return slices.Contains(p.Roles, role)
}

// OnTeam reports whether the person may see report details: responders and
// admins.
func (p *Person) OnTeam() bool { return p.Has(RoleResponder) || p.Has(RoleAdmin) }

// ChatRef returns the person's account on adapter.
func (p *Person) ChatRef(adapter string) (UserRef, bool) {
	if p == nil {
		return UserRef{}, false
	}
	id, ok := p.Chat[adapter]
	if !ok || id == "" {
		return UserRef{}, false
	}
	return UserRef{Adapter: adapter, ID: id}, true
}

// ChatRefs returns the person's accounts on every adapter, sorted, for
// Message.Mentions.
func (p *Person) ChatRefs() []UserRef {
	if p == nil {
		return nil
	}
	var out []UserRef
	for adapter, id := range p.Chat {
		if id != "" {
			out = append(out, UserRef{Adapter: adapter, ID: id})
		}
	}
	slices.SortFunc(out, func(a, b UserRef) int { return strings.Compare(a.Adapter+"\x00"+a.ID, b.Adapter+"\x00"+b.ID) })
	return out
}

// Label is how the person is shown in messages.
func (p *Person) Label() string {
	if p == nil {
		return "someone unknown"
	}
	if p.DisplayName != "" {
		return p.DisplayName + " (@" + p.Name + ")"
	}
	return "@" + p.Name
}

// Directory is the people directory: the base from configuration plus the
// edits admins make in chat (persisted by the engine and layered on top).
// It is safe for concurrent use.
type Directory struct {
	mu     sync.RWMutex
	people map[string]*Person // by name
	byChat map[UserRef]string // chat account -> name
}

// NewDirectory builds a directory and checks that names and chat accounts
// are unique.
func NewDirectory(people []Person) (*Directory, error) {
	d := &Directory{}
	if err := d.Replace(people); err != nil {
		return nil, err
	}
	return d, nil
}

// Replace swaps the whole directory atomically after validating it.
func (d *Directory) Replace(people []Person) error {
	byName := make(map[string]*Person, len(people))
	byChat := make(map[UserRef]string)
	for i := range people {
		p := people[i]
		if err := ValidPersonName(p.Name); err != nil {
			return err
		}
		if _, dup := byName[p.Name]; dup {
			return fmt.Errorf("person @%s is listed twice", p.Name)
		}
		for adapter, id := range p.Chat {
			ref := UserRef{Adapter: adapter, ID: id}
			if other, dup := byChat[ref]; dup {
				return fmt.Errorf("chat account %s belongs to both @%s and @%s", ref, other, p.Name)
			}
			byChat[ref] = p.Name
		}
		byName[p.Name] = &p
	}
	d.mu.Lock()
	d.people, d.byChat = byName, byChat
	d.mu.Unlock()
	return nil
}

// ValidPersonName checks a directory handle: lower-case letters, digits,
// dot, dash and underscore.
func ValidPersonName(name string) error {
	if name == "" {
		return fmt.Errorf("a person needs a name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("person name %q: use lower-case letters, digits, '.', '-' and '_'", name)
		}
	}
	return nil
}

// ByName returns a copy of the person called name (with or without '@').
func (d *Directory) ByName(name string) (*Person, bool) {
	name = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "@")
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.people[name]
	if !ok {
		return nil, false
	}
	c := *p
	return &c, true
}

// ByChat returns the person who owns a chat account.
func (d *Directory) ByChat(u UserRef) (*Person, bool) {
	d.mu.RLock()
	name, ok := d.byChat[u]
	d.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return d.ByName(name)
}

// All returns copies of everyone, sorted by name.
func (d *Directory) All() []Person {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Person, 0, len(d.people))
	for _, p := range d.people {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns every handle, sorted; used in "unknown person" errors.
func (d *Directory) Names() []string {
	all := d.All()
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}
