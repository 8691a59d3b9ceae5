package console_test

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

func TestEditAndDeleteFollowAPinnedLine(t *testing.T) {
	out, evs := incidentSession(t, strings.Join([]string{
		`/sec incident start "Leaked token"`,
		":as bob",
		"revoked the tokn",
		"unrelated chatter",
		":react 2 📌", // the printed confirmation does not count for :edit
		":edit 2 revoked the token at the provider",
		"/sec incident timeline",
		":delete 2",
		"/sec incident timeline",
		":edit 2 gone", // only "unrelated chatter" is left to edit
	}, "\n"), bot.EventEdit, bot.EventDelete)
	bottest.InOrder(t, out,
		"Timeline #1", "@bob): revoked the tokn",
		"Timeline #1 follows the edit of its message", "@bob): revoked the token at the provider",
		"#1 09:00 @bob: revoked the token at the provider (edited)",
		"Timeline #1 (2026-01-05 09:00 UTC, @bob) removed: its message was deleted.",
		"The timeline of INC-2026-1 is empty",
		"usage: :edit N TEXT, with N from 1 (the last message typed here) to 1")
	if len(evs) != 2 {
		t.Fatalf("events %+v, want an edit and a delete", evs)
	}
	if evs[0].Kind != bot.EventEdit || evs[0].Text != "revoked the token at the provider" || evs[0].User.ID != "bob" ||
		evs[1].Kind != bot.EventDelete || evs[1].Message != evs[0].Message || evs[0].Message.ID == "" {
		t.Errorf("events %+v", evs)
	}
}

func TestEditAndDeleteUsage(t *testing.T) {
	out, evs := incidentSession(t, strings.Join([]string{
		":edit 1 nothing typed yet",
		"only line",
		":edit 2 too far",
		":edit 1",
		":delete x",
		":delete 1",
		":delete 1", // it is gone
		":help",
	}, "\n"), bot.EventEdit, bot.EventDelete)
	bottest.InOrder(t, out,
		"usage: :edit N TEXT, with N from 1 (the last message typed here) to 0",
		"usage: :edit N TEXT, with N from 1 (the last message typed here) to 1",
		"usage: :edit N TEXT, with N from 1 (the last message typed here) to 1",
		"usage: :delete N, with N from 1 (the last message typed here) to 1",
		"usage: :delete N, with N from 1 (the last message typed here) to 0",
		":edit N TEXT", ":delete N")
	if len(evs) != 1 || evs[0].Kind != bot.EventDelete {
		t.Errorf("events %+v, want the one good :delete", evs)
	}
}
