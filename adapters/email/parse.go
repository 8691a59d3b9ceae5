// Package email is Vigil's mail edge: it turns mail sent to the security
// address into intake.Incoming reports (through an SMTP receiver for mail
// forwarded to Vigil, or an IMAP poller over a mailbox) and sends mail to
// reporters and operators (Sender, an intake.Mailer).
//
// The package never imports the report feature. It hands each parsed mail
// to an intake.Sink and acknowledges the mail to its source (SMTP 250, IMAP
// move to the processed folder) only after the sink has stored it, so a
// report is never lost between the mailbox and the store.
//
// Everything here faces the internet: every size, count and depth is
// bounded, and a mail that cannot be understood is still stored as
// received, with a note saying what went wrong, rather than dropped.
package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset, not only UTF-8 and ASCII
	"github.com/emersion/go-message/mail"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

// Defaults for ParseOptions fields left zero.
const (
	DefaultMaxBodyBytes       = 1 << 20 // 1 MiB of text is a very long report
	DefaultMaxAttachmentBytes = 5 << 20
	DefaultMaxAttachments     = 20
)

// Fixed bounds of the parser. They are not configurable because no honest
// report comes near them, and each stops one kind of resource abuse.
const (
	maxHeaderBytes = 256 << 10 // one header block
	maxDepth       = 8         // nesting of multiparts and decrypted layers
	maxParts       = 200       // MIME parts walked in one message
	maxIDs         = 50        // In-Reply-To + References ids kept
	maxIDLen       = 998       // RFC 5322 line length: no real id is longer
	maxNameLen     = 255       // attachment file names
	maxTitleLen    = 998
)

// ErrEmpty is returned by Parse for a message with no bytes at all: there
// is nothing to file. It wraps intake.ErrInvalid.
var ErrEmpty = fmt.Errorf("%w: empty message", intake.ErrInvalid)

// NoSubject is the title of a mail without a subject.
const NoSubject = "(no subject)"

// ParseOptions bound what Parse keeps and supply what it cannot know.
type ParseOptions struct {
	// MaxBodyBytes caps the description; a longer body is cut with a note.
	MaxBodyBytes int
	// MaxAttachmentBytes caps each attachment's kept data (Truncated set).
	MaxAttachmentBytes int64
	// MaxAttachments caps how many attachments are kept; the rest are
	// counted in a note.
	MaxAttachments int
	// Keyring decrypts OpenPGP-encrypted reports; nil means none can be
	// decrypted (they are stored as received, with a note).
	Keyring *Keyring
	// Received is when the mail arrived, from the caller's clock.
	Received time.Time
}

func (o ParseOptions) withDefaults() ParseOptions {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = DefaultMaxAttachments
	}
	return o
}

// Parse turns a raw RFC 5322 message into an Incoming. It returns an error
// only for an empty message (ErrEmpty); anything else, however malformed,
// comes back as an Incoming, with notes saying what could not be read, so
// that no report is lost to a parser's opinion of it.
func Parse(raw []byte, opts ParseOptions) (in intake.Incoming, err error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return intake.Incoming{}, ErrEmpty
	}
	opts = opts.withDefaults()
	defer func() {
		// The MIME and OpenPGP libraries parse hostile input. A bug there
		// must not cost the report: fall back to the raw text. The fuzz
		// test fails on this note, so such a bug is still found.
		if r := recover(); r != nil {
			in = fallback(raw, opts, fmt.Sprintf("internal error while parsing (%v); the message is shown as received", r))
			err = nil
		}
		// The same cleaning as every other source (bidi overrides shown,
		// escape sequences and private-use characters removed), whichever
		// way the text was decoded.
		intake.Normalize(&in)
	}()
	return parse(raw, opts), nil
}

// parser collects the parts of one message as it walks them.
type parser struct {
	opts        ParseOptions
	plain, html []string
	attachments []intake.Attachment
	dropped     int // attachments over the count cap
	parts       int
	notes       []string
	// innerHeader is the header of a decrypted PGP/MIME payload, which may
	// carry the real subject ("protected headers").
	innerHeader *message.Header
}

func (p *parser) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	for _, have := range p.notes {
		if have == n {
			return
		}
	}
	p.notes = append(p.notes, n)
}

func parse(raw []byte, opts ParseOptions) intake.Incoming {
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	if e == nil {
		return fallback(raw, opts, fmt.Sprintf("the message could not be parsed as MIME (%s); it is shown as received", cleanErr(err)))
	}
	p := &parser{opts: opts}
	if err != nil {
		p.note("%s", encodingNote(err))
	}
	h := mail.Header{Header: e.Header}
	in := intake.Incoming{
		Source:   intake.SourceEmail,
		Received: opts.Received,
	}

	p.walk(e, 0)

	title := subject(h)
	if p.innerHeader != nil && (title == NoSubject || title == "..." || title == "Encrypted Message") {
		if s := subject(mail.Header{Header: *p.innerHeader}); s != NoSubject {
			title = s
		}
	}
	in.Title = bot.Untrusted(title)
	in.SourceID = messageID(h, raw)
	in.Reporter = reporter(h)
	in.InReplyTo = threadIDs(h)

	var body string
	switch {
	case len(p.plain) > 0:
		body = strings.Join(p.plain, "\n\n")
	case len(p.html) > 0:
		body = strings.Join(p.html, "\n\n")
	}
	in.Description = bot.Untrusted(capText(strings.TrimSpace(body), opts.MaxBodyBytes, p))
	if in.Description == "" {
		if len(p.attachments) > 0 {
			p.note("the message has no text body; see the attachments")
		} else {
			p.note("the message body is empty")
		}
	}
	in.Attachments = p.attachments
	if p.dropped > 0 {
		p.note("%d more attachments were not kept (at most %d are)", p.dropped, opts.MaxAttachments)
	}
	if len(in.Attachments) > 0 {
		names := make([]string, len(in.Attachments))
		for i, a := range in.Attachments {
			names[i] = fmt.Sprintf("%s (%s, %d bytes", string(a.Name), a.ContentType, a.Size)
			if a.Truncated {
				names[i] += fmt.Sprintf(", cut to %d", len(a.Data))
			}
			names[i] += ")"
		}
		p.note("attachments (kept, not shown): %s", strings.Join(names, "; "))
	}
	in.Notes = untrustedAll(p.notes)
	return in
}

// untrustedAll marks notes as outside text: they quote what the mail
// said (attachment names, charsets).
func untrustedAll(notes []string) []bot.Untrusted {
	out := make([]bot.Untrusted, len(notes))
	for i, n := range notes {
		out[i] = bot.Untrusted(n)
	}
	return out
}

// fallback stores the raw message as text when MIME parsing failed.
func fallback(raw []byte, opts ParseOptions, note string) intake.Incoming {
	p := &parser{opts: opts}
	p.note("%s", note)
	// The header block may still be readable line by line.
	title, from := NoSubject, intake.Reporter{}
	if hdr, _, ok := bytes.Cut(raw, []byte("\n\n")); ok || len(raw) < maxHeaderBytes {
		for _, line := range strings.Split(string(hdr), "\n") {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "subject":
				if t := cleanLine(decodeWords(v), maxTitleLen); t != "" {
					title = t
				}
			case "from":
				if a, err := netmail.ParseAddress(v); err == nil {
					from = intake.Reporter{Name: bot.Untrusted(cleanLine(a.Name, maxNameLen)), Email: a.Address}
				}
			}
		}
	}
	return intake.Incoming{
		Source:      intake.SourceEmail,
		SourceID:    hashID(raw),
		Title:       bot.Untrusted(title),
		Description: bot.Untrusted(capText(strings.TrimSpace(toText(raw)), opts.MaxBodyBytes, p)),
		Reporter:    from,
		Received:    opts.Received,
		Notes:       untrustedAll(p.notes),
	}
}

// walk visits entity e at nesting depth, sorting its parts into bodies and
// attachments.
func (p *parser) walk(e *message.Entity, depth int) {
	p.parts++
	if p.parts > maxParts {
		p.note("the message has more than %d MIME parts; the rest were not read", maxParts)
		return
	}
	mediaType, params, _ := e.Header.ContentType()
	if mediaType == "" {
		mediaType = "text/plain" // RFC 2045 default
	}
	if depth > maxDepth {
		p.note("MIME parts nested deeper than %d levels were not read", maxDepth)
		return
	}

	switch {
	case mediaType == "multipart/encrypted":
		p.pgpMIME(e, params, depth)
		return
	case strings.HasPrefix(mediaType, "multipart/"):
		mr := e.MultipartReader()
		if mr == nil {
			p.note("a multipart section has no boundary; it was read as text")
			p.addText(e, "text/plain")
			return
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if part == nil {
				p.note("a multipart section is malformed (%s); parts after it were not read", cleanErr(err))
				return
			}
			if err != nil {
				p.note("%s", encodingNote(err))
			}
			p.walk(part, depth+1)
			if p.parts > maxParts {
				return
			}
		}
	case mediaType == "message/rfc822" && !isAttachment(e):
		// A forwarded report: read the inner message as part of this one.
		limit := int64(p.opts.MaxBodyBytes) * 4
		data, _ := io.ReadAll(io.LimitReader(e.Body, limit+1))
		cut := int64(len(data)) > limit
		inner, err := message.ReadWithOptions(bytes.NewReader(data), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		if inner == nil || cut {
			p.attach(e, "message/rfc822", io.MultiReader(bytes.NewReader(data), e.Body))
			if err != nil {
				p.note("a forwarded message could not be parsed (%s); it is kept as an attachment", cleanErr(err))
			}
			return
		}
		if s, _ := inner.Header.Text("Subject"); s != "" {
			p.plain = append(p.plain, "Forwarded message: "+cleanLine(s, maxTitleLen))
		}
		p.walk(inner, depth+1)
	case (mediaType == "text/plain" || mediaType == "text/html") && !isAttachment(e):
		p.addText(e, mediaType)
	default:
		p.attach(e, mediaType, e.Body)
	}
}

// addText reads a text body, decrypting inline OpenPGP blocks.
func (p *parser) addText(e *message.Entity, mediaType string) {
	data, cut := readCapped(e.Body, int64(p.opts.MaxBodyBytes)+1)
	text := toText(data)
	if cut {
		p.note("a text part was longer than %d bytes and was cut", p.opts.MaxBodyBytes)
	}
	if mediaType == "text/html" {
		text = htmlToText(text)
	}
	if strings.Contains(text, pgpBegin) {
		text = p.inlinePGP(text)
	}
	if strings.TrimSpace(text) == "" {
		return
	}
	if mediaType == "text/html" {
		p.html = append(p.html, text)
	} else {
		p.plain = append(p.plain, text)
	}
}

// attach keeps an attachment read from body, within the size and count
// caps; the full size is counted even when only the start is kept.
func (p *parser) attach(e *message.Entity, mediaType string, body io.Reader) {
	data, _ := io.ReadAll(io.LimitReader(body, p.opts.MaxAttachmentBytes))
	// The whole message is bounded by the caller, so counting the rest
	// is bounded too.
	rest, _ := io.Copy(io.Discard, body)
	if len(p.attachments) >= p.opts.MaxAttachments {
		p.dropped++
		return
	}
	p.attachments = append(p.attachments, intake.Attachment{
		Name:        bot.Untrusted(attachmentName(e, mediaType, len(p.attachments)+1)),
		ContentType: mediaType,
		Size:        int64(len(data)) + rest,
		Data:        data,
		Truncated:   rest > 0,
	})
}

// isAttachment reports whether the part is marked as a file rather than a
// body: an attachment disposition, or a file name on a text part.
func isAttachment(e *message.Entity) bool {
	disp, params, _ := e.Header.ContentDisposition()
	if strings.EqualFold(disp, "attachment") {
		return true
	}
	if params["filename"] != "" {
		return true
	}
	_, ctParams, _ := e.Header.ContentType()
	return strings.EqualFold(disp, "inline") && ctParams["name"] != ""
}

// attachmentName is the part's file name reduced to a safe base name, or a
// made-up one: names end up in chat, and "../../x" or control characters
// have no business there.
func attachmentName(e *message.Entity, mediaType string, n int) string {
	ah := mail.AttachmentHeader{Header: e.Header}
	name, _ := ah.Filename()
	if name == "" {
		_, params, _ := e.Header.ContentType()
		name = params["name"]
		if d, err := decodeWordsErr(name); err == nil {
			name = d
		}
	}
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = cleanLine(name, maxNameLen)
	if name == "" || name == "." || name == "/" || name == ".." {
		ext := ""
		if exts, _ := mime.ExtensionsByType(mediaType); len(exts) > 0 {
			ext = exts[0]
		}
		name = fmt.Sprintf("attachment-%d%s", n, ext)
	}
	return name
}

// readCapped reads up to limit bytes of r and reports whether there was
// more. A read error ends the data where it happened (a truncated base64
// body still yields what decoded).
func readCapped(r io.Reader, limit int64) ([]byte, bool) {
	data, _ := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true
	}
	return data, false
}

// capText cuts s to at most limit bytes on a rune boundary, with a note.
func capText(s string, limit int, p *parser) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	p.note("the body was cut to %d bytes (it had %d)", cut, len(s))
	return s[:cut]
}

// toText makes b valid UTF-8 with no NULs or other control characters but
// line breaks and tabs, so it can be stored and shown anywhere. It is
// intake.CleanText, which also removes escape sequences whole (stripping
// only the ESC would leave "[2J" behind) and shows bidi overrides.
func toText(b []byte) string {
	return intake.CleanText(string(b))
}

// cleanLine makes s a single printable line of at most max bytes.
func cleanLine(s string, max int) string {
	s = intake.CleanLine(s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func subject(h mail.Header) string {
	s, err := h.Subject()
	if err != nil {
		s = decodeWords(h.Get("Subject"))
	}
	if s = cleanLine(s, maxTitleLen); s == "" {
		return NoSubject
	}
	return s
}

// decodeWords decodes RFC 2047 words, leaving the text as is on error.
func decodeWords(s string) string {
	d, _ := decodeWordsErr(s)
	return d
}

func decodeWordsErr(s string) (string, error) {
	h := message.Header{}
	h.Set("X", s)
	d, err := h.Text("X")
	if err != nil {
		return s, err
	}
	return d, nil
}

// messageID is the Message-ID without angle brackets or, when there is
// none, a hash of the whole message, so the same mail arriving twice is
// still one report.
func messageID(h mail.Header, raw []byte) string {
	id, err := h.MessageID()
	if err != nil || id == "" {
		// Some senders write ids the strict parser refuses; the text
		// between the brackets is still the best key.
		id = strings.TrimSpace(h.Get("Message-Id"))
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	}
	id = cleanLine(id, maxIDLen)
	if id == "" || strings.ContainsAny(id, " <>") {
		return hashID(raw)
	}
	return id
}

func hashID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func reporter(h mail.Header) intake.Reporter {
	addrs, err := h.AddressList("From")
	if err == nil && len(addrs) > 0 {
		return intake.Reporter{Name: bot.Untrusted(cleanLine(addrs[0].Name, maxNameLen)), Email: cleanLine(addrs[0].Address, maxNameLen)}
	}
	// A From the strict parser refuses: keep what net/mail makes of it,
	// else the raw text as the name, so the team still sees who wrote.
	raw := h.Get("From")
	if a, err := netmail.ParseAddress(raw); err == nil {
		return intake.Reporter{Name: bot.Untrusted(cleanLine(a.Name, maxNameLen)), Email: a.Address}
	}
	return intake.Reporter{Name: bot.Untrusted(cleanLine(decodeWords(raw), maxNameLen))}
}

// threadIDs lists In-Reply-To then References ids, without duplicates.
func threadIDs(h mail.Header) []string {
	var out []string
	seen := map[string]bool{}
	for _, key := range []string{"In-Reply-To", "References"} {
		ids, err := h.MsgIDList(key)
		if err != nil {
			// Lenient: split on brackets and white space.
			ids = strings.FieldsFunc(h.Get(key), func(r rune) bool {
				return r == '<' || r == '>' || r == ',' || unicode.IsSpace(r)
			})
		}
		for _, id := range ids {
			id = cleanLine(id, maxIDLen)
			if id == "" || seen[id] || len(out) >= maxIDs {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// encodingNote explains a non-fatal go-message error (unknown charset or
// transfer encoding): the part is kept as it came.
func encodingNote(err error) string {
	switch {
	case message.IsUnknownCharset(err):
		return "a part uses an unknown charset (" + cleanErr(err) + "); it is shown as received"
	case message.IsUnknownEncoding(err):
		return "a part uses an unknown transfer encoding (" + cleanErr(err) + "); it is shown as received"
	}
	return "a part could not be fully decoded (" + cleanErr(err) + ")"
}

// cleanErr is an error message made safe for a note: one line, bounded.
func cleanErr(err error) string {
	if err == nil {
		return "unknown error"
	}
	return cleanLine(err.Error(), 200)
}
