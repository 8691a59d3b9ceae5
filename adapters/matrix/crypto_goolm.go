//go:build goolm

package matrix

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" driver for the crypto store
)

// cryptoBuilt: this binary has goolm, the pure-Go olm/megolm.
const cryptoBuilt = true

// setupCrypto opens the crypto store, logs in (with the password, reusing
// the device id kept in the store, so the bot is one stable device) or
// adopts the access token's device, and starts the olm machine. It returns
// a function that closes the store.
func (a *Adapter) setupCrypto(ctx context.Context) (func() error, error) {
	if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("crypto store directory: %w", err)
	}
	key, err := a.loadPickleKey()
	if err != nil {
		return nil, err
	}
	db, err := openCryptoDB(filepath.Join(a.dataDir, "crypto.db"))
	if err != nil {
		return nil, err
	}
	raw := db.RawDB
	helper, err := cryptohelper.NewCryptoHelper(a.client, key, db)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("crypto helper: %w", err)
	}
	if a.password != "" {
		helper.LoginAs = &mautrix.ReqLogin{
			Type:                     mautrix.AuthTypePassword,
			Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: string(a.userID)},
			Password:                 a.password,
			InitialDeviceDisplayName: a.deviceName,
		}
	} else {
		who, err := a.client.Whoami(ctx)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("check the access token (whoami): %w", err)
		}
		if who.UserID != a.userID {
			raw.Close()
			return nil, fmt.Errorf("the access token belongs to %s, not %s", who.UserID, a.userID)
		}
		a.client.DeviceID = who.DeviceID
	}
	helper.DecryptErrorCallback = func(evt *event.Event, err error) {
		a.log.Warn("could not decrypt a message", "room", evt.RoomID, "event", evt.ID, "sender", evt.Sender, "err", err)
	}
	if err := helper.Init(ctx); err != nil {
		helper.Close()
		return nil, fmt.Errorf("start end-to-end encryption: %w", err)
	}
	a.client.Crypto = helper
	return helper.Close, nil
}

// loadPickleKey returns the configured key, or one generated once and kept
// beside the store (0600).
func (a *Adapter) loadPickleKey() ([]byte, error) {
	if a.pickleKey != "" {
		return []byte(a.pickleKey), nil
	}
	path := filepath.Join(a.dataDir, "pickle.key")
	data, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(data)); k != "" {
			return []byte(k), nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the pickle key: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate a pickle key: %w", err)
	}
	k := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write the pickle key: %w", err)
	}
	return []byte(k), nil
}

// openCryptoDB opens the SQLite file mautrix keeps its olm account, megolm
// sessions and room state in, on modernc's pure-Go driver (cgo is not
// needed, and libolm's sqlite bindings are not used).
func openCryptoDB(path string) (*dbutil.Database, error) {
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open crypto store %s: %w", path, err)
	}
	db, err := dbutil.NewWithDB(raw, "sqlite3")
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("open crypto store %s: %w", path, err)
	}
	return db, nil
}
