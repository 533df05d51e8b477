//! The scenario as written: serde structs that mirror the file field by
//! field, with byte spans on every value a message may point at.
//!
//! The same structs read TOML and JSON. TOML gives spans through
//! `serde_spanned`. serde_json has no span protocol, but it lends a value's
//! text as a borrowed `RawValue`, a slice of the document: under a JSON
//! [`SpanMode`], [`Sp`] takes that slice, gets the span from where it sits
//! in the document, and reads the value from it. [`Sp`] asks for either
//! only while a [`SpanMode`] guard says the deserializer can give it.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

thread_local! {
    /// Whether the deserializer running on this thread understands
    /// `serde_spanned`'s span protocol (TOML does, serde_json does not).
    static WANT_SPANS: Cell<bool> = const { Cell::new(false) };
    /// Added to every span: where the text being parsed starts in the whole
    /// file (a TOML chunk, see `chunks.rs`).
    static SPAN_OFFSET: Cell<usize> = const { Cell::new(0) };
    /// The JSON document being read by `serde_json::from_str` on this
    /// thread (address of its first byte, length), when spans are wanted
    /// from it: see [`SpanMode::enter_json`].
    static JSON_TEXT: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
    /// Where in the JSON document the innermost [`Sp`] value that failed
    /// to read failed (serde's errors carry no position of their own
    /// across the re-read: see [`take_json_error_at`]).
    static JSON_ERROR_AT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Whether the deserializer running on this thread reads an
    /// [`arena::Doc`](super::arena::Doc), which gives spans through
    /// [`ARENA_SPAN`].
    static ARENA: Cell<bool> = const { Cell::new(false) };
    /// The span of the value an arena deserializer is about to hand to an
    /// [`Sp`] (set just before, read at once).
    static ARENA_SPAN: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Called by the arena deserializer with the span of the value it hands to
/// the [`Sp`] that asked for it.
pub(crate) fn set_arena_span(span: Range<usize>) {
    ARENA_SPAN.with(|s| s.set((span.start, span.end)));
}

/// Where in the document the JSON read that just failed on this thread
/// failed, when the failure was inside an [`Sp`] value (which reads its
/// value from its own slice, so serde_json's position is only where that
/// slice ends).
pub(crate) fn take_json_error_at() -> Option<usize> {
    JSON_ERROR_AT.with(Cell::take)
}

/// Sets [`WANT_SPANS`] for the lifetime of the guard, restoring the previous
/// value on drop (also when deserialization unwinds).
pub(crate) struct SpanMode {
    previous: bool,
    previous_offset: usize,
    previous_json: Option<(usize, usize)>,
    previous_arena: bool,
}

impl SpanMode {
    /// Enters a mode: `spans` is true for TOML.
    pub(crate) fn enter(spans: bool) -> Self {
        Self::enter_at(spans, 0)
    }

    /// Enters a mode whose spans are shifted by `offset` bytes: the text
    /// parsed starts at `offset` in the file.
    pub(crate) fn enter_at(spans: bool, offset: usize) -> Self {
        let previous = WANT_SPANS.with(|w| w.replace(spans));
        let previous_offset = SPAN_OFFSET.with(|o| o.replace(offset));
        let previous_json = JSON_TEXT.with(|j| j.replace(None));
        let previous_arena = ARENA.with(|a| a.replace(false));
        SpanMode {
            previous,
            previous_offset,
            previous_json,
            previous_arena,
        }
    }

    /// Enters the mode of the arena deserializer (`arena.rs`), whose spans
    /// are already those of the whole file.
    pub(crate) fn enter_arena() -> Self {
        let mode = Self::enter(false);
        ARENA.with(|a| a.set(true));
        mode
    }

    /// Enters JSON mode for `text`, which must be the very string handed
    /// to `serde_json::from_str` (spans are where the borrowed values sit
    /// in it).
    pub(crate) fn enter_json(text: &str) -> Self {
        let mode = Self::enter(false);
        // An address, only compared with the addresses of slices of the
        // same string: never turned back into a pointer.
        JSON_TEXT.with(|j| j.set(Some((text.as_ptr() as usize, text.len()))));
        JSON_ERROR_AT.with(|e| e.set(None));
        mode
    }
}

impl Drop for SpanMode {
    fn drop(&mut self) {
        WANT_SPANS.with(|w| w.set(self.previous));
        SPAN_OFFSET.with(|o| o.set(self.previous_offset));
        JSON_TEXT.with(|j| j.set(self.previous_json));
        ARENA.with(|a| a.set(self.previous_arena));
    }
}

/// The span of `slice` in the JSON document `(address, length)`, when it
/// is a slice of it.
fn json_span(slice: &str, (base, len): (usize, usize)) -> Option<Range<usize>> {
    let start = (slice.as_ptr() as usize).checked_sub(base)?;
    let end = start.checked_add(slice.len())?;
    (end <= len).then_some(start..end)
}

/// A value with the byte range it was written at, when the format gives one.
///
/// The range is kept as two `u32` ([`Span`]): a scenario is at most
/// [`MAX_SCENARIO_BYTES`](super::MAX_SCENARIO_BYTES) long, and every
/// value of the raw document carries one, so `Sp<String>` is 32 bytes
/// where an `Option<Range<usize>>` made it 48.
#[derive(Debug, Clone)]
pub(crate) struct Sp<T> {
    /// The value.
    pub value: T,
    /// Byte range in the source text (`None` when the reader gives none).
    span: Option<Span>,
}

/// A byte range of the source text in 8 bytes: the start, and the
/// (exclusive) end plus one, never zero, so `Option<Span>` is 8 bytes too.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end_plus_one: NonZeroU32,
}

impl Span {
    /// The range, or `None` when an end is past what a `u32` holds (no
    /// scenario is that long: the range is then dropped, never wrapped).
    fn new(r: Range<usize>) -> Option<Span> {
        let end_plus_one = u32::try_from(r.end.checked_add(1)?).ok()?;
        Some(Span {
            start: u32::try_from(r.start).ok()?,
            end_plus_one: NonZeroU32::new(end_plus_one)?,
        })
    }

    fn range(self) -> Range<usize> {
        self.start as usize..(self.end_plus_one.get() - 1) as usize
    }
}

impl<T> Sp<T> {
    /// A value with the byte range it was written at.
    fn new(value: T, span: Option<Range<usize>>) -> Self {
        Sp {
            value,
            span: span.and_then(Span::new),
        }
    }

    /// The byte range in the source text (`None` when the reader gives none).
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.map(Span::range)
    }

    /// The first byte of the value, if known.
    pub fn start(&self) -> Option<usize> {
        self.span.map(|s| s.start as usize)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if ARENA.with(Cell::get) {
            // The arena deserializer sets the span, then hands the value.
            struct Arena<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for Arena<T> {
                type Value = Sp<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a value")
                }
                fn visit_newtype_struct<D: Deserializer<'de>>(
                    self,
                    d: D,
                ) -> Result<Sp<T>, D::Error> {
                    let (start, end) = ARENA_SPAN.with(Cell::get);
                    Ok(Sp::new(T::deserialize(d)?, Some(start..end)))
                }
            }
            d.deserialize_newtype_struct(super::arena::SPAN_TOKEN, Arena(PhantomData))
        } else if WANT_SPANS.with(Cell::get) {
            let s = serde_spanned::Spanned::<T>::deserialize(d)?;
            let off = SPAN_OFFSET.with(Cell::get);
            let span = s.span();
            let span = span.start.saturating_add(off)..span.end.saturating_add(off);
            Ok(Sp::new(s.into_inner(), Some(span)))
        } else if let Some(doc) = JSON_TEXT.with(Cell::get) {
            // The value's own text, borrowed from the document; then the
            // value read from it (a second pass over a few bytes: the
            // leaves carry most spans).
            let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
            let text = raw.get();
            let span = json_span(text, doc);
            let value = serde_json::from_str::<T>(text).map_err(|e| {
                // serde_json adds where in `text` it stopped: kept for the
                // caller (the innermost failure's), as a document offset.
                let full = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                if let Some(span) = &span
                    && e.line() > 0
                    && JSON_ERROR_AT.with(|a| a.get().is_none())
                {
                    let at = span.start + super::json_error_offset(text, e.line(), e.column());
                    JSON_ERROR_AT.with(|a| a.set(Some(at)));
                }
                de::Error::custom(full.strip_suffix(&suffix).unwrap_or(&full).to_owned())
            })?;
            // A failure an enclosing read recovered from says nothing of a
            // later one.
            JSON_ERROR_AT.with(|a| a.set(None));
            Ok(Sp::new(value, span))
        } else {
            Ok(Sp::new(T::deserialize(d)?, None))
        }
    }
}

/// A map that keeps the written order of its keys and rejects a key given
/// twice (serde_json would silently keep the last one).
///
/// Without `preserve_order`, the toml crate hands keys over sorted; their
/// spans restore the written order.
#[derive(Debug, Clone)]
pub(crate) struct OrderedMap<V>(pub Vec<(Sp<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // Sized from the entries' count where the reader knows it
                // (the arena's tables: exact). Grown from empty, a VNIC's
                // attribute maps took room for four entries at each level
                // for one or two, ~6% of `check`'s page faults on 10k
                // VNICs. Capped: a hint is not trusted with memory.
                let hint = map.size_hint().unwrap_or(0).min(4096);
                let mut out: Vec<(Sp<String>, V)> = Vec::with_capacity(hint);
                // Duplicates: a scan while the map is small (attribute maps
                // hold a few keys: no set and no key copies), a hash set
                // (ahash: cheaper than std's SipHash) past that.
                const SCAN: usize = 16;
                let mut seen = std::collections::HashSet::<_, ahash::RandomState>::default();
                while let Some(k) = map.next_key::<Sp<String>>()? {
                    let duplicate = if out.len() < SCAN {
                        out.iter().any(|(o, _)| o.value == k.value)
                    } else {
                        if seen.is_empty() {
                            seen.extend(out.iter().map(|(o, _)| o.value.clone()));
                        }
                        !seen.insert(k.value.clone())
                    };
                    if duplicate {
                        return Err(de::Error::custom(format_args!(
                            "duplicate key `{}`",
                            k.value
                        )));
                    }
                    let v = map.next_value::<V>()?;
                    out.push((k, v));
                }
                // TOML hands table keys over sorted; spans give back the
                // written order (JSON keeps it, and its spans agree).
                if out.iter().all(|(k, _)| k.span.is_some()) {
                    out.sort_by_key(|(k, _)| k.start());
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

/// A protocol as written: a string (`"all"`, `"6"`, `"tcp"`) or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProtoValue {
    /// A string.
    Text(String),
    /// An integer (any range; checked later for a better message).
    Number(i128),
}

impl<'de> Deserialize<'de> for ProtoValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PV;
        impl Visitor<'_> for PV {
            type Value = ProtoValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all`, a protocol name or an IANA protocol number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProtoValue, E> {
                Ok(ProtoValue::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ProtoValue, E> {
                Ok(ProtoValue::Number(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ProtoValue, E> {
                Ok(ProtoValue::Number(i128::from(v)))
            }
        }
        d.deserialize_any(PV)
    }
}

/// Top level of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<Sp<String>>,
    #[serde(default)]
    pub services: Option<Sp<OrderedMap<Vec<Sp<String>>>>>,
    #[serde(default)]
    pub vcn: Vec<RawVcn>,
    #[serde(default)]
    pub gateway: Vec<RawGateway>,
    #[serde(default)]
    pub route_table: Vec<RawRouteTable>,
    #[serde(default)]
    pub security_list: Vec<RawSecurityList>,
    #[serde(default)]
    pub nsg: Vec<RawNsg>,
    #[serde(default)]
    pub subnet: Vec<RawSubnet>,
    /// Boxed: a split text's parts are joined by moving their objects
    /// into one vector (`load::append`), and a VNIC (~370 bytes, 10^4 and
    /// more of them) moved by pointer costs no copy into a fresh vector
    /// as large as all of them (~9% of `check`'s page faults on 10k
    /// VNICs).
    #[serde(default)]
    #[allow(clippy::vec_box)]
    pub vnic: Vec<Box<RawVnic>>,
    #[serde(default)]
    pub zpr_policy: Vec<RawZprPolicy>,
    pub options: Option<RawOptions>,
}

/// `[options]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptions {
    pub zpr_only: Option<Sp<String>>,
    pub max_statements_per_policy: Option<Sp<i64>>,
}

/// One attribute value: `{ value, mode }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAttrValue {
    pub value: Sp<String>,
    pub mode: Option<Sp<String>>,
}

/// `security_attributes`: namespace -> key -> `{ value, mode }`.
pub(crate) type RawAttributes = Sp<OrderedMap<OrderedMap<RawAttrValue>>>;

/// `[[vcn]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVcn {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    #[serde(default)]
    pub cidr_blocks: Vec<Sp<String>>,
    #[serde(default)]
    pub ipv6_private_cidr_blocks: Vec<Sp<String>>,
    pub security_attributes: Option<RawAttributes>,
    pub is_zpr_only: Option<bool>,
}

/// `[[gateway]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGateway {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub vcn: Sp<String>,
    pub kind: Sp<String>,
    /// OCI's `isEnabled` (internet gateways).
    pub is_enabled: Option<Sp<bool>>,
    /// OCI's `blockTraffic` (NAT and service gateways).
    pub block_traffic: Option<Sp<bool>>,
    /// OCI's `peeringStatus` (local peering gateways).
    pub peering_status: Option<Sp<String>>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
}

/// One route rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouteRule {
    #[serde(alias = "cidr_block")]
    pub destination: Sp<String>,
    pub destination_type: Option<Sp<String>>,
    #[serde(alias = "network_entity_id")]
    pub network_entity: Sp<String>,
    pub description: Option<String>,
}

/// `[[route_table]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouteTable {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub vcn: Sp<String>,
    #[serde(default)]
    pub route_rules: Vec<Sp<RawRouteRule>>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
}

/// `{ min, max }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPortRange {
    pub min: Sp<i64>,
    pub max: Sp<i64>,
}

/// `tcp_options` / `udp_options`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPortOptions {
    pub destination_port_range: Option<Sp<RawPortRange>>,
    pub source_port_range: Option<Sp<RawPortRange>>,
}

/// `icmp_options`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIcmpOptions {
    #[serde(rename = "type")]
    pub icmp_type: Sp<i64>,
    pub code: Option<Sp<i64>>,
}

/// An ingress rule of a security list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIngressRule {
    pub protocol: Sp<ProtoValue>,
    pub source: Sp<String>,
    pub source_type: Option<Sp<String>>,
    pub is_stateless: Option<bool>,
    pub tcp_options: Option<Sp<RawPortOptions>>,
    pub udp_options: Option<Sp<RawPortOptions>>,
    pub icmp_options: Option<Sp<RawIcmpOptions>>,
    pub description: Option<String>,
}

/// An egress rule of a security list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEgressRule {
    pub protocol: Sp<ProtoValue>,
    pub destination: Sp<String>,
    pub destination_type: Option<Sp<String>>,
    pub is_stateless: Option<bool>,
    pub tcp_options: Option<Sp<RawPortOptions>>,
    pub udp_options: Option<Sp<RawPortOptions>>,
    pub icmp_options: Option<Sp<RawIcmpOptions>>,
    pub description: Option<String>,
}

/// `[[security_list]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurityList {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub vcn: Sp<String>,
    #[serde(default)]
    pub ingress_security_rules: Vec<Sp<RawIngressRule>>,
    #[serde(default)]
    pub egress_security_rules: Vec<Sp<RawEgressRule>>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
}

/// A rule of an NSG (either direction).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNsgRule {
    pub direction: Sp<String>,
    pub protocol: Sp<ProtoValue>,
    pub source: Option<Sp<String>>,
    pub source_type: Option<Sp<String>>,
    pub destination: Option<Sp<String>>,
    pub destination_type: Option<Sp<String>>,
    pub is_stateless: Option<bool>,
    pub tcp_options: Option<Sp<RawPortOptions>>,
    pub udp_options: Option<Sp<RawPortOptions>>,
    pub icmp_options: Option<Sp<RawIcmpOptions>>,
    pub description: Option<String>,
}

/// `[[nsg]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNsg {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub vcn: Sp<String>,
    #[serde(default)]
    pub rules: Vec<Sp<RawNsgRule>>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
}

/// `[[subnet]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSubnet {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub vcn: Sp<String>,
    pub cidr_block: Sp<String>,
    /// Further IPv4 blocks (OCI's `ipv4-cidr-blocks`, which lists the
    /// primary `cidr_block` too: a block equal to it is taken once).
    #[serde(default)]
    pub ipv4_cidr_blocks: Vec<Sp<String>>,
    #[serde(default)]
    pub ipv6_cidr_blocks: Vec<Sp<String>>,
    pub route_table: Option<Sp<String>>,
    #[serde(default)]
    pub security_lists: Vec<Sp<String>>,
    /// OCI's `prohibitPublicIpOnVnic`: its VNICs have no public IP.
    pub prohibit_public_ip: Option<bool>,
    /// OCI's `prohibitInternetIngress`: a private subnet (IPv6 too).
    pub prohibit_internet_ingress: Option<bool>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
    /// Its security lists are not all known (since the twentieth
    /// session); absent: `stand_in` with no security list.
    pub security_lists_unknown: Option<bool>,
    /// Its route table is unknown, when it names none (since the
    /// twentieth session); absent: `stand_in` with no route table.
    pub route_table_unknown: Option<bool>,
    /// Its VNICs are not all known (since the twenty-eighth session):
    /// an address of it no VNIC holds may be a VNIC the export lacks.
    pub vnics_unknown: Option<bool>,
}

/// `[[vnic]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVnic {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub subnet: Sp<String>,
    #[serde(default)]
    pub private_ips: Vec<Sp<String>>,
    #[serde(default)]
    pub nsgs: Vec<Sp<String>>,
    pub kind: Option<String>,
    pub security_attributes: Option<RawAttributes>,
    pub route_table: Option<Sp<String>>,
    /// OCI's `skipSourceDestCheck`.
    pub skip_source_dest_check: Option<bool>,
    /// Its public IPv4 address, `true` (one, address not given) or
    /// `false` (none).
    pub public_ip: Option<Sp<RawPublicIp>>,
    /// Made up by `zprsim import` (informative, for `verify`).
    pub stand_in: Option<bool>,
}

/// A VNIC's `public_ip`: a boolean or an address.
#[derive(Debug)]
pub(crate) enum RawPublicIp {
    /// `true` or `false`.
    Flag(bool),
    /// The address as written.
    Address(String),
}

impl<'de> Deserialize<'de> for RawPublicIp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawPublicIp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or an IPv4 address")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<RawPublicIp, E> {
                Ok(RawPublicIp::Flag(b))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawPublicIp, E> {
                Ok(RawPublicIp::Address(s.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[[zpr_policy]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawZprPolicy {
    pub name: Sp<String>,
    pub id: Option<Sp<String>>,
    pub statements: Option<Sp<Vec<Sp<String>>>>,
    pub file: Option<Sp<String>>,
    /// Made up by `zprsim import` (since the twenty-first session).
    pub stand_in: Option<bool>,
}
