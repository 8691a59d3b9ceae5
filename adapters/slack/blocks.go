package slack

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

// Slack's Block Kit limits. A message that would exceed one is split or
// trimmed here rather than refused by Slack (invalid_blocks), because a
// refused message is dropped by the outbox and a report would be lost.
const (
	maxBlocks      = 50   // blocks per message
	maxSectionText = 3000 // characters in a section's text
	maxFields      = 10   // fields per section
	maxFieldText   = 2000 // characters in one field
	maxHeader      = 150  // characters in a header
	maxActions     = 25   // elements per actions block
	maxButtonText  = 75   // characters on a button
	maxButtonValue = 2000 // characters in a button's value
	maxContextText = 3000 // characters in a context element
	// maxMessageChars caps the text of one message. Slack refuses very
	// large messages (msg_too_long) well before 50 full sections, so a
	// huge message is spread over several of a comfortable size.
	maxMessageChars = 12000
	// maxFallback caps the plain-text fallback (notifications).
	maxFallback = 3000
	// actionPrefix marks Vigil's buttons: "vigil:<index>:<action>". The
	// index keeps action_ids unique within the message (Slack requires
	// it) even when several buttons share an action, such as form choices.
	actionPrefix = "vigil:"
	// confirmedMark follows the index of a button with a confirm dialog
	// ("vigil:3c:report.reject"): Slack sends its press only after the
	// person confirmed, and the action_id comes back as it was sent.
	confirmedMark = "c"
	// Limits of a confirm dialog's texts.
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmButton = 30
	// maxInput is the most a plain_text_input takes (max_length).
	maxInput = 3000
)

// outgoing is one Slack message: its blocks and its plain-text fallback.
type outgoing struct {
	blocks []slack.Block
	text   string
}

// piece is a block with the plain text it shows, for sizing and fallbacks.
type piece struct {
	block slack.Block
	plain string
}

// render turns a neutral message into one or more Slack messages (see
// layout), each within Slack's limits. Every mrkdwn text, and the fallback
// text (which Slack parses as mrkdwn too), goes through mrkdwnText, so
// untrusted runs are inert in both; plain_text objects (header, buttons)
// are inert by their type and only lose the markers.
func render(msg bot.Message) []outgoing {
	var head, text, tail []piece
	if msg.Header != "" {
		h := textutil.TruncateBytes(strings.ReplaceAll(plainSlack(msg.Header), "\n", " "), maxHeader)
		head = append(head, piece{slack.NewHeaderBlock(plainText(h)), truncateMrkdwn(mrkdwnText(strings.ReplaceAll(msg.Header, "\n", " ")), maxHeader*2)})
	}
	verbatim := bot.HasUntrusted(msg.Text)
	for _, chunk := range splitText(mrkdwnText(msg.Text), maxSectionText) {
		text = append(text, piece{slack.NewSectionBlock(mrkdwnObject(chunk, verbatim), nil, nil), chunk})
	}
	for i := 0; i < len(msg.Fields); i += maxFields {
		var fields []*slack.TextBlockObject
		var plain []string
		for _, f := range msg.Fields[i:min(i+maxFields, len(msg.Fields))] {
			label := truncateMrkdwn(mrkdwnText(f.Label), maxFieldText/4)
			value := mrkdwnText(f.Value)
			text := truncateMrkdwn("*"+label+"*\n"+value, maxFieldText)
			fields = append(fields, mrkdwnObject(text, bot.HasUntrusted(f.Label+f.Value)))
			plain = append(plain, label+": "+value)
		}
		tail = append(tail, piece{slack.NewSectionBlock(nil, fields, nil), strings.Join(plain, "\n")})
	}
	for i := 0; i < len(msg.Buttons); i += maxActions {
		var elems []slack.BlockElement
		var labels []string
		for j, b := range msg.Buttons[i:min(i+maxActions, len(msg.Buttons))] {
			label := textutil.TruncateBytes(plainSlack(b.Label), maxButtonText)
			index := strconv.Itoa(i + j)
			if b.Confirm != nil {
				index += confirmedMark
			}
			btn := slack.NewButtonBlockElement(actionPrefix+index+":"+b.Action, textutil.TruncateBytes(b.Value, maxButtonValue), plainText(label))
			switch b.Style {
			case bot.ButtonPrimary:
				btn.Style = slack.StylePrimary
			case bot.ButtonDanger:
				btn.Style = slack.StyleDanger
			}
			if b.Confirm != nil {
				btn.Confirm = confirmObject(*b.Confirm, b.Style)
			}
			elems = append(elems, btn)
			labels = append(labels, "["+mrkdwnText(b.Label)+"]")
		}
		tail = append(tail, piece{slack.NewActionBlock("vigil-actions-"+strconv.Itoa(i/maxActions), elems...), strings.Join(labels, " ")})
	}
	if msg.Context != "" {
		c := truncateMrkdwn(mrkdwnText(msg.Context), maxContextText)
		tail = append(tail, piece{slack.NewContextBlock("", mrkdwnObject(c, bot.HasUntrusted(msg.Context))), c})
	}
	if len(head)+len(text)+len(tail) == 0 {
		return []outgoing{{text: truncateMrkdwn(mrkdwnText(msg.Plain()), maxFallback)}}
	}
	out := layout(head, text, tail)
	if msg.Fallback != "" {
		out[0].text = truncateMrkdwn(mrkdwnText(msg.Fallback), maxFallback)
	}
	return out
}

// layout places a message's pieces in Slack messages (Send posts the
// second and later ones in the first one's thread). When the text is too
// long for one message, the first keeps the header, as much of the text as
// fits, a note that the text goes on, and the fields, buttons and context
// (so a report's summary keeps its buttons where people see it); the rest
// of the text follows in order in as many messages as needed. A message
// that fits in one, or whose fields and buttons alone do not, is packed
// in order as it is.
func layout(head, text, tail []piece) []outgoing {
	first := append(slices.Clip(head), tail...)
	blocks, size := len(first), plainSize(first)
	fitsWhole := blocks+len(text) <= maxBlocks && size+plainSize(text) <= maxMessageChars
	if fitsWhole || blocks > maxBlocks || size > maxMessageChars {
		return pack(append(append(slices.Clip(head), text...), tail...))
	}
	// Room for the note that says where the text goes on.
	blocks, size = blocks+1, size+len(continued)
	fit := 0
	for fit < len(text) && blocks < maxBlocks && size+len(text[fit].plain) <= maxMessageChars {
		blocks, size = blocks+1, size+len(text[fit].plain)
		fit++
	}
	main := append(slices.Clip(head), text[:fit]...)
	if fit < len(text) {
		main = append(main, piece{slack.NewContextBlock("", mrkdwnObject(continued, false)), continued})
	}
	main = append(main, tail...)
	return append(pack(main), pack(text[fit:])...)
}

// continued ends the part of a long text that the first message holds.
const continued = "_The text continues in the thread._"

func plainSize(pieces []piece) int {
	n := 0
	for _, p := range pieces {
		n += len(p.plain)
	}
	return n
}

// pack puts pieces in messages in order, each within maxBlocks blocks and,
// unless one piece alone is longer, maxMessageChars characters.
func pack(pieces []piece) []outgoing {
	var out []outgoing
	var cur []piece
	size := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		o := outgoing{}
		var plain []string
		for _, p := range cur {
			o.blocks = append(o.blocks, p.block)
			plain = append(plain, p.plain)
		}
		o.text = truncateMrkdwn(strings.Join(plain, "\n"), maxFallback)
		out = append(out, o)
		cur, size = nil, 0
	}
	for _, p := range pieces {
		if len(cur) == maxBlocks || (len(cur) > 0 && size+len(p.plain) > maxMessageChars) {
			flush()
		}
		cur = append(cur, p)
		size += len(p.plain)
	}
	flush()
	return out
}

// confirmObject is a button's confirm dialog. Its texts are plain_text
// (shown as written) within Slack's limits; a danger button's dialog has
// a red confirm button.
func confirmObject(c bot.Confirm, style bot.ButtonStyle) *slack.ConfirmationBlockObject {
	yes, no := c.Yes, c.No
	if yes == "" {
		yes = "Confirm"
	}
	if no == "" {
		no = "Cancel"
	}
	title := c.Title
	if title == "" {
		title = "Are you sure?"
	}
	text := c.Text
	if text == "" {
		text = title
	}
	obj := slack.NewConfirmationBlockObject(
		plainText(textutil.TruncateBytes(plainSlack(title), maxConfirmTitle)),
		plainText(textutil.TruncateBytes(plainSlack(text), maxConfirmText)),
		plainText(textutil.TruncateBytes(plainSlack(yes), maxConfirmButton)),
		plainText(textutil.TruncateBytes(plainSlack(no), maxConfirmButton)))
	if style == bot.ButtonDanger {
		obj.WithStyle(slack.StyleDanger)
	}
	return obj
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// mrkdwnObject is a mrkdwn text; verbatim (for texts with untrusted runs)
// stops Slack from turning bare URLs, #channel names and @names into links
// and mentions by itself. Vigil's explicit <url|label> links still work.
func mrkdwnObject(s string, verbatim bool) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, verbatim)
}

// broadcast matches Slack's channel-wide pings.
var broadcast = regexp.MustCompile(`<!(here|channel|everyone)(\|[^>]*)?>`)

// defuse turns <!here>, <!channel> and <!everyone> into plain words. Even
// Vigil's own text never pings a whole channel.
func defuse(s string) string {
	return broadcast.ReplaceAllString(s, "@$1")
}

// ownConstruct matches the angle-bracket forms Vigil's own text may use:
// links (<https://…|label>, <mailto:…>), user and channel mentions of
// people Vigil means (<@U…>, <#C…>) and dates (<!date^…>). Any other < or
// > in Vigil's text is escaped, so "a < b" or "Trent <trent@example.com>"
// shows as written.
var ownConstruct = regexp.MustCompile(`^<(?:(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>]*)?|[@#][A-Z0-9]+(?:\|[^<>]*)?|!date\^[^<>]*|!(?:here|channel|everyone)(?:\|[^<>]*)?)>`)

// mrkdwnText renders one of a message's texts as Slack mrkdwn. Vigil's own
// runs keep their formatting and links, with every other &, < and >
// escaped; untrusted runs (bot.Untrusted) are made inert by inertMrkdwn.
func mrkdwnText(s string) string {
	var b strings.Builder
	for _, seg := range bot.Segments(s) {
		if seg.Untrusted {
			b.WriteString(inertMrkdwn(seg.Text))
		} else {
			b.WriteString(ownMrkdwn(seg.Text))
		}
	}
	return b.String()
}

// ownMrkdwn escapes Vigil's own text for Slack, keeping its constructs;
// its person and time tokens become mentions and dates (slackTokens).
func ownMrkdwn(s string) string {
	s = slackTokens(s)
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			if rest := s[i:]; strings.HasPrefix(rest, "&amp;") || strings.HasPrefix(rest, "&lt;") || strings.HasPrefix(rest, "&gt;") {
				b.WriteByte(c)
			} else {
				b.WriteString("&amp;")
			}
		case '<':
			if m := ownConstruct.FindString(s[i:]); m != "" {
				b.WriteString(defuse(m))
				i += len(m) - 1
			} else {
				b.WriteString("&lt;")
			}
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// literalFmt shows a run of mrkdwn formatting characters as text: a date
// token with an invalid format makes every Slack client show its fallback,
// which it never formats. Slack has no escape for *, _, ~ and `; this is
// what jsx-slack's <Escape> does too. The timestamp and format are fixed,
// so the token's only variable part is the run itself.
const (
	literalFmtOpen  = "<!date^00000000^{_}|"
	literalFmtClose = ">"
)

// formatRun matches runs of the characters mrkdwn formats with.
var formatRun = regexp.MustCompile("[*_~`]+")

// inertMrkdwn makes untrusted text inert in mrkdwn: &, < and > escaped (so
// no <!channel>, <@U…>, <!subteam^…>, <#C…> or <url|label> can form; a URL
// stays a plain, label-free URL), formatting characters shown literally
// (no bold, italics, strike-through or code, and no ``` that would swallow
// Vigil's text after it), and a > starting a line preceded by an invisible
// soft hyphen so it does not quote.
func inertMrkdwn(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	s = formatRun.ReplaceAllStringFunc(s, func(run string) string {
		return literalFmtOpen + run + literalFmtClose
	})
	if strings.Contains(s, "&gt;") {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), "&gt;") {
				lines[i] = "\u00ad" + l
			}
		}
		s = strings.Join(lines, "\n")
	}
	return s
}

// truncateMrkdwn is textutil.TruncateBytes for rendered mrkdwn: it never
// leaves half a <…> token or &…; entity at the end, which would show as
// broken text or, for a token, swallow what follows.
func truncateMrkdwn(s string, n int) string {
	if len(s) <= n {
		return s
	}
	t := textutil.TruncateBytes(s, n)
	body := strings.TrimSuffix(t, textutil.Ellipsis)
	return body[:safeCut(body)] + textutil.Ellipsis
}

// safeCut returns the longest prefix length of s that does not end inside
// a <…> token or an &…; entity.
func safeCut(s string) int {
	cut := len(s)
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 && strings.IndexByte(s[lt:], '>') < 0 {
		cut = lt
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && amp >= cut-5 && strings.IndexByte(s[amp:cut], ';') < 0 {
		cut = amp
	}
	return cut
}

// token matches a <…> token, whose content (a literal ``` from untrusted
// text, say) is not markup to count.
var token = regexp.MustCompile(`<[^<>]*>`)

// fence is a Markdown code fence; a chunk boundary inside a code block
// closes it and the next chunk reopens it, so both halves render as code.
const fence = "```"

// splitText cuts s into chunks of at most limit bytes, preferring
// paragraph, then line, then word boundaries, and never splitting a rune.
// Nothing is lost: the chunks hold all of s in order (boundary white space
// aside).
func splitText(s string, limit int) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	room := limit - len("\n"+fence) // space to close a fence
	var out []string
	for len(s) > limit {
		cut := bestCut(s, room)
		if safe := safeCut(s[:cut]); safe > 0 {
			cut = safe
		}
		chunk, rest := strings.TrimRight(s[:cut], " \n"), strings.TrimLeft(s[cut:], " \n")
		if strings.Count(token.ReplaceAllString(chunk, ""), fence)%2 == 1 {
			chunk += "\n" + fence
			rest = fence + "\n" + rest
		}
		if chunk != "" {
			out = append(out, chunk)
		}
		s = rest
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// bestCut picks where to end a chunk taken from the start of s (longer
// than limit): the last paragraph break, else line break, else space in the
// second half of the first limit bytes, else the last rune boundary.
func bestCut(s string, limit int) int {
	head := s[:limit]
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(head, sep); i > limit/2 {
			return i + len(sep)
		}
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// modal builds the Slack modal for a form. Field names are the block and
// action ids, so a submission's values and inline errors map back to them.
// The form's Intro is not shown: it is written for the step-by-step dialog
// (answer each question, `cancel` stops), and a modal explains itself with
// its title, labels, hints and its Submit and Cancel buttons. Every text
// box takes at most Slack's maxInput characters (Slack refuses a longer
// max_length, and without one a too-long answer fails on submit).
func modal(f *bot.Form, meta string) slack.ModalViewRequest {
	var blocks []slack.Block
	for _, fld := range f.Fields {
		label := plainText(textutil.TruncateBytes(bot.StripSentinels(fld.Label), 2000))
		var hint *slack.TextBlockObject
		if fld.Help != "" {
			hint = plainText(textutil.TruncateBytes(bot.StripSentinels(fld.Help), 2000))
		}
		var el slack.BlockElement
		switch fld.Kind {
		case bot.FieldChoice:
			var opts []*slack.OptionBlockObject
			for _, o := range fld.Options[:min(len(fld.Options), 100)] {
				var desc *slack.TextBlockObject
				if o.Help != "" {
					desc = plainText(textutil.TruncateBytes(bot.StripSentinels(o.Help), 75))
				}
				opts = append(opts, slack.NewOptionBlockObject(o.Value, plainText(textutil.TruncateBytes(bot.StripSentinels(o.Label), 75)), desc))
			}
			el = slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Choose…"), fld.Name, opts...)
		default:
			in := slack.NewPlainTextInputBlockElement(nil, fld.Name).WithMaxLength(maxInput)
			in.Multiline = fld.Kind == bot.FieldLongText
			el = in
		}
		block := slack.NewInputBlock(fld.Name, label, hint, el)
		block.Optional = fld.Optional
		blocks = append(blocks, block)
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plainText(textutil.TruncateBytes(bot.StripSentinels(f.Title), 24)),
		Submit:          plainText("Submit"),
		Close:           plainText("Cancel"),
		Blocks:          slack.Blocks{BlockSet: blocks},
		PrivateMetadata: meta,
		CallbackID:      "vigil.form." + f.ID,
	}
}

// parseActionID reverses the action_id of a Vigil button: its action, and
// whether the button asked for confirmation (so Slack sends the press only
// once the person confirmed).
func parseActionID(id string) (action string, confirmed, ok bool) {
	rest, ok := strings.CutPrefix(id, actionPrefix)
	if !ok {
		return "", false, false
	}
	index, action, ok := strings.Cut(rest, ":")
	return action, strings.HasSuffix(index, confirmedMark), ok && action != ""
}
