// Package membench measures what benchmarks of memory per user report: the
// live heap, after collections have freed what is garbage.
package membench

import "runtime"

// HeapInUse collects twice (the second pass frees what finalizers of the
// first kept) and returns the bytes of live heap objects.
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
