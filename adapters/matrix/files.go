package matrix

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif"  // sizes of GIF images in m.image info
	_ "image/jpeg" // and of JPEG ones
	_ "image/png"  // and of PNG ones (the stats chart)

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

// Files (bot.Message.Files) follow the message's text in the same room and
// thread, one event each: m.image for images (with mimetype, size, and
// width and height when the image says them), m.file otherwise. In an
// encrypted room the bytes are encrypted before they leave (AES-CTR with a
// fresh key, mautrix's crypto/attachment), the ciphertext goes to the
// media repository, and the key travels in the event's "file", inside the
// encrypted event; in an unencrypted room the file is uploaded as it is.

// sendFiles sends msg's files into room (and thread). With a delivery id
// each file's event has a transaction id of its own derived from it, so a
// retry does not show a file twice (its upload is repeated: media uploads
// are not idempotent; the unused copy is never referenced).
func (a *Adapter) sendFiles(ctx context.Context, room id.RoomID, thread string, msg bot.Message) (id.EventID, error) {
	encrypted, err := a.roomEncrypted(ctx, room)
	if err != nil {
		return "", err
	}
	var first id.EventID
	for i, f := range msg.Files {
		content, err := a.fileContent(ctx, f, encrypted)
		if err != nil {
			return first, err
		}
		if thread != "" {
			content.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(thread), id.EventID(thread))
		}
		var extra []mautrix.ReqSendEvent
		if msg.DeliveryID != "" {
			extra = append(extra, mautrix.ReqSendEvent{TransactionID: txnID(fmt.Sprintf("%s\x00file:%d", msg.DeliveryID, i))})
		}
		resp, err := a.client.SendMessageEvent(mautrix.WithMaxRetries(ctx, 0), room, event.EventMessage, content, extra...)
		if err != nil {
			return first, classify("send a file", err)
		}
		if first == "" {
			first = resp.EventID
		}
	}
	return first, nil
}

// roomEncrypted reports whether the bot's events in room are encrypted
// (knowEncryption has made sure the state store knows).
func (a *Adapter) roomEncrypted(ctx context.Context, room id.RoomID) (bool, error) {
	if a.client.Crypto == nil || a.client.StateStore == nil {
		return false, nil
	}
	enc, err := a.client.StateStore.IsEncrypted(ctx, room)
	if err != nil {
		return false, fmt.Errorf("matrix: room state: %v: %w", err, bot.ErrUnavailable)
	}
	return enc, nil
}

// fileContent uploads f (encrypted when the room is) and returns its
// event. The body is the file's description (its safe name when it has
// none), the filename its safe name: both are text someone else may have
// written, cleaned by bot.File.
func (a *Adapter) fileContent(ctx context.Context, f bot.File, encrypted bool) (*event.MessageEventContent, error) {
	name, mimeType := f.SafeName(), f.SafeMIME()
	c := &event.MessageEventContent{
		MsgType:  event.MsgFile,
		Body:     f.SafeAlt(),
		FileName: name,
		Info:     &event.FileInfo{MimeType: mimeType, Size: len(f.Data)},
		// A file mentions nobody.
		Mentions: &event.Mentions{},
	}
	if f.IsImage() {
		c.MsgType = event.MsgImage
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(f.Data)); err == nil {
			c.Info.Width, c.Info.Height = cfg.Width, cfg.Height
		}
	}
	req := mautrix.ReqUploadMedia{ContentBytes: f.Data, ContentType: mimeType, FileName: name}
	var ef *attachment.EncryptedFile
	if encrypted {
		// The media repository sees only ciphertext, without a name or
		// type that would tell what it is.
		// A copy is encrypted: f.Data is the outbox's, sent again on a
		// retry.
		ef = attachment.NewEncryptedFile()
		cipher := bytes.Clone(f.Data)
		ef.EncryptInPlace(cipher)
		req = mautrix.ReqUploadMedia{ContentBytes: cipher, ContentType: "application/octet-stream"}
	}
	up, err := a.client.UploadMedia(mautrix.WithMaxRetries(ctx, 0), req)
	if err != nil {
		return nil, classify("upload a file", err)
	}
	if ef != nil {
		c.File = &event.EncryptedFileInfo{EncryptedFile: *ef, URL: up.ContentURI.CUString()}
	} else {
		c.URL = up.ContentURI.CUString()
	}
	return c, nil
}
