package bot

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store/embedded"
)

type downAdapter struct{ reason string }

func (downAdapter) Name() string { return "chat" }
func (downAdapter) Send(context.Context, Destination, Message) (MessageRef, error) {
	return MessageRef{}, ErrUnavailable
}
func (downAdapter) Connected() bool              { return false }
func (d downAdapter) NotConnectedReason() string { return d.reason }

func newTestEngine(t *testing.T, rooms ...RoomRef) *Engine {
	t.Helper()
	st, err := embedded.Open(t.TempDir() + "/vigil.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := New(Options{Store: st, Clock: clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), PrivateRooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A demoted room is private again once promoted, and the outbox is woken
// so what was held for it goes out now; promoting never makes a room
// private that was not configured or created private.
func TestPromoteRoomRestoresAndWakesTheOutbox(t *testing.T) {
	room := RoomRef{Adapter: "chat", ID: "sec"}
	e := newTestEngine(t, room)
	e.DemoteRoom(room, "not checked yet")
	if e.IsPrivate(room) || e.DemotionReason(room) != "not checked yet" || len(e.PrivateRooms()) != 0 {
		t.Fatalf("demoted: private=%v reason=%q rooms=%v", e.IsPrivate(room), e.DemotionReason(room), e.PrivateRooms())
	}
	select {
	case <-e.wake:
	default:
	}
	e.PromoteRoom(room)
	if !e.IsPrivate(room) || e.DemotionReason(room) != "" || len(e.PrivateRooms()) != 1 {
		t.Errorf("promoted: private=%v reason=%q", e.IsPrivate(room), e.DemotionReason(room))
	}
	select {
	case <-e.wake:
	default:
		t.Error("PromoteRoom did not wake the outbox")
	}
	// Promoting a room that is not demoted changes nothing and wakes nobody.
	e.PromoteRoom(room)
	select {
	case <-e.wake:
		t.Error("a promotion that changed nothing woke the outbox")
	default:
	}
	stranger := RoomRef{Adapter: "chat", ID: "public"}
	e.DemoteRoom(stranger, "public")
	e.PromoteRoom(stranger)
	if e.IsPrivate(stranger) {
		t.Error("PromoteRoom made an unconfigured room private")
	}
}

// Ready names each adapter that is not connected and why, in name order.
func TestReadySaysWhyAnAdapterIsNotConnected(t *testing.T) {
	e := newTestEngine(t)
	if err := e.Ready(context.Background()); err != nil {
		t.Fatalf("no adapters: %v", err)
	}
	e.AddAdapter(downAdapter{reason: "connecting (auth.test: connection refused), next try in 8s"})
	err := e.Ready(context.Background())
	if err == nil || err.Error() != "chat: connecting (auth.test: connection refused), next try in 8s" {
		t.Errorf("Ready = %v", err)
	}
	if up := e.AdapterStates()["chat"]; up {
		t.Error("AdapterStates says connected")
	}
}
