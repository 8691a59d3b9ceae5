package config

import "github.com/vigil-sec/vigil/store/encrypted"

// Store configures what Vigil does to data before it reaches the store
// (Redis or the embedded file).
type Store struct {
	Encryption StoreEncryption `yaml:"encryption"`
}

// StoreEncryption is encryption at rest of embargoed details
// (docs/ENCRYPTION.md).
type StoreEncryption struct {
	// Keys are "ID:BASE64" entries (from `vigil store gen-key`) separated
	// by commas or line breaks; the first encrypts, all decrypt. Empty
	// means embargoed details are stored in the clear.
	Keys Secret `yaml:"keys" env:"VIGIL_STORE_ENCRYPTION_KEYS"`
}

// ParsedKeys returns the configured keys (none when unset).
func (e StoreEncryption) ParsedKeys() ([]encrypted.Key, error) {
	return encrypted.ParseKeys(e.Keys.Value())
}

// validateStore checks the keys' form; its messages come from ParseKeys,
// which names an entry's position and id, never its secret part.
func validateStore(c *Config, report func(key, msg string)) {
	if _, err := c.Store.Encryption.ParsedKeys(); err != nil {
		report("store.encryption.keys", err.Error())
	}
}
