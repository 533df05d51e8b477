//! `--decap vxlan`: judging what an OCI VTAP mirrored, not the mirror.
//!
//! A VTAP (OCI's virtual test access point) sends a copy of every frame
//! of its source (a VNIC, subnet, load balancer, database) to its target
//! inside VXLAN (UDP port 4789, RFC 7348): outer Ethernet, outer IP to
//! the target, UDP, the 8-byte VXLAN header, then the mirrored Ethernet
//! frame. A capture on the target holds only that mirror flow; judged as
//! it is, it says whether the target may receive the mirror, not what
//! the VCN does to the mirrored traffic.
//!
//! With `--decap vxlan` the reader looks at each record before anything
//! else: a VXLAN frame on UDP 4789 (the I flag set, the outer IP not a
//! fragment) becomes its inner Ethernet frame (the same bytes, from the
//! inner frame on: no copy), with its original length less the outer
//! headers. Everything downstream (copies, shards, judging, flows, the
//! `--allowed`/`--dropped` outputs) sees the inner frame. A record that
//! is not such a frame is judged as it was captured, and counted, so the
//! report can say how many there were.

use crate::capture::RecordSpan;
use crate::parse;

/// VXLAN's UDP port (IANA, RFC 7348), the one OCI VTAPs send to.
pub const VXLAN_PORT: u16 = 4789;

/// Outer headers after the IP header: UDP (8) and VXLAN (8).
const UDP_VXLAN: usize = 16;

/// Ethernet header length: an inner frame has at least this.
const ETHERNET_HEADER: usize = 14;

/// Where the inner Ethernet frame of a VXLAN record starts, or `None`
/// when the record is not VXLAN on [`VXLAN_PORT`].
#[must_use]
pub fn vxlan_inner(linktype: u32, data: &[u8]) -> Option<usize> {
    let ip = parse::ip_start(linktype, data)?;
    let hdr = data.get(ip..)?;
    let l4 = match hdr.first()? >> 4 {
        4 => {
            let ihl = usize::from(hdr.first()? & 0x0f) * 4;
            let frag = u16::from_be_bytes([*hdr.get(6)?, *hdr.get(7)?]);
            // UDP, at least a 20-byte header, not a fragment (MF clear,
            // offset 0).
            if *hdr.get(9)? != 17 || ihl < 20 || frag & 0x3fff != 0 {
                return None;
            }
            ip + ihl
        }
        // UDP right after the fixed header (a VTAP's outer IPv6 has no
        // extension headers).
        6 if *hdr.get(6)? == 17 => ip + 40,
        _ => return None,
    };
    let udp = data.get(l4..l4 + UDP_VXLAN)?;
    let dport = u16::from_be_bytes([udp[2], udp[3]]);
    // VXLAN: the I flag (a valid VNI) set.
    if dport != VXLAN_PORT || udp[8] & 0x08 == 0 {
        return None;
    }
    let inner = l4 + UDP_VXLAN;
    (data.len() >= inner + ETHERNET_HEADER).then_some(inner)
}

/// The record's inner frame, when it is VXLAN (see [`vxlan_inner`]):
/// the same bytes of the block from the inner frame on, as Ethernet.
#[must_use]
pub(crate) fn decap(rec: &RecordSpan, data: &[u8]) -> Option<RecordSpan> {
    let inner = vxlan_inner(rec.linktype, data)?;
    let skip = u32::try_from(inner).ok()?;
    Some(RecordSpan {
        ts_ns: rec.ts_ns,
        start: rec.start.checked_add(skip)?,
        len: rec.len.checked_sub(skip)?,
        orig_len: rec.orig_len.saturating_sub(skip),
        linktype: parse::linktype::ETHERNET,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::linktype;

    /// An inner Ethernet frame (IPv4 TCP) in outer Ethernet, IPv4 (or
    /// IPv6), UDP to `dport`, VXLAN with `flags`.
    fn vtap(v6: bool, dport: u16, flags: u8, frag: u16) -> (Vec<u8>, Vec<u8>) {
        let mut inner = vec![0xaa; 12];
        inner.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        inner.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        inner.extend_from_slice(&[
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        let mut f = vec![0xbb; 12];
        let udp_len = u16::try_from(inner.len() + 16).unwrap_or(0);
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&udp_len.to_be_bytes());
            f.extend_from_slice(&[17, 64]);
            f.extend_from_slice(&[0xfd; 32]);
        } else {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 0, 0, 7]);
            f.extend_from_slice(&frag.to_be_bytes());
            f.extend_from_slice(&[64, 17, 0, 0, 10, 9, 0, 5, 10, 9, 0, 6]);
        }
        f.extend_from_slice(&[0xc0, 0x01]);
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0, flags, 0, 0, 0, 0, 0, 0x2a, 0]);
        f.extend_from_slice(&inner);
        (f, inner)
    }

    #[test]
    fn a_vtap_frame_becomes_its_inner_frame() {
        for v6 in [false, true] {
            let (f, inner) = vtap(v6, VXLAN_PORT, 0x08, 0);
            let at = vxlan_inner(linktype::ETHERNET, &f).unwrap();
            assert_eq!(&f[at..], &inner[..]);
            let rec = RecordSpan {
                ts_ns: 5,
                start: 100,
                len: u32::try_from(f.len()).unwrap_or(0),
                orig_len: u32::try_from(f.len()).unwrap_or(0) + 4,
                linktype: linktype::ETHERNET,
            };
            let d = decap(&rec, &f).unwrap();
            assert_eq!(d.len as usize, inner.len());
            assert_eq!(d.orig_len as usize, inner.len() + 4);
            assert_eq!(d.start as usize, 100 + at);
        }
    }

    proptest::proptest! {
        /// Any bytes of any link type: no panic, and an inner frame, when
        /// found, lies inside the record with room for its header.
        #[test]
        fn any_bytes_never_panic(lt in 0u32..300, data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Some(at) = vxlan_inner(lt, &data) {
                proptest::prop_assert!(at + ETHERNET_HEADER <= data.len());
            }
            let mut c = super::super::copies::Copies::new();
            let _ = c.is_copy(lt, &data, 0, 0);
            let _ = c.is_copy(lt, &data, u32::MAX, u64::MAX);
        }
    }

    #[test]
    fn other_udp_no_vni_a_fragment_or_a_cut_frame_stay_as_they_are() {
        assert!(vxlan_inner(linktype::ETHERNET, &vtap(false, 4790, 0x08, 0).0).is_none());
        assert!(vxlan_inner(linktype::ETHERNET, &vtap(false, VXLAN_PORT, 0, 0).0).is_none());
        assert!(
            vxlan_inner(linktype::ETHERNET, &vtap(false, VXLAN_PORT, 0x08, 0x2000).0).is_none()
        );
        let (f, _) = vtap(false, VXLAN_PORT, 0x08, 0);
        for cut in 0..f.len() - 40 {
            assert!(
                vxlan_inner(linktype::ETHERNET, &f[..cut]).is_none(),
                "{cut}"
            );
        }
        assert!(vxlan_inner(linktype::ETHERNET, &[0u8; 60]).is_none());
    }
}
