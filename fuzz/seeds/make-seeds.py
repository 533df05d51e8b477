#!/usr/bin/env python3
"""Writes the committed seeds of the stable fuzz smoke run
(fuzz/bodies/tests/smoke.rs), a few KB per target, cut from the project's
own fixtures. Run from fuzz/seeds/ after a fixture changes:
    python3 make-seeds.py
They also seed cargo-fuzz: `cargo +nightly fuzz run NAME seeds/NAME`
(copy them into corpus/NAME first so new finds stay out of git)."""
import glob, gzip, json, os, shutil, struct, tomllib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
HERE = os.path.dirname(os.path.abspath(__file__))


def src(p):
    return os.path.join(ROOT, p)


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for t in ["capture", "parse_frame", "zpl", "scenario", "fast_readers",
          "flowlog", "import", "stream", "agree"]:
    shutil.rmtree(os.path.join(HERE, t), ignore_errors=True)

# Small captures of every kind the fixtures have.
PCAPS = ["tcp_allowed_with_replies.pcap", "two_linktypes.pcapng", "linux_sll.pcap",
         "raw_ip.pcap", "nanosecond_be.pcap", "vlan_qinq.pcap", "ipv6_ext_headers.pcap",
         "truncated_records.pcap"]
for p in PCAPS:
    b = open(src("pcaps/" + p), "rb").read()
    put("capture", p, b)
    # The stream target's first byte is the chunk size.
    put("stream", p, bytes([7]) + b)

# Frames for parse_frame: a selector byte (index into its LINKTYPES) and
# one frame, the first three frames of each classic pcap.
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105]
for p in ["tcp_allowed_with_replies.pcap", "linux_sll.pcap", "raw_ip.pcap",
          "vlan_qinq.pcap", "ipv6_ext_headers.pcap", "nanosecond_be.pcap"]:
    b = open(src("pcaps/" + p), "rb").read()
    magic = b[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    lt = struct.unpack(e + "I", b[20:24])[0] & 0xFFFF
    off, n = 24, 0
    while off + 16 <= len(b) and n < 3:
        incl = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        frame = b[off + 16:off + 16 + incl]
        put("parse_frame", f"{p}.{n}", bytes([LINKTYPES.index(lt)]) + frame)
        off += 16 + incl
        n += 1

# ZPL: each statement of the example's policies.
for f in sorted(glob.glob(src("examples/oke-orders/policies/*.zpl"))):
    stmts = []
    for line in open(f).read().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and stmts:
            stmts[-1] += "\n" + line
        else:
            stmts.append(line)
    for i, s in enumerate(stmts):
        put("zpl", f"{os.path.basename(f)}.{i}", s + "\n")

# Scenarios (TOML, and JSON for the JSON loader and the fast readers).
for f in ["tests/cases/scenarios/zpr_only.toml", "tests/cases/scenarios/edges.toml"]:
    text = open(src(f)).read()
    put("scenario", os.path.basename(f), text)
    put("agree", os.path.basename(f), text)
    put("fast_readers", os.path.basename(f), text)
    put("fast_readers", os.path.basename(f) + ".json",
        json.dumps(tomllib.loads(text), indent=1))
# For agree also rules on the ports its packets use (443, 53).
put("agree", "security.toml", open(src("tests/cases/scenarios/security.toml")).read())
put("scenario", "zpr_only.json",
    json.dumps(tomllib.loads(open(src("tests/cases/scenarios/zpr_only.toml")).read()), indent=1))
# Scenarios as users write them (since the twenty-sixth session): the OKE
# example (NSGs, a load balancer, pods, ZPR) and the shop example (a
# policy file of the user's own), their policy files' statements inline
# (the target reads no file) and their comment lines left out; stateless
# rules on both sides (the security case).
def zpl_statements(path):
    stmts = []
    for line in open(src(path)).read().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and stmts:
            stmts[-1] += " " + line.strip()
        else:
            stmts.append(line)
    return stmts


def inlined(example, policy):
    text = open(src(example)).read()
    inline = "statements = [\n" + "".join(
        "  " + json.dumps(st) + ",\n" for st in zpl_statements(os.path.join(os.path.dirname(example), policy))) + "]"
    assert f'file = "{policy}"' in text
    text = text.replace(f'file = "{policy}"', inline)
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")) + "\n"
    tomllib.loads(text)
    return text


put("scenario", "oke-orders.toml", inlined("examples/oke-orders/scenario.toml", "policies/orders.zpl"))
put("scenario", "shop.toml", inlined("examples/shop/shop.toml", "policies/shop.zpl"))
put("scenario", "security.toml", open(src("tests/cases/scenarios/security.toml")).read())

# Flow logs: JSON lines (a NODATA entry and data records), a JSON array, a
# gzip member, the search-output shape.
lines = open(src("examples/oke-orders/flowlogs/oke-demo.jsonl")).read().splitlines()
put("flowlog", "lines.jsonl", "\n".join(lines[:4]) + "\n")
put("flowlog", "array.json", json.dumps([json.loads(l) for l in lines[1:3]], indent=1))
put("flowlog", "lines.jsonl.gz", gzip.compress(("\n".join(lines[4:7]) + "\n").encode(), mtime=0))
put("flowlog", "search.json", json.dumps({"data": {"results": [{"data": json.loads(l)} for l in lines[7:9]]}}, indent=1))

# The OCI export, three small files at a time joined by NUL (the import
# target's NAMES).
exp = "examples/oke-orders/oci-export/"
put("import", "vcn-subnet-nsg", "\0".join(open(src(exp + f)).read() for f in [
    "network-vcn-list.json", "network-subnet-list.json",
    "network-nsg-rules-list.ocid1.networksecuritygroup.oc1.iad.gen000000.json"]))
put("import", "gateways", "\0".join(open(src(exp + f)).read() for f in [
    "network-internet-gateway-list.json", "network-route-table-list.json",
    "network-vnic-get-1.json"]))
