package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// runSocket keeps the Socket Mode connection and serves its envelopes
// until ctx ends. slack-go reconnects by itself after a drop or a
// "disconnect" request; it gives up (and Run returns an error) only when
// Slack refuses the app token.
func (a *Adapter) runSocket(ctx context.Context) error {
	client := socketmode.New(a.api)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", classify("apps.connections.open", err))
		case evt := <-client.Events:
			a.onSocketEvent(ctx, client, evt)
		}
	}
}

func (a *Adapter) setSocketUp(up bool, cause string) {
	if up {
		a.conn.Up()
		return
	}
	a.conn.Down("reconnecting Socket Mode", cause)
}

// onSocketEvent acknowledges an envelope at once and queues its work.
// Envelopes are read by this one loop, so their order is kept up to the
// per-conversation queues.
func (a *Adapter) onSocketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Debug("connecting to Slack (Socket Mode)")
	case socketmode.EventTypeConnected:
		a.log.Info("Socket Mode connected")
		a.setSocketUp(true, "")
	case socketmode.EventTypeHello:
		a.log.Debug("Socket Mode hello")
	case socketmode.EventTypeConnectionError:
		a.log.Warn("Socket Mode connection failed; retrying", "err", evt.Data)
		a.setSocketUp(false, "connection failed")
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("Slack refused the app-level token (check slack.app_token)")
		a.setSocketUp(false, "Slack refused the app-level token")
	case socketmode.EventTypeDisconnect:
		a.log.Info("Slack asked to reconnect")
		a.setSocketUp(false, "Slack asked to reconnect")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.Warn("Socket Mode trouble", "type", string(evt.Type), "detail", evt.Data)
	case socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		a.ack(ctx, client, evt.Request, nil)
		if evt.Request.RetryAttempt > 0 {
			a.log.Debug("Slack redelivered an event", "attempt", evt.Request.RetryAttempt, "reason", evt.Request.RetryReason)
		}
		a.onEventCallback(evt.Request.Payload)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.ack(ctx, client, evt.Request, nil)
		a.onCommand(cmd)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		if cb.Type == slack.InteractionTypeViewSubmission {
			// The answer (inline errors) is the ack's payload, and it may
			// take a moment: do not hold up other envelopes meanwhile.
			req := evt.Request
			go func() {
				payload, _ := a.onInteraction(cb)
				a.ack(ctx, client, req, payload)
			}()
			return
		}
		a.ack(ctx, client, evt.Request, nil)
		a.onInteraction(cb)
	}
}

// ack answers an envelope by its id.
func (a *Adapter) ack(ctx context.Context, client *socketmode.Client, req *socketmode.Request, payload any) {
	if err := client.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		a.log.Warn("could not acknowledge a Socket Mode envelope", "envelope", req.EnvelopeID, "err", err)
	}
}
