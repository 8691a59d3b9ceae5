//go:build !goolm

package matrix

import "context"

// cryptoBuilt is false without the goolm tag: mautrix's default crypto
// needs the C library libolm, which Vigil does not use. New then refuses
// (ErrNoCrypto), so a plain `go run ./cmd/vigil` still builds and runs the
// console while a Matrix deployment is told how to build.
const cryptoBuilt = false

func (a *Adapter) setupCrypto(context.Context) (func() error, error) {
	return nil, ErrNoCrypto
}
