#!/usr/bin/env bash
# One quiet run of everything issues 9 and 10 target, in one script, so the
# numbers of docs/benchmarks.md ("One quiet run of everything") can be
# measured again on any machine from a clean checkout.
#
#   bash bench/quiet-run.sh            # inputs (made once) and one run
#   OLD=/tmp/old bash bench/quiet-run.sh
#       # also runs OLD/zprsim and OLD/zprsim-baseline (an earlier build,
#       # e.g. copied from target/release before a change) beside this one,
#       # alternated in the same minutes
#   Q=/some/dir bash bench/quiet-run.sh   # where the inputs go (~1.3 GB)
#   INPUTS_ONLY=1 bash bench/quiet-run.sh # make the inputs and stop
#
# Needs: a release build (made here), python3, tcpdump, GNU time
# (/usr/bin/time). Everything it measures is printed; nothing is asserted.
# Each measurement waits until the machine is at least 85% idle over half a
# second (at most 60 s), and says so when it was not.
set -euo pipefail
cd "$(dirname "$0")/.."
Q=${Q:-/tmp/zprsim-quiet}
mkdir -p "$Q"
R=target/release
T=/usr/bin/time

cargo build --release --quiet -p zprsim --bin zprsim \
    -p zprsim-bench --bin zprsim-gen --bin zprsim-baseline --bin zprsim-judge-probe

# One timed run: LABEL, wall, user+sys CPU, peak RSS on one line; the
# command's own output (warnings of a generated scenario: thousands of
# lines) is dropped. mimalloc returns freed memory to the system after a
# delay (10 ms by default), so under load its peak moved by tens of MiB
# from run to run; with MIMALLOC_PURGE_DELAY=0 it returns it at once and
# repeats agree within 1 MiB (the fourteenth session's `diff` measures).
tm() {
    local label=$1
    shift
    MIMALLOC_PURGE_DELAY=0 $T -o "$Q/.time" -f "$label %e s %U+%S %M KiB" "$@" >/dev/null 2>&1 || true
    cat "$Q/.time"
}

# The same with mimalloc's default purge delay, as a user runs it: a time,
# not a peak. With 0, every large free is returned to the system at once
# and faulted in again when reused: the whole `replay --allowed` of
# real10k takes 15.5k page faults instead of 12.3-12.7k (the twenty-first
# session, docs/benchmarks.md; ~1.5 us each on that VM). Printed beside
# the other so that the 5x-tcpdump comparison can be read either way.
tmd() {
    local label=$1
    shift
    $T -o "$Q/.time" -f "$label %e s %U+%S %M KiB (default purge)" "$@" >/dev/null 2>&1 || true
    cat "$Q/.time"
}

gate() {
    local a b
    for _ in $(seq 120); do
        a=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
        sleep 0.5
        b=$(awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
        [ "$(echo "$a $b" | awk '{print int(100*($3-$1)/($4-$2))}')" -ge 85 ] && return
    done
    echo "(machine not idle: measured anyway)"
}

# ------------------------------------------------------------- inputs --
make_inputs() {
    [ -s "$Q/vnic10k.toml" ] ||
        $R/zprsim-gen scenario --preset large --seed 1 --sl-rules 100 --nsg-rules 40 --statements 10 -o "$Q/vnic10k.toml"
    [ -s "$Q/real10k.pcap" ] ||
        $R/zprsim-gen capture --scenario "$Q/vnic10k.toml" --packets 1000000 --flows 20000 --realistic -o "$Q/real10k.pcap"
    [ -s "$Q/realallow10k.pcap" ] ||
        $R/zprsim-gen capture --scenario "$Q/vnic10k.toml" --packets 1000000 --flows 20000 --realistic --allowed-share 0.9 -o "$Q/realallow10k.pcap"
    [ -s "$Q/distinct10k.pcap" ] ||
        $R/zprsim-gen capture --scenario "$Q/vnic10k.toml" --packets 1000000 -o "$Q/distinct10k.pcap"
    for p in large wide; do
        [ -s "$Q/$p.toml" ] || $R/zprsim-gen scenario --preset $p --seed 1 -o "$Q/$p.toml"
        [ -s "$Q/$p.json" ] || $R/zprsim-gen scenario --preset $p --seed 1 -o "$Q/$p.json"
    done
    [ -s "$Q/beyond.toml" ] || $R/zprsim-gen scenario --preset beyond --seed 1 -o "$Q/beyond.toml"
    # the 200-clause tcpdump filter, from the scenario's subnets and common ports
    [ -s "$Q/filter.txt" ] || python3 - "$Q" <<'PY'
import re, sys
q = sys.argv[1]
t = open(f"{q}/vnic10k.toml").read()
c = [x for x in dict.fromkeys(re.findall(r'"(10\.[0-9.]+/[0-9]+)"', t)) if not x.endswith("/16")]
p = [443, 80, 22, 5432, 6443, 8080, 3306, 9092]
open(f"{q}/filter.txt", "w").write(
    " or ".join(f"(dst net {c[i % len(c)]} and tcp dst port {p[i % len(p)]})" for i in range(200)))
PY
    # 1.04M flow-log entries: the OKE example's log, copy k shifted by k x 600 s
    [ -s "$Q/big.jsonl" ] || python3 bench/flowlog_copies.py 13000 examples/oke-orders/flowlogs/oke-demo.jsonl > "$Q/big.jsonl"
}
make_inputs
if [ -n "${INPUTS_ONLY:-}" ]; then
    ls -la "$Q"
    exit 0
fi

bins() { echo "$R"; if [ -n "${OLD:-}" ]; then echo "$OLD"; fi; }

echo "== $(date -u '+%F %T') UTC, $(git rev-parse --short HEAD), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== check: wall s, peak KiB (issue 9: wide/large <= 2 s, <= 512 MiB; JSON <= 256 MiB; beyond <= 15 s, <= 2 GiB)"
for p in wide large; do
    for f in toml json; do
        for b in $(bins); do
            gate
            tm "$b $p.$f" "$b/zprsim" check "$Q/$p.$f"
        done
    done
done
for b in $(bins); do
    gate
    tm "$b beyond.toml" "$b/zprsim" check "$Q/beyond.toml"
done

echo "== first-packet judgement, thread CPU ns (issue 9: <= 40 small, <= 60 large and wide; IPv6 class <= 25)"
gate
$R/zprsim-judge-probe small,large,wide --rounds 7

# The rate on each "engine, N worker(s)" line is the packet phase (to the
# last judging unit's loop end, as the bare loop is timed), the one the
# targets read; the "finish of open flows" line under it is the units' end
# of the flows left open (967k on distinct10k) and the rate with it.
echo "== packet phase against the bare loop (issue 10: >= 0.5 per worker; 2 workers >= 1.8x; >= 5 Mpps on distinct)"
for c in real10k realallow10k distinct10k; do
    for b in $(bins); do
        gate
        echo "-- $b $c"
        "$b/zprsim-baseline" "$Q/vnic10k.toml" "$Q/$c.pcap" --runs 1 --workers 1,2
    done
done

echo "== whole replay --allowed against tcpdump -w with the 200-clause filter (issue 10: >= 5x)"
for _ in 1 2 3; do
    for c in real10k realallow10k; do
        for b in $(bins); do
            gate
            tm "$b $c" "$b/zprsim" replay "$Q/vnic10k.toml" "$Q/$c.pcap" \
                --allowed "$Q/za.pcap" --quiet --workers 2
            gate
            tmd "$b $c" "$b/zprsim" replay "$Q/vnic10k.toml" "$Q/$c.pcap" \
                --allowed "$Q/za.pcap" --quiet --workers 2
        done
        gate
        tm "tcpdump $c" tcpdump -Z root -r "$Q/$c.pcap" -w "$Q/td.pcap" -F "$Q/filter.txt"
    done
done

echo "== 1M-flow replay --flows --report, peak KiB (issue 10: <= 300 MiB)"
for w in 1 2; do
    for b in $(bins); do
        gate
        tm "$b distinct10k w$w" "$b/zprsim" replay "$Q/vnic10k.toml" "$Q/distinct10k.pcap" \
            --quiet --workers $w --flows "$Q/f.jsonl" --report "$Q/r.json"
    done
done

echo "== diff on 1M distinct flows (the scenario against itself), peak KiB (not a target)"
for b in $(bins); do
    gate
    tm "$b diff distinct10k" "$b/zprsim" diff "$Q/vnic10k.toml" "$Q/vnic10k.toml" \
        "$Q/distinct10k.pcap" --quiet --flows "$Q/df.jsonl" --report "$Q/dr.json"
done

echo "== flow-log replay, 1.04M entries, peak KiB (not a target)"
# Read once first: whichever build read the 0.87 GB log first paid its page
# cache misses (0.6-1.4 s of system time, the thirty-second session's
# whole-replay work), and the new build always runs first.
cat "$Q/big.jsonl" > /dev/null
for b in $(bins); do
    gate
    tm "$b big.jsonl" "$b/zprsim" replay examples/oke-orders/scenario.toml "$Q/big.jsonl" \
        --quiet --report "$Q/fr.json"
done
rm -f "$Q/.time" "$Q/za.pcap" "$Q/td.pcap" "$Q/f.jsonl" "$Q/r.json" "$Q/df.jsonl" "$Q/dr.json" "$Q/fr.json"
echo "== done $(date -u '+%T') UTC"
