package store

// waitlist is the FIFO line. Each joiner takes the next ticket; a Fenwick
// (binary indexed) tree over the tickets counts who is still in line, so a
// position is a prefix sum. Join, leave, position and pop are O(log n), and a
// waiting user costs one pointer and one int32 here.
//
// This is the "queue number minus serving counter" of virtual waiting rooms,
// made exact when people leave from the middle of the line.
//
// It is not safe for concurrent use; Store.mu guards it.
type waitlist struct {
	base  uint64     // ticket of slots[0]
	slots []*account // slots[i]: the account holding ticket base+i; nil once it left or was served
	tree  []int32    // Fenwick tree over slots, 1-based: tree[i] counts occupied slots in (i-lowbit(i), i]
	head  int        // slots before head are all nil
	size  int
}

func newWaitlist() *waitlist {
	return &waitlist{tree: []int32{0}}
}

func (w *waitlist) len() int { return w.size }

// push appends a to the line and returns its ticket and 1-based position.
func (w *waitlist) push(a *account) (ticket uint64, position int64) {
	w.slots = append(w.slots, a)
	i := len(w.slots) // 1-based Fenwick index of the new slot
	// The new node covers (i-lowbit(i), i]: its own slot plus a range that is
	// already in the tree, read as a difference of two prefix sums.
	w.tree = append(w.tree, int32(1+w.prefix(i-1)-w.prefix(i-lowbit(i))))
	w.size++
	return w.base + uint64(i-1), int64(w.size)
}

// position returns the 1-based place of the ticket's holder, who must be in line.
func (w *waitlist) position(ticket uint64) int64 {
	return int64(w.prefix(int(ticket-w.base) + 1))
}

// remove takes the ticket's holder out of the line.
func (w *waitlist) remove(ticket uint64) {
	i := int(ticket - w.base)
	w.slots[i] = nil
	w.add(i+1, -1)
	w.size--
	w.compact()
}

// pop takes the first account out of the line, or returns nil if it is empty.
func (w *waitlist) pop() *account {
	if w.size == 0 {
		return nil
	}
	// Every slot is passed over once in its life, so this is amortized O(1).
	for w.slots[w.head] == nil {
		w.head++
	}
	a := w.slots[w.head]
	w.slots[w.head] = nil
	w.add(w.head+1, -1)
	w.head++
	w.size--
	w.compact()
	return a
}

// compact drops the served prefix once it is at least half of the slots, so
// memory follows the line's length rather than the number of joins ever. The
// O(n) rebuild is paid for by the n/2 pops before it: amortized O(1).
func (w *waitlist) compact() {
	if w.size == 0 {
		w.base += uint64(len(w.slots))
		w.slots = w.slots[:0]
		w.tree = w.tree[:1]
		w.head = 0
		return
	}
	if w.head < 1024 || w.head < len(w.slots)/2 {
		return
	}
	live := make([]*account, len(w.slots)-w.head, 2*(len(w.slots)-w.head))
	copy(live, w.slots[w.head:])
	w.base += uint64(w.head)
	w.slots = live
	w.head = 0
	w.rebuild()
}

// rebuild recomputes the tree from slots in O(n).
func (w *waitlist) rebuild() {
	n := len(w.slots)
	w.tree = make([]int32, n+1, cap(w.slots)+1)
	for i := 1; i <= n; i++ {
		if w.slots[i-1] != nil {
			w.tree[i]++
		}
		if j := i + lowbit(i); j <= n {
			w.tree[j] += w.tree[i]
		}
	}
}

func (w *waitlist) add(i int, d int32) {
	for ; i < len(w.tree); i += lowbit(i) {
		w.tree[i] += d
	}
}

func (w *waitlist) prefix(i int) int {
	s := 0
	for ; i > 0; i -= lowbit(i) {
		s += int(w.tree[i])
	}
	return s
}

func lowbit(i int) int { return i & -i }
