package config

import (
	"net/url"
	"strings"
)

// Discourse is the forum security announcements are posted on as topics
// in one category (docs/DISCOURSE.md, docs/RELEASES.md). It is on when
// url is set.
type Discourse struct {
	// URL is the forum's base URL, such as https://discuss.example.org.
	URL string `yaml:"url" env:"VIGIL_DISCOURSE_URL"`
	// APIKey is a user API key with the scopes docs/DISCOURSE.md lists.
	APIKey Secret `yaml:"api_key" env:"VIGIL_DISCOURSE_API_KEY"`
	// APIUsername is the account the key acts as; posts appear as theirs.
	APIUsername string `yaml:"api_username" env:"VIGIL_DISCOURSE_API_USERNAME"`
	// Category is the announcement category, by id ("12") or slug
	// ("security"); it is resolved and checked at start.
	Category string `yaml:"category" env:"VIGIL_DISCOURSE_CATEGORY"`
}

// Enabled reports whether a forum is configured.
func (d Discourse) Enabled() bool { return d.URL != "" }

func validateDiscourse(c *Config, report func(key, msg string)) {
	d := c.Discourse
	if !d.Enabled() {
		if !d.APIKey.IsZero() || d.APIUsername != "" || d.Category != "" {
			report("discourse.url", "required when the other discourse settings are set: the forum's base URL, such as https://discuss.example.org")
		}
		return
	}
	if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		report("discourse.url", "want the forum's base URL, such as https://discuss.example.org")
	}
	if d.APIKey.IsZero() {
		report("discourse.api_key", "required with discourse.url (or api_key_file, or VIGIL_DISCOURSE_API_KEY): a user API key, see docs/DISCOURSE.md")
	}
	if strings.TrimSpace(d.APIUsername) == "" {
		report("discourse.api_username", "required with discourse.url: the forum account the API key posts as")
	}
	if strings.TrimSpace(d.Category) == "" {
		report("discourse.category", "required with discourse.url: the announcement category's id or slug")
	}
}
