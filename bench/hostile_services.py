#!/usr/bin/env python3
"""Hostile scenarios for the compiler's local service classes
(docs/benchmarks.md, "Service conditions at scale").

    python3 bench/hostile_services.py KIND N OUT.toml

KIND:
  zpr      N ZPR statements, each on its own (protocol, port): tcp 1..60000,
           then udp; all name the one attributed VNIC (one ZPR profile)
  zprpair  N statements, two per TCP port (stateful and stateless): N
           conditions, N/2 local services (under a profile's 65,535)
  nested   N statements on tcp/1-k for k = 1..N (quadratic output)
  sec      N security rules on distinct ports, in NSGs of 200 rules
"""
import sys
kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = '''[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = { network = { vcn = { value = "v" } } }
[[security_list]]
name = "sl"
vcn = "v"
ingress_security_rules = [{ protocol = "all", source = "10.0.0.0/16" }]
egress_security_rules = [{ protocol = "all", destination = "10.0.0.0/16" }]
[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["sl"]
'''
def proto_port(i):
    # distinct (protocol, port) pairs: tcp 1..60000, then udp
    return ("tcp", 6, i + 1) if i < 60000 else ("udp", 17, i - 60000 + 1)
lines = [head]
if kind in ("zpr", "nested", "zprpair"):
    lines.append('[[vnic]]\nname = "x"\nsubnet = "a"\nprivate_ips = ["10.0.1.10"]\nsecurity_attributes = { app = { role = { value = "x" } } }\n')
    lines.append('[[zpr_policy]]\nname = "p"\nstatements = [\n')
    for i in range(n):
        if kind == "zpr":
            name, _, port = proto_port(i)
            spec = f"{name}/{port}"
        elif kind == "zprpair":
            # two statements (stateful, stateless) per port: n conditions,
            # n/2 local services (under the 65,535 a profile can hold)
            spec = f"tcp/{i // 2 + 1}' with connection-state='stateless" if i % 2 else f"tcp/{i // 2 + 1}"
        else:
            spec = f"tcp/1-{i + 1}"
        lines.append(f'  "in network.vcn:v VCN allow app.role:x endpoints to connect to app.role:x endpoints with protocol=\'{spec}\'",\n')
    lines.append(']\n')
elif kind == "sec":
    # n rules on distinct ports in NSGs of 200 rules (the OCI limit is per
    # list / NSG, so many containers); one VNIC in the first NSG.
    n_nsg = (n + 199) // 200
    lines.append('[[vnic]]\nname = "x"\nsubnet = "a"\nprivate_ips = ["10.0.1.10"]\nnsgs = ["n0"]\n')
    for g in range(n_nsg):
        lines.append(f'[[nsg]]\nname = "n{g}"\nvcn = "v"\nrules = [\n')
        for i in range(g * 200, min(n, g * 200 + 200)):
            name, num, port = proto_port(i)
            opt = "tcp_options" if num == 6 else "udp_options"
            lines.append(f'  {{ direction = "INGRESS", protocol = "{num}", source = "10.0.0.0/16", {opt} = {{ destination_port_range = {{ min = {port}, max = {port} }} }} }},\n')
        lines.append(']\n')
open(out, "w").write("".join(lines))
