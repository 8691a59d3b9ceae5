package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDiscourse(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := loadYAML(t, `
discourse:
  url: https://discuss.example.org
  api_key_file: `+keyFile+`
  api_username: vigil
`, map[string]string{"VIGIL_DISCOURSE_CATEGORY": "security"})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Discourse
	if !d.Enabled() || d.APIKey.Value() != "k3y" || d.APIUsername != "vigil" || d.Category != "security" {
		t.Errorf("discourse = %+v", d)
	}
}

func TestDiscourseProblems(t *testing.T) {
	_, _, err := loadYAML(t, `
discourse:
  url: discuss.example.org
`, nil)
	var keys []string
	for _, p := range problemsOf(t, err) {
		keys = append(keys, p.Key)
	}
	for _, want := range []string{"discourse.url", "discourse.api_key", "discourse.api_username", "discourse.category"} {
		if !slices.Contains(keys, want) {
			t.Errorf("no problem reported for %s; got %v", want, keys)
		}
	}
}
