package rules

// waitlist is the FIFO line. Each joiner takes the next ticket; a Fenwick
// (binary indexed) tree over the tickets counts who is still in line, so a
// position is a prefix sum. Join, leave, position and pop are O(log n), and a
// waiting user costs two int32 here, neither a pointer.
//
// This is the "queue number minus serving counter" of virtual waiting rooms,
// made exact when people leave from the middle of the line.
//
// It is not safe for concurrent use; its Sale's owner serializes calls.
type waitlist struct {
	accts *accounts // where each member's ticket is kept
	base  uint64    // ticket of slots[0]
	slots []ref     // slots[i]: the account holding ticket base+i; 0 once it left or was served
	tree  []int32   // Fenwick tree over slots, 1-based: tree[i] counts occupied slots in (i-lowbit(i), i]
	head  int       // slots before head are all 0
	size  int
}

func newWaitlist(accts *accounts) *waitlist {
	return &waitlist{accts: accts, tree: []int32{0}}
}

func (w *waitlist) len() int { return w.size }

// push appends account r to the line, sets its ticket, and returns that
// ticket and r's 1-based position. The waitlist owns the ticket from then
// on: compaction renumbers it.
func (w *waitlist) push(r ref) (ticket uint64, position int64) {
	w.slots = append(w.slots, r)
	a := w.accts.get(r)
	a.ticket = w.base + uint64(len(w.slots)-1)
	i := len(w.slots) // 1-based Fenwick index of the new slot
	// The new node covers (i-lowbit(i), i]: its own slot plus a range that is
	// already in the tree, read as a difference of two prefix sums.
	w.tree = append(w.tree, int32(1+w.prefix(i-1)-w.prefix(i-lowbit(i))))
	w.size++
	return a.ticket, int64(w.size)
}

// position returns the 1-based place of the ticket's holder, who must be in line.
func (w *waitlist) position(ticket uint64) int64 {
	return int64(w.prefix(int(ticket-w.base) + 1))
}

// remove takes the ticket's holder out of the line.
func (w *waitlist) remove(ticket uint64) {
	i := int(ticket - w.base)
	w.slots[i] = 0
	w.add(i+1, -1)
	w.size--
	w.compact()
}

// first returns the first account in the line, or 0 if it is empty.
func (w *waitlist) first() ref {
	if w.size == 0 {
		return 0
	}
	// Every slot is passed over once in its life, so this is amortized O(1).
	for w.slots[w.head] == 0 {
		w.head++
	}
	return w.slots[w.head]
}

// pop takes the first account out of the line, or returns 0 if it is empty.
func (w *waitlist) pop() ref {
	a := w.first()
	if a == 0 {
		return 0
	}
	w.slots[w.head] = 0
	w.add(w.head+1, -1)
	w.head++
	w.size--
	w.compact()
	return a
}

// compact drops the empty slots (of users served or gone) once they are at
// least half of all slots, so memory and the tree's height follow the line's
// length, not the number of joins ever: a bot that joins and leaves in a loop
// cannot grow them. The live accounts get new tickets, numbered on from the
// old ones so that no ticket is ever given twice. The O(n) copy is paid for
// by the n/2 removals before it: amortized O(1).
func (w *waitlist) compact() {
	if w.size == 0 {
		w.base += uint64(len(w.slots))
		w.slots = w.slots[:0]
		w.tree = w.tree[:1]
		w.head = 0
		return
	}
	empty := len(w.slots) - w.size
	if empty < 1024 || empty < len(w.slots)/2 {
		return
	}
	base := w.base + uint64(len(w.slots))
	live := make([]ref, 0, 2*w.size)
	for _, r := range w.slots[w.head:] {
		if r != 0 {
			w.accts.get(r).ticket = base + uint64(len(live))
			live = append(live, r)
		}
	}
	w.base = base
	w.slots = live
	w.head = 0
	w.rebuild()
}

// rebuild recomputes the tree from slots in O(n).
func (w *waitlist) rebuild() {
	n := len(w.slots)
	w.tree = make([]int32, n+1, cap(w.slots)+1)
	for i := 1; i <= n; i++ {
		if w.slots[i-1] != 0 {
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

// pushAll appends the accounts to the line in order, in O(n) however many:
// the draw moves its whole pre-queue into the line in one step.
func (w *waitlist) pushAll(refs []ref) {
	for _, r := range refs {
		w.accts.get(r).ticket = w.base + uint64(len(w.slots))
		w.slots = append(w.slots, r)
	}
	w.size += len(refs)
	w.rebuild()
}
