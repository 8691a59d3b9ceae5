package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// redacted is what a set secret looks like in any output.
const redacted = "<redacted>"

// Secret is a string that must not leak: a password, token or URL with
// credentials. It formats as "<redacted>" with every fmt verb (including
// %#v and inside %+v of a containing struct), in YAML, JSON and slog. Call
// Value for the real text, and only where it is handed to the service that
// needs it.
//
// It is a struct rather than a named string so that string(s) does not
// compile: reaching the value is always a visible call to Value.
type Secret struct{ value string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{value: s} }

// Value returns the secret text.
func (s Secret) Value() string { return s.value }

// IsZero reports whether the secret is unset. YAML's omitempty uses it.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "<redacted>", or "" for an unset secret.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString makes %#v redact too.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format redacts under every verb, so that %x, %q or %d cannot print the
// bytes either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue redacts the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML writes the redacted form; a Config dump never holds a secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON writes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// errSecretNotScalar is returned for a secret written as a list or mapping.
// It is a fixed message because the usual YAML error would quote the value.
var errSecretNotScalar = errors.New("want a single string value")

// UnmarshalYAML accepts any scalar: tokens can look like numbers, and YAML
// would otherwise turn them into one. Errors never quote the value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errSecretNotScalar
	}
	s.value = n.Value
	return nil
}

// Duration is a time.Duration written as a string such as "10s" or "1m30s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d as a string, so a dump reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML parses a Go duration string. A bare number is refused: "10"
// could mean seconds or nanoseconds, and guessing wrong is a silent bug.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as 10s, got a %s", kindName(n.Kind))
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a number with a unit, such as 500ms, 10s or 2m)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// Timezone is an IANA time zone such as "Europe/Paris". The zero value is
// UTC. It is resolved when decoded, so a Timezone in hand is always valid.
type Timezone struct{ loc *time.Location }

// LoadTimezone resolves an IANA name; "" gives UTC. "Local" is refused: it
// would mean the server's zone, which says nothing about the person.
func LoadTimezone(name string) (Timezone, error) {
	if name == "Local" {
		return Timezone{}, errors.New(`"Local" is the server's zone; name the person's zone, such as Europe/Paris`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Timezone{}, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Paris or UTC)", name)
	}
	return Timezone{loc: loc}, nil
}

// Location returns the zone, UTC for the zero value.
func (t Timezone) Location() *time.Location {
	if t.loc == nil {
		return time.UTC
	}
	return t.loc
}

// String returns the IANA name.
func (t Timezone) String() string { return t.Location().String() }

// MarshalYAML writes the IANA name.
func (t Timezone) MarshalYAML() (any, error) { return t.String(), nil }

// UnmarshalYAML resolves an IANA name.
func (t *Timezone) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a time zone name such as Europe/Paris, got a %s", kindName(n.Kind))
	}
	tz, err := LoadTimezone(n.Value)
	if err != nil {
		return err
	}
	*t = tz
	return nil
}

// kindName names a YAML node kind for error messages.
func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	default:
		return "document"
	}
}
