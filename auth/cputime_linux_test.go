package auth

import (
	"runtime"
	"syscall"
	"testing"
)

// threadCPU starts measuring the CPU time of the benchmark's own thread and returns a
// function that reports it per operation as "cpu-ns/op". On a busy machine wall time counts
// the time other processes ran; this does not (it leaves out GC workers' threads too).
func threadCPU(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	start := threadCPUNanos()
	return func() {
		b.ReportMetric(float64(threadCPUNanos()-start)/float64(b.N), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

func threadCPUNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
