package redisstore

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/storetest"
)

// The suite again with encryption at rest on (store/encrypted).
func TestConformanceEncrypted(t *testing.T) {
	srv := testredis.Start(t)
	storetest.RunEncrypted(t, func(t *testing.T) store.Store { return newStore(t, srv) })
}

func BenchmarkStoreEncrypted(b *testing.B) {
	srv := testredis.Start(b)
	storetest.RunBenchmarks(b, func(b *testing.B) store.Store { return storetest.Encrypted(b, newStore(b, srv)) })
}
