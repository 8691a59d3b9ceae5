package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
	"github.com/vigil-sec/vigil/store/encrypted"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// openStore opens the store (openBackend) behind the encryption decorator
// when keys are configured. A store sealed under a key that is not
// configured is refused here, naming the key id, before anything runs.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (store.Store, error) {
	keys, err := cfg.Store.Encryption.ParsedKeys()
	if err != nil {
		return nil, fmt.Errorf("store.encryption.keys: %w", err)
	}
	st, err := openBackend(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	est, err := encrypted.Open(ctx, st, keys, logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store encryption: %w", err)
	}
	return est, nil
}

// openBackend opens Redis when configured, else the embedded file. A Redis
// that does not answer is a one-line error at start, not a hang.
func openBackend(ctx context.Context, cfg *config.Config, logger *slog.Logger) (store.Store, error) {
	if cfg.Redis.Enabled() {
		st, err := redisstore.New(redisstore.Options{
			URL:     cfg.Redis.URL.Value(),
			Prefix:  cfg.Redis.Prefix,
			Timeout: time.Duration(cfg.Redis.Timeout),

			WaitReplicas: cfg.Redis.WaitReplicas,
			WaitTimeout:  time.Duration(cfg.Redis.WaitTimeout),
			Logger:       logger,
		})
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("cannot reach %s: %w", st.Describe(), err)
		}
		return st, nil
	}
	path, err := embeddedPath(cfg)
	if err != nil {
		return nil, err
	}
	st, err := embedded.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the embedded store: %w", err)
	}
	return st, nil
}

// embeddedPath is the embedded store's file.
func embeddedPath(cfg *config.Config) (string, error) {
	dir, err := cfg.DataDir()
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return filepath.Join(dir, "vigil.db"), nil
}
