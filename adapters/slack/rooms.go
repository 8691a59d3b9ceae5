package slack

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.RoomCreator = (*Adapter)(nil)

// maxChannelName is Slack's limit on channel names.
const maxChannelName = 80

// nameAttempts bounds the unique suffixes tried when a name is taken.
const nameAttempts = 5

// CreatePrivateRoom creates a private channel (conversations.create with
// is_private), the name normalised to Slack's rules and made unique with a
// suffix when it is taken, then invites the people (conversations.invite,
// the bot itself left out: it is in the channel it created) and sets the
// topic (conversations.setTopic). Once the channel exists it is returned
// even if the invitations or the topic fail (they are logged): the channel
// is private and Vigil is in it, and people can be invited by hand.
func (a *Adapter) CreatePrivateRoom(ctx context.Context, name, topic string, invite []bot.UserRef) (bot.RoomRef, error) {
	base := channelName(name)
	var ch *slack.Channel
	for i := 1; ; i++ {
		try := base
		if i > 1 {
			suffix := "-" + strconv.Itoa(i)
			try = truncateName(base, maxChannelName-len(suffix)) + suffix
		}
		var err error
		ch, err = a.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: try, IsPrivate: true})
		if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "name_taken" && i < nameAttempts {
			continue
		}
		if err != nil {
			return bot.RoomRef{}, classify("conversations.create", err)
		}
		break
	}
	room := roomRef(ch.ID)
	me := a.botUser()
	var users []string
	for _, u := range invite {
		if u.Adapter == bot.AdapterSlack && u.ID != "" && u.ID != me {
			users = append(users, u.ID)
		}
	}
	if len(users) > 0 {
		if _, err := a.api.InviteUsersToConversationContext(ctx, ch.ID, users...); err != nil {
			a.log.Warn("created a private channel but could not invite the team; invite them by hand",
				"channel", ch.ID, "users", strings.Join(users, ","), "err", classify("conversations.invite", err))
		}
	}
	if topic != "" {
		if _, err := a.api.SetTopicOfConversationContext(ctx, ch.ID, truncateName(topic, 250)); err != nil {
			a.log.Warn("created a private channel but could not set its topic", "channel", ch.ID, "err", classify("conversations.setTopic", err))
		}
	}
	a.log.Info("created a private channel", "channel", ch.ID, "name", ch.Name, "invited", len(users))
	return room, nil
}

// channelName follows Slack's rules for channel names: lower case, no
// spaces or punctuation but hyphens and underscores, at most 80
// characters.
func channelName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := truncateName(b.String(), maxChannelName)
	if out == "" {
		out = "incident"
	}
	return out
}

// truncateName cuts s to at most n characters (runes), without a hyphen
// at the end.
func truncateName(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimRight(string(r), "-")
}
