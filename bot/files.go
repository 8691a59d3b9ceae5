package bot

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of Message.Files (docs/LIMITS.md). Files travel inside the
// outbox's stored message (base64 in JSON), so they stay small: a chart
// PNG is a few tens of KB.
const (
	// MaxFilesBytes caps the total size of one message's files.
	MaxFilesBytes = 1 << 20
	// MaxFiles caps how many files one message carries.
	MaxFiles = 10
	// MaxFileNameChars caps a file name as shown (runes, extension
	// included).
	MaxFileNameChars = 100
	// MaxFileAltChars caps a file's description (Slack's alt_txt takes
	// 1,000 characters).
	MaxFileAltChars = 1000
)

// ErrFilesTooLarge: a message's files are over the limits above. Enqueue
// and a direct reply refuse such a message whole, text included, so
// nothing goes out half.
var ErrFilesTooLarge = errors.New("message files over the limit")

// checkFiles applies the limits to a message's files.
func checkFiles(files []File) error {
	if len(files) == 0 {
		return nil
	}
	if len(files) > MaxFiles {
		return fmt.Errorf("%w: %d files, at most %d", ErrFilesTooLarge, len(files), MaxFiles)
	}
	total := 0
	for i, f := range files {
		if len(f.Data) == 0 {
			return fmt.Errorf("%w: file %d (%s) is empty", ErrFilesTooLarge, i+1, f.SafeName())
		}
		total += len(f.Data)
	}
	if total > MaxFilesBytes {
		return fmt.Errorf("%w: %d bytes of files, at most %d (1 MiB) in one message", ErrFilesTooLarge, total, MaxFilesBytes)
	}
	return nil
}

// SafeName is the file's name fit for a file system, an upload and a chat
// line, whoever wrote it: the last path element only (no / or \), no
// control, format (bidi, zero-width) or private-use characters, none of
// the characters Windows refuses (: * ? " < > |), no leading dot or
// space (no hidden file, no ".."), at most MaxFileNameChars runes with
// the extension kept. An empty result is "attachment" (with the
// extension of the media type when there is a usual one).
func (f File) SafeName() string {
	name := strings.ToValidUTF8(f.Name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == UntrustedOpen || r == UntrustedClose:
			return -1
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r):
			return -1
		case strings.ContainsRune(`:*?"<>|`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return "attachment" + f.extension()
	}
	if utf8.RuneCountInString(name) <= MaxFileNameChars {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && utf8.RuneCountInString(name[i:]) <= 10 {
		name, ext = name[:i], name[i:]
	}
	keep := MaxFileNameChars - utf8.RuneCountInString(ext)
	return string([]rune(name)[:keep]) + ext
}

// extension is the usual extension of the file's media type, or "".
func (f File) extension() string {
	switch f.SafeMIME() {
	case "image/png":
		return ".png"
	case "image/svg+xml":
		return ".svg"
	case "image/jpeg":
		return ".jpg"
	case "text/html":
		return ".html"
	case "text/plain":
		return ".txt"
	case "application/pdf":
		return ".pdf"
	}
	return ""
}

// SafeMIME is the file's media type without parameters, lower case, or
// application/octet-stream when it is not a well-formed type.
func (f File) SafeMIME() string {
	mt, _, err := mime.ParseMediaType(f.MIME)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	return mt
}

// IsImage reports whether the file is an image by its media type.
func (f File) IsImage() bool { return strings.HasPrefix(f.SafeMIME(), "image/") }

// SafeAlt is the file's description on one line, without control,
// format or private-use characters, at most MaxFileAltChars runes; the
// safe name when there is none.
func (f File) SafeAlt() string {
	alt := strings.Map(func(r rune) rune {
		switch {
		case r == UntrustedOpen || r == UntrustedClose:
			return -1
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(f.Alt, "\uFFFD"))
	alt = strings.TrimSpace(alt)
	if alt == "" {
		return f.SafeName()
	}
	if utf8.RuneCountInString(alt) > MaxFileAltChars {
		alt = string([]rune(alt)[:MaxFileAltChars-1]) + "…"
	}
	return alt
}

// replyPrivately sends an answer for the asker alone through the adapter's
// PrivateReplier. Such answers (Slack's ephemeral messages) cannot carry
// files, so the files follow in a direct message to the asker, under the
// privacy rule for DMs: a sensitive answer's files go only to a person on
// the team or in its audience. The answer says where its files went (or
// that they were withheld).
func (e *Engine) replyPrivately(ctx context.Context, a Adapter, pr PrivateReplier, ev Event, to Destination, msg Message) (MessageRef, error) {
	if len(msg.Files) == 0 || to.IsDM() || ev.DM {
		return pr.ReplyPrivately(ctx, ev, to, msg)
	}
	dm := ToUser(to.Only)
	files := Message{Text: "The files of my answer:", Files: msg.Files, Sensitive: msg.Sensitive, Audience: msg.Audience}
	answer := msg
	answer.Files = nil
	privacyErr := e.checkPrivacy(dm, files)
	note := "Its files are in your direct messages with Vigil."
	if privacyErr != nil {
		note = "Its files are shown only to the security team."
	}
	if answer.Context != "" {
		note = answer.Context + " · " + note
	}
	answer.Context = note
	ref, err := pr.ReplyPrivately(ctx, ev, to, answer)
	if err != nil {
		return ref, err
	}
	if privacyErr != nil {
		e.log.Info("files of a private answer withheld", "to", dm.String(), "reason", privacyErr)
		return ref, nil
	}
	if _, err := a.Send(ctx, dm, files); err != nil {
		return ref, fmt.Errorf("send the files of a private answer by DM: %w", err)
	}
	return ref, nil
}
