//! The byte cursor of the flow-log spill's fixed-size records (`spill.rs`)
//! and of the CLI's `diff` sort records: little-endian numbers and
//! addresses as 17 bytes, written and read at a moving offset.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Writes `v` at `*at` and moves past it (a write past `out`'s end is
/// dropped; the record's decoder then refuses it).
pub fn put(out: &mut [u8], at: &mut usize, v: &[u8]) {
    if let Some(d) = out.get_mut(*at..*at + v.len()) {
        d.copy_from_slice(v);
    }
    *at += v.len();
}

/// Reads `N` bytes at `*at` and moves past them.
#[must_use]
pub fn get<const N: usize>(b: &[u8], at: &mut usize) -> Option<[u8; N]> {
    let v = b.get(*at..*at + N)?.try_into().ok()?;
    *at += N;
    Some(v)
}

/// Reads a little-endian `u64` at `*at` and moves past it.
#[must_use]
pub fn get_u64(b: &[u8], at: &mut usize) -> Option<u64> {
    get::<8>(b, at).map(u64::from_le_bytes)
}

/// An address as 17 bytes: its family (4 or 6) and 16 bytes (an IPv4
/// address in the first 4).
#[must_use]
pub fn ip_bytes(ip: IpAddr) -> [u8; 17] {
    let mut b = [0u8; 17];
    match ip {
        IpAddr::V4(a) => {
            b[0] = 4;
            b[1..5].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            b[0] = 6;
            b[1..17].copy_from_slice(&a.octets());
        }
    }
    b
}

/// The address [`ip_bytes`] wrote (`None`: not such a form).
#[must_use]
pub fn ip_from(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(1..17)?.try_into().ok()?;
    match b.first()? {
        4 => Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]).into()),
        6 => Some(Ipv6Addr::from(a).into()),
        _ => None,
    }
}

/// Writes an address's 17 bytes at `*at` and moves past them.
pub fn put_ip(out: &mut [u8], at: &mut usize, ip: IpAddr) {
    put(out, at, &ip_bytes(ip));
}

/// Reads an address's 17 bytes at `*at` and moves past them.
#[must_use]
pub fn get_ip(b: &[u8], at: &mut usize) -> Option<IpAddr> {
    ip_from(&get::<17>(b, at)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_numbers_round_trip_and_short_input_is_refused() {
        let mut out = [0u8; 17 + 17 + 8];
        let mut at = 0;
        put_ip(&mut out, &mut at, "10.1.2.3".parse().unwrap());
        put_ip(&mut out, &mut at, "2001:db8::7".parse().unwrap());
        put(&mut out, &mut at, &42u64.to_le_bytes());
        assert_eq!(at, out.len());
        let mut at = 0;
        assert_eq!(get_ip(&out, &mut at), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(get_ip(&out, &mut at), Some("2001:db8::7".parse().unwrap()));
        assert_eq!(get_u64(&out, &mut at), Some(42));
        assert_eq!(get_u64(&out, &mut at), None);
        assert_eq!(ip_from(&[5; 17]), None);
    }
}
