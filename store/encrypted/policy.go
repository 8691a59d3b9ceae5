package encrypted

// Treatment is what the decorator does with a collection's documents.
type Treatment uint8

// The treatments. The zero value, Encrypt, is also what a collection not
// in the table gets: a collection added later is encrypted until someone
// decides otherwise.
const (
	// Encrypt: the data is sealed; the id stays in the clear (ids are
	// made by Vigil: report ids, job ids, room and message references).
	Encrypt Treatment = iota
	// Blind: the data is sealed and the id, which is made from what an
	// outsider wrote (a mail's Message-ID, an API client's idempotency
	// key), is replaced by a keyed hash, so lookups by id still work but
	// the stored key reveals nothing. Such a collection cannot be listed.
	Blind
	// Clear: neither; the collection holds the team's own set-up (its
	// directory, rotations), which the vulnerability details never reach.
	Clear
)

func (t Treatment) String() string {
	switch t {
	case Encrypt:
		return "encrypt"
	case Blind:
		return "blind"
	case Clear:
		return "clear"
	}
	return "unknown"
}

// sentinelColl holds the store key, sealed under the configured key that
// was first when it was made (re-sealed by rotate-key). It is the record
// read at start to check the keys.
const (
	sentinelColl = "vigil.encryption"
	sentinelID   = "store-key"
)

// Collections is the decision table, collection by collection (see
// docs/ENCRYPTION.md, which explains each). RotateKeys walks these
// collections; a collection that exists in a store but is missing here
// would be encrypted and never rotated, which TestDumpHasNoCanary catches.
var Collections = map[string]Treatment{
	// Reports: title, description, reporter, advisory drafts, notes.
	"reports":            Encrypt,
	"report.attachments": Encrypt,
	"report.sources":     Blind, // id: source + the sender's message or idempotency id
	"report.mailids":     Blind, // id: Message-IDs of the mails of a report's thread
	// Incidents: titles, war-room messages, timeline, the write-up.
	"incident":          Encrypt,
	"incident.messages": Encrypt,
	"incident.counters": Clear, // year -> last incident number, read only
	// Releases: advisories, notes, the private fork's pull requests.
	"releases":    Encrypt,
	"release.prs": Encrypt,
	// Reminders name the report, the repository and the advisory.
	"remind.items": Encrypt,
	// The engine: rendered messages (report text), job payloads (mail
	// bodies), form drafts, pending confirmations.
	"outbox":          Encrypt,
	"outbox.dead":     Encrypt,
	"outbox.refs":     Encrypt,
	"jobs":            Encrypt,
	"formsessions":    Encrypt,
	"confirm.pending": Encrypt,
	// Matrix: sync position, direct-message rooms, button payloads.
	"matrix":         Encrypt,
	"matrix.dms":     Encrypt,
	"matrix.buttons": Encrypt,
	// The team's own set-up.
	"people":         Clear,
	"duty.rotations": Clear,
	"duty.swaps":     Clear,
	// The store key is sealed by the configured keys itself.
	sentinelColl: Clear,
}

// treatment returns the collection's treatment (Encrypt when unlisted).
func treatment(collection string) Treatment { return Collections[collection] }
