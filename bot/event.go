package bot

// EventKind says what happened.
type EventKind int

const (
	// EventMessage is an ordinary message (answers to a form step, chatter
	// in a war room).
	EventMessage EventKind = iota + 1
	// EventCommand is a "/sec ..." or "!sec ..." command; Text holds what
	// follows the prefix.
	EventCommand
	// EventButton is a button press: Action and Value.
	EventButton
	// EventReaction is a reaction (emoji) added to a message.
	EventReaction
	// EventEdit is an edited message: Message is the edited message (not
	// the edit), Text its new text. User is whoever made the change, as
	// far as the platform tells.
	EventEdit
	// EventDelete is a deleted (redacted) message: Message is the message
	// that is gone.
	EventDelete
)

func (k EventKind) String() string {
	switch k {
	case EventMessage:
		return "message"
	case EventCommand:
		return "command"
	case EventButton:
		return "button"
	case EventReaction:
		return "reaction"
	case EventEdit:
		return "edit"
	case EventDelete:
		return "delete"
	}
	return "unknown"
}

// Event is a platform event turned neutral by an adapter.
type Event struct {
	Kind EventKind
	// ID is the platform's id of the event, used to ignore redeliveries
	// (Slack retries, Matrix sync replays). Empty means "do not dedupe".
	ID     string
	Room   RoomRef
	Thread ThreadRef
	User   UserRef
	// DM is true when the room is a direct conversation with the bot.
	DM bool
	// Message is the message that carried the event (the command message
	// itself, the message a button sat on, the message reacted to, the
	// message edited or deleted).
	Message MessageRef
	// Text is the message's text (for EventEdit its new text; for
	// EventCommand what follows the prefix).
	Text string
	// Action and Value of a pressed button.
	Action string
	Value  string
	// Reaction is the emoji key for EventReaction (e.g. "pushpin").
	Reaction string
	// Trigger is an adapter's token for opening a modal in answer to this
	// event (Slack's trigger_id); empty when the adapter has no modals.
	Trigger string
	// ResponseURL is where the platform takes answers to this event
	// (Slack's response_url of a slash command or an interaction); it
	// works where the bot is not a member. A secret: never logged.
	ResponseURL string
	// Confirmed is true when the platform already asked the person to
	// confirm the button (Slack's confirm dialog).
	Confirmed bool
	// Prefix is how commands are written on this adapter ("/sec", "!sec"),
	// for usage lines in replies.
	Prefix string
}
