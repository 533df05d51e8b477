#!/usr/bin/env bash
# Exports a compartment's network as OCI CLI JSON, one file per command, with
# the file names `zprsim import oci` expects (../shared/spec/cli-contract.md,
# "import"). Needs the OCI CLI (configured) and jq. Documented, not run by
# the tests.
#
#   examples/export-oci.sh COMPARTMENT_OCID OUT_DIR [TENANCY_OCID]
#   zprsim import oci OUT_DIR -o scenario.toml --services public_ip_ranges.json
#
# TENANCY_OCID: where ZPR policies live (the root compartment); without it,
# no policies are exported. OCI's public IP ranges (for service CIDRs):
#   curl -sO https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 COMPARTMENT_OCID OUT_DIR [TENANCY_OCID]" >&2
    exit 2
fi
C=$1
D=$2
T=${3:-}
mkdir -p "$D"

# The CLI prints nothing for an empty list: write an empty envelope then.
run() {
    local out=$1
    shift
    local text
    text=$("$@") || return
    if [ -z "$text" ]; then text='{"data": []}'; fi
    printf '%s\n' "$text" > "$D/$out"
}

run network-vcn-list.json oci network vcn list --compartment-id "$C" --all
run network-subnet-list.json oci network subnet list --compartment-id "$C" --all
run compute-vnic-attachment-list.json oci compute vnic-attachment list --compartment-id "$C" --all
run network-nsg-list.json oci network nsg list --compartment-id "$C" --all
run network-security-list-list.json oci network security-list list --compartment-id "$C" --all
run network-route-table-list.json oci network route-table list --compartment-id "$C" --all
run network-internet-gateway-list.json oci network internet-gateway list --compartment-id "$C" --all
run network-nat-gateway-list.json oci network nat-gateway list --compartment-id "$C" --all
run network-service-gateway-list.json oci network service-gateway list --compartment-id "$C" --all
run network-local-peering-gateway-list.json oci network local-peering-gateway list --compartment-id "$C" --all
run network-drg-attachment-list.json oci network drg-attachment list --compartment-id "$C" --all
run network-service-list.json oci network service list --all
# Load balancers carry the NSGs and security attributes of their VNICs
# (an OKE service's annotations set them on the balancer).
run lb-load-balancer-list.json oci lb load-balancer list --compartment-id "$C" --all
run nlb-network-load-balancer-list.json oci nlb network-load-balancer list --compartment-id "$C" --all

# VNIC kinds (informative; docs/import.md, "VNIC kinds"): OKE clusters
# (the API endpoint's address), node pools with their nodes (`get`: `list`
# prints no nodes) and File Storage mount targets (one list per
# availability domain). Optional: without the permissions (or the
# services), the network is exported all the same.
optional() {
    "$@" || echo "warning: \`${*:3}\` failed; VNIC kinds from it are left out" >&2
}
optional run ce-cluster-list.json oci ce cluster list --compartment-id "$C" --all
for p in $( (oci ce node-pool list --compartment-id "$C" --all || true) | jq -r '.data[]?.id'); do
    optional run "ce-node-pool-get-$p.json" oci ce node-pool get --node-pool-id "$p"
done
for ad in $( (oci iam availability-domain list --compartment-id "$C" || true) | jq -r '.data[]?.name'); do
    optional run "fs-mount-target-list-$ad.json" oci fs mount-target list --compartment-id "$C" --availability-domain "$ad" --all
done

# Private IPs of every subnet (secondary IPs and service-managed VNICs such
# as load balancers appear only here), merged into one list.
# (A compartment without subnets of its own has no part: an empty list.)
for s in $(jq -r '.data[].id' "$D/network-subnet-list.json"); do
    run "private-ip-$s.part" oci network private-ip list --subnet-id "$s" --all
done
parts=("$D"/private-ip-*.part)
if [ -e "${parts[0]}" ]; then
    jq -s '{data: (map(.data) | add // [])}' "${parts[@]}" > "$D/network-private-ip-list.json"
else
    printf '{"data": []}\n' > "$D/network-private-ip-list.json"
fi
rm -f "$D"/private-ip-*.part

# IPv6 addresses of every subnet (those of VNICs whose `vnic get` is not
# exported; the rest are in `ipv6-addresses` too), merged the same way.
for s in $(jq -r '.data[] | select(."ipv6-cidr-blocks" // [] | length > 0) | .id' "$D/network-subnet-list.json"); do
    run "ipv6-$s.part" oci network ipv6 list --subnet-id "$s" --all
done
parts=("$D"/ipv6-*.part)
if [ -e "${parts[0]}" ]; then
    jq -s '{data: (map(.data) | add // [])}' "${parts[@]}" > "$D/network-ipv6-list.json"
fi
rm -f "$D"/ipv6-*.part

# Every VNIC attached to an instance or holding a private IP.
vnics=$( (jq -r '.data[] | select(."lifecycle-state" == "ATTACHED") | ."vnic-id"' "$D/compute-vnic-attachment-list.json";
          jq -r '.data[]."vnic-id" // empty' "$D/network-private-ip-list.json") | sort -u)
for v in $vnics; do
    run "network-vnic-get-$v.json" oci network vnic get --vnic-id "$v"
done

# The rules of each NSG: the output does not name the NSG, the file name does.
for n in $(jq -r '.data[].id' "$D/network-nsg-list.json"); do
    run "network-nsg-rules-list.$n.json" oci network nsg rules list --nsg-id "$n" --all
done

if [ -n "$T" ]; then
    run zpr-zpr-policy-list.json oci zpr zpr-policy list --compartment-id "$T" --all
fi
echo "wrote $(ls "$D" | wc -l) files to $D"
