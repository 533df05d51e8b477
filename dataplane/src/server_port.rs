//! Which end of a flow is the server's, told by its ports alone: for
//! flow logs, which carry no TCP flags (the tie rule, `flowlog::judge`),
//! and for a capture whose first UDP datagram of a flow may be the
//! server's answer (`engine::rule_stats::answers_first`).

/// Of a flow's two directions, the
/// one whose destination port (`a` for one, `b` for the other) is the
/// server's. `Some(true)` for `a`'s direction, `Some(false)` for `b`'s,
/// `None` when the ports do not tell. The lower port is the server's
/// when:
/// - exactly one of the two is below 49152: the other is in the IANA
///   dynamic range (the ephemeral ports of Windows, BSD, macOS, Java);
/// - or the lower is below 1024 (a well-known port) and the higher at
///   least 32768 (Linux's ephemeral range starts there).
///
/// Not "the ports differ and the lower is below 1024": an NFS client
/// connects from a reserved port below 1024 to its server's 2049 (or
/// mountd's 20048), and the lower port is then the client's. Equal ports
/// (ICMP and other protocols have none) never tell.
#[must_use]
pub fn server_port(a: u16, b: u16) -> Option<bool> {
    const DYNAMIC: u16 = 49152;
    const LINUX_EPHEMERAL: u16 = 32768;
    let (lo, hi) = (a.min(b), a.max(b));
    let tells =
        lo != hi && ((lo < DYNAMIC && hi >= DYNAMIC) || (lo < 1024 && hi >= LINUX_EPHEMERAL));
    tells.then_some(a == lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The port tie-break: the lower port is the server's when the other
    /// is ephemeral; never both ways, never for equal ports.
    #[test]
    fn the_server_port_is_told_by_an_ephemeral_one() {
        for (a, b, want) in [
            (443, 40000, Some(true)),   // a Linux client
            (443, 50000, Some(true)),   // a Windows client
            (5432, 50000, Some(true)),  // not well known, but the other is dynamic
            (22, 33000, Some(true)),    // Linux's range
            (50000, 8080, Some(false)), // the other way round
            (8080, 40000, None),        // neither below 1024 nor a dynamic port
            (2049, 700, None),          // NFS: the lower is the client's reserved port
            (20048, 800, None),         // mountd
            (50001, 50002, None),       // two dynamic ports
            (443, 443, None),
            (0, 0, None), // ICMP and protocols without ports
        ] {
            assert_eq!(server_port(a, b), want, "{a} {b}");
            assert_eq!(server_port(b, a), want.map(|x| !x), "{b} {a}");
        }
    }
}
