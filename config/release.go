package config

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Releases configures security releases: how far ahead they are
// announced, the publication clock, where announcements go, the private
// distributor list and the supported branches fixes are back-ported to.
type Releases struct {
	// MinNotice: a release is announced at least this long before it is
	// public (48h); less needs --expedite with a reason.
	MinNotice Duration `yaml:"min_notice"`
	// PublishWindow: from the merge of the fix to published advisories
	// (2h); PingAfter: the reminder inside it (1h).
	PublishWindow Duration `yaml:"publish_window"`
	PingAfter     Duration `yaml:"ping_after"`
	// Timezone is the room's zone, shown next to UTC in announcements.
	Timezone Timezone `yaml:"timezone"`
	// Rotation is the duty rotation pinged at the public time ("" = the
	// default one).
	Rotation     string              `yaml:"rotation"`
	Announce     ReleaseAnnounce     `yaml:"announce"`
	Distributors ReleaseDistributors `yaml:"distributors"`
	Branches     []ReleaseBranches   `yaml:"branches"`
	// PublicLists get an oss-security-style notice when the advisories
	// are published (e.g. oss-security@lists.openwall.com).
	PublicLists []string `yaml:"public_lists"`
	// SigningKey is the release team's ASCII-armored OpenPGP private key:
	// with it the distributors' notice and the list mails are signed
	// (PGP/MIME). SigningPassphrase unlocks it, if it is protected. The
	// key is parsed and unlocked by the email adapter at start.
	SigningKey        Secret `yaml:"signing_key" env:"VIGIL_RELEASES_SIGNING_KEY"`
	SigningPassphrase Secret `yaml:"signing_passphrase" env:"VIGIL_RELEASES_SIGNING_PASSPHRASE"`
}

// ReleaseAnnounce is where announcements go: public chat rooms
// ("slack:C0123", "matrix:!id:server") and/or a mailing list.
type ReleaseAnnounce struct {
	Rooms       []string `yaml:"rooms"`
	MailingList string   `yaml:"mailing_list" env:"VIGIL_RELEASES_MAILING_LIST"`
}

// ReleaseDistributors is the private list told in advance, with details.
type ReleaseDistributors struct {
	List         string   `yaml:"list" env:"VIGIL_RELEASES_DISTRIBUTORS"`
	NoticeBefore Duration `yaml:"notice_before"`
}

// ReleaseBranches are one repository's main branch and supported release
// branches.
type ReleaseBranches struct {
	Repo      string   `yaml:"repo"`
	Main      string   `yaml:"main"`
	Supported []string `yaml:"supported"`
}

func validateReleases(c *Config, report func(key, msg string)) {
	r := c.Releases
	for _, d := range []struct {
		key string
		v   Duration
	}{{"min_notice", r.MinNotice}, {"publish_window", r.PublishWindow}, {"ping_after", r.PingAfter}, {"distributors.notice_before", r.Distributors.NoticeBefore}} {
		if d.v < 0 {
			report("releases."+d.key, msgf("must not be negative, got %s", d.v))
		}
	}
	window := r.PublishWindow.Std()
	if window == 0 {
		window = 2 * time.Hour
	}
	if r.PingAfter.Std() >= window {
		report("releases.ping_after", msgf("must fall inside the publication window (%s)", window))
	}
	for i, room := range r.Announce.Rooms {
		adapter, id, ok := strings.Cut(room, ":")
		if !ok || adapter == "" || id == "" {
			report(fmt.Sprintf("releases.announce.rooms[%d]", i), msgf("%q: want adapter:id, e.g. slack:C0123", room))
		}
	}
	for key, addr := range map[string]string{"releases.announce.mailing_list": r.Announce.MailingList, "releases.distributors.list": r.Distributors.List} {
		if addr == "" {
			continue
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			report(key, msgf("%q is not an email address", addr))
		}
	}
	for i, addr := range r.PublicLists {
		if _, err := mail.ParseAddress(addr); err != nil {
			report(fmt.Sprintf("releases.public_lists[%d]", i), msgf("%q is not an email address", addr))
		}
	}
	if (r.Announce.MailingList != "" || r.Distributors.List != "" || len(r.PublicLists) > 0) && !c.Email.OutboundEnabled() {
		report("releases", "announcement and distributor mail need email.outbound")
	}
	if !r.SigningKey.IsZero() {
		if !strings.Contains(r.SigningKey.Value(), pgpKeyHeader) {
			report("releases.signing_key", "want an ASCII-armored private key ("+pgpKeyHeader+"), as from gpg --export-secret-keys --armor")
		}
		if !c.Email.OutboundEnabled() {
			report("releases.signing_key", "signs outbound mail: set email.outbound")
		}
	} else if !r.SigningPassphrase.IsZero() {
		report("releases.signing_passphrase", "set without signing_key")
	}
	seen := map[string]bool{}
	for i, b := range r.Branches {
		key := fmt.Sprintf("releases.branches[%d]", i)
		if !repoRE.MatchString(b.Repo) {
			report(key+".repo", msgf("%q is not owner/repo", b.Repo))
		} else if seen[strings.ToLower(b.Repo)] {
			report(key+".repo", msgf("%q is listed twice", b.Repo))
		}
		seen[strings.ToLower(b.Repo)] = true
	}
}
