package bot

import (
	"context"
	"errors"
	"fmt"
)

// UserInfo is what a chat service says about an account: how the person
// is called there and their time zone. Adapters that can look people up
// (Slack's users.info) implement UserLookup.
type UserInfo struct {
	Name     string
	Timezone string // IANA name such as "Europe/Paris"; "" if unknown
}

// UserLookup is implemented by adapters that can describe their users.
type UserLookup interface {
	LookupUser(ctx context.Context, u UserRef) (UserInfo, error)
}

// ErrNoLookup: the account's adapter is not connected or cannot describe
// its users; callers fall back to the directory.
var ErrNoLookup = errors.New("the chat adapter cannot look people up")

// LookupUser asks u's adapter about the account, e.g. for a time zone the
// directory does not have.
func (e *Engine) LookupUser(ctx context.Context, u UserRef) (UserInfo, error) {
	a, ok := e.adapter(u.Adapter)
	if !ok {
		return UserInfo{}, fmt.Errorf("look up %s: %w", u, ErrNoLookup)
	}
	l, ok := a.(UserLookup)
	if !ok {
		return UserInfo{}, fmt.Errorf("look up %s: %w", u, ErrNoLookup)
	}
	info, err := l.LookupUser(ctx, u)
	if err != nil {
		return UserInfo{}, fmt.Errorf("look up %s: %w", u, err)
	}
	return info, nil
}
