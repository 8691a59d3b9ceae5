package bot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

type lookupChat struct{ *bottest.Chat }

func (lookupChat) Name() string { return "lookup" }

func (lookupChat) LookupUser(_ context.Context, u bot.UserRef) (bot.UserInfo, error) {
	if u.ID == "ghost" {
		return bot.UserInfo{}, errors.New("user_not_found")
	}
	return bot.UserInfo{Name: "Alice " + u.ID, Timezone: "Europe/Paris"}, nil
}

func TestLookupUser(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	if _, err := h.Engine.LookupUser(ctx, bot.UserRef{Adapter: "test", ID: "alice"}); !errors.Is(err, bot.ErrNoLookup) {
		t.Errorf("adapter without lookup: err = %v, want ErrNoLookup", err)
	}
	if _, err := h.Engine.LookupUser(ctx, bot.UserRef{Adapter: "nope", ID: "x"}); !errors.Is(err, bot.ErrNoLookup) {
		t.Errorf("unknown adapter: err = %v, want ErrNoLookup", err)
	}
	h.Engine.AddAdapter(lookupChat{bottest.NewChat(h.Clock)})
	info, err := h.Engine.LookupUser(ctx, bot.UserRef{Adapter: "lookup", ID: "U1"})
	if err != nil || info.Name != "Alice U1" || info.Timezone != "Europe/Paris" {
		t.Errorf("LookupUser = %+v, %v", info, err)
	}
	if _, err := h.Engine.LookupUser(ctx, bot.UserRef{Adapter: "lookup", ID: "ghost"}); err == nil {
		t.Error("a failing lookup returned no error")
	}
}
