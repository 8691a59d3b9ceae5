package config

import (
	"strings"
	"testing"
)

const (
	storeKeyA = "a:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	storeKeyB = "b:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
)

func TestStoreKeysFromFileAndEnv(t *testing.T) {
	file := writeFile(t, "keys", storeKeyB+"\n"+storeKeyA+"\n")
	c, _, err := loadYAML(t, "store:\n  encryption:\n    keys_file: "+file+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.Store.Encryption.ParsedKeys()
	if err != nil || len(keys) != 2 || keys[0].ID != "b" || keys[1].ID != "a" {
		t.Fatalf("keys from file = %v, %v; want b (first: it encrypts) then a", keys, err)
	}
	c, _, err = loadYAML(t, "", map[string]string{"VIGIL_STORE_ENCRYPTION_KEYS": storeKeyA + "," + storeKeyB})
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := c.Store.Encryption.ParsedKeys(); len(keys) != 2 || keys[0].ID != "a" {
		t.Fatalf("keys from the environment = %v", keys)
	}
}

// A malformed key is reported by position and id, and the secret part
// (here a key of the wrong length) appears nowhere.
func TestStoreKeysProblemsHideTheSecret(t *testing.T) {
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	for _, keys := range []string{"k1:" + secret, storeKeyA + ",a:" + secret, secret, "bad id!:" + secret} {
		_, _, err := loadYAML(t, "store:\n  encryption:\n    keys: \""+keys+"\"\n", nil)
		p := onlyProblem(t, err)
		if p.Key != "store.encryption.keys" {
			t.Errorf("%q: problem at %q", keys, p.Key)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "AQEBAQ") {
			t.Errorf("the problem shows the secret: %v", err)
		}
	}
}
