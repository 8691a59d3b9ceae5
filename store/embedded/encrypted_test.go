package embedded_test

import (
	"testing"

	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/storetest"
)

// The suite again with encryption at rest on (store/encrypted).
func TestConformanceEncrypted(t *testing.T) {
	storetest.RunEncrypted(t, func(t *testing.T) store.Store { return openTemp(t) })
}
