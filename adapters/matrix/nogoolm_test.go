//go:build !goolm

package matrix

import (
	"os"
	"testing"
)

// TestIntegrationNeedsGoolm stands in for the integration tests, which need
// end-to-end encryption and so the goolm tag (`make test` sets it).
func TestIntegrationNeedsGoolm(t *testing.T) {
	msg := "Matrix integration tests need end-to-end encryption: run them with -tags goolm (make test does)"
	if os.Getenv("VIGIL_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (VIGIL_REQUIRE_INTEGRATION=1)")
	}
	t.Skip(msg)
}
