# Turns gotestsum's summary of the skipped tests into one line per test and
# reason, for the end of `make test`. The summary has, for each skipped test,
#
#   === SKIP: <package> <test> (<seconds>)
#       <file>.go:<line>: <output>        (the t.Skip message last)
#   <blank line>
#
# The subtests of one test that all skip for the same reason (a conformance
# suite with no database: 66 of them) are counted on one line.

# add records the test just read, if any.
function add() {
	if (pkg == "")
		return
	k = pkg SUBSEP top SUBSEP why
	if (!(k in n)) {
		order[++m] = k
		first[k] = name
	}
	n[k]++
	total++
	pkg = ""
}

/^=== SKIP: / {
	add()
	pkg = $3
	name = $4
	top = name
	sub(/\/.*/, "", top)
	why = "(no message)"
	next
}

# The test's output: the last line is the skip message.
pkg != "" && /^    [^ ]+\.go:[0-9]+: / {
	why = $0
	sub(/^    [^ ]+\.go:[0-9]+: /, "", why)
	next
}

/^$/ { add() }

END {
	add()
	if (m)
		printf "\nskipped: %d tests, with the reason each gave\n", total
	else
		print "\nskipped: none"
	for (i = 1; i <= m; i++) {
		k = order[i]
		split(k, f, SUBSEP)
		printf "  %s %s: %s\n", f[1], (n[k] > 1 ? f[2] " (" n[k] " subtests)" : first[k]), f[3]
	}
}
