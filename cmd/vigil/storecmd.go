package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-sec/vigil/store/embedded"
	"github.com/vigil-sec/vigil/store/encrypted"
)

const storeUsage = `Usage:
  vigil store gen-key [--id ID]
  vigil store rotate-key [--config FILE] [--data DIR]

gen-key prints a new random encryption key as ID:BASE64, for
store.encryption.keys (docs/ENCRYPTION.md). The default id is k-<random hex>.

rotate-key re-encrypts every stored record under the first key of
store.encryption.keys, printing its progress. Records already under that key
are skipped, so a run that stopped midway is finished by running it again. On
Redis it is safe beside running replicas (a record changed meanwhile is read
again); the embedded file must not be in use (stop Vigil first). Once it
reports done, the other keys can be removed from the configuration.

  --id ID          gen-key: the key's id (letters, digits, '.', '_', '-')
  --config FILE    rotate-key: configuration file (env VIGIL_CONFIG)
  --data DIR       rotate-key: directory of the embedded store
`

func storeMain(args []string, s streams, lookup env) int {
	if len(args) == 0 {
		fmt.Fprintf(s.Err, "vigil store: want gen-key or rotate-key\n\n%s", storeUsage)
		return 2
	}
	switch args[0] {
	case "gen-key":
		return genKeyMain(args[1:], s)
	case "rotate-key":
		return rotateKeyMain(args[1:], s, lookup)
	case "help", "--help", "-h", "-help":
		fmt.Fprint(s.Out, storeUsage)
		return 0
	}
	fmt.Fprintf(s.Err, "vigil store: unknown command %q\n\n%s", args[0], storeUsage)
	return 2
}

func genKeyMain(args []string, s streams) int {
	fs := flag.NewFlagSet("store gen-key", flag.ContinueOnError)
	id := fs.String("id", "", "")
	if code, done := parseStoreFlags(fs, args, s, "gen-key"); done {
		return code
	}
	if *id == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			fmt.Fprintf(s.Err, "vigil store gen-key: %v\n", err)
			return 1
		}
		*id = "k-" + hex.EncodeToString(b)
	}
	key, err := encrypted.GenerateKey(*id)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil store gen-key: %v\n\n%s", err, storeUsage)
		return 2
	}
	fmt.Fprintln(s.Out, key)
	return 0
}

func rotateKeyMain(args []string, s streams, lookup env) int {
	var o runOptions
	fs := flag.NewFlagSet("store rotate-key", flag.ContinueOnError)
	fs.StringVar(&o.ConfigPath, "config", "", "")
	fs.StringVar(&o.Data, "data", "", "")
	if code, done := parseStoreFlags(fs, args, s, "rotate-key"); done {
		return code
	}
	o.ConfigPath = configPath(o.ConfigPath, lookup)
	if err := rotateKeys(o, s, lookup); err != nil {
		fmt.Fprintf(s.Err, "vigil store rotate-key: %v\n", err)
		return 1
	}
	return 0
}

// parseStoreFlags parses a store sub-command's flags; done says the
// command ends here with code (--help, or a usage error).
func parseStoreFlags(fs *flag.FlagSet, args []string, s streams, name string) (code int, done bool) {
	err := parseFlags(fs, args, "unexpected argument")
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(s.Out, storeUsage)
		return 0, true
	case err != nil:
		fmt.Fprintf(s.Err, "vigil store %s: %v\n\n%s", name, err, storeUsage)
		return 2, true
	}
	return 0, false
}

func rotateKeys(o runOptions, s streams, lookup env) error {
	cfg, err := loadConfig(o, lookup)
	if err != nil {
		return err
	}
	keys, err := cfg.Store.Encryption.ParsedKeys()
	if err != nil {
		return fmt.Errorf("store.encryption.keys: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("store.encryption.keys is empty: add a key first (vigil store gen-key)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openBackend(ctx, cfg, slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "rotate-key: re-encrypting %s under key %q\n", st.Describe(), keys[0].ID)
	stats, err := encrypted.RotateKeys(ctx, st, keys, func(line string) { fmt.Fprintln(s.Out, line) })
	st.Close()
	if err != nil {
		return fmt.Errorf("stopped after %d records (run it again to finish): %w", stats.Records, err)
	}
	if !cfg.Redis.Enabled() {
		// bbolt's free pages still hold the old ciphertexts (and any
		// record from before encryption was on): rewrite the file.
		path, err := embeddedPath(cfg)
		if err == nil {
			err = embedded.Compact(path)
		}
		if err != nil {
			return fmt.Errorf("every record is re-encrypted, but compacting the file failed (old versions may remain in its free pages; run it again): %w", err)
		}
		fmt.Fprintf(s.Out, "rotate-key: compacted %s (no old version is left in its free pages)\n", path)
	}
	fmt.Fprintf(s.Out, "rotate-key: done: %d records, %d re-encrypted, %d already under %q; every record is now under %q\n",
		stats.Records, stats.Resealed, stats.Skipped, keys[0].ID, keys[0].ID)
	return nil
}
