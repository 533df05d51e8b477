# Writes N copies of a flow log (JSON lines) to stdout, copy k's times
# (startTime, endTime, datetime) shifted by k*600 s and its ids prefixed
# "k-": each copy its own entries, as docs/benchmarks.md's /tmp/big.jsonl.
# Streams (no file needed): python3 bench/flowlog_copies.py N LOG | zprsim replay S -
# Text substitution, not a JSON round trip: ~2 s per million lines.
import re, sys
n = int(sys.argv[1])
tmpl = open(sys.argv[2]).read().splitlines()
num = re.compile(r'("datetime":|"startTime":|"endTime":)(\d+)|("id":")')
parts = []
for line in tmpl:
    pieces, kinds, at = [], [], 0
    for m in num.finditer(line):
        pieces.append(line[at:m.start()])
        if m.group(3):
            pieces.append(m.group(3)); kinds.append(('id', 0))
        else:
            pieces.append(m.group(1)); kinds.append(('t', int(m.group(2))))
        at = m.end()
    pieces.append(line[at:] + "\n")
    parts.append((pieces, kinds))
out = sys.stdout
buf = []
for k in range(n):
    sh = k * 600
    pre = "%d-" % k
    for pieces, kinds in parts:
        s = []
        for i, (kind, v) in enumerate(kinds):
            s.append(pieces[2 * i]); s.append(pieces[2 * i + 1])
            if kind == 'id':
                s.append(pre)
            else:
                s.append(str(v + (sh * 1000 if v > 10**12 else sh)))
        s.append(pieces[-1])
        buf.append("".join(s))
    if len(buf) > 20000:
        out.write("".join(buf)); buf = []
out.write("".join(buf))
