//go:build !linux

package auth

import "testing"

// threadCPU is a no-op where the thread's CPU time is not at hand.
func threadCPU(b *testing.B) (stop func()) { return func() {} }
