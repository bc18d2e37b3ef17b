//! OTLP protobuf written field by field with prost's encoding primitives,
//! into a caller's buffer: no intermediate `opentelemetry-proto` structs, no
//! allocation per field. Redaction happens here too, as each string is
//! written (see [`Attr`]): text leaves masked or not at all.
//!
//! Field numbers are those of `opentelemetry/proto/common/v1/common.proto`
//! and `trace/v1/trace.proto` (checked by the tests, which decode what is
//! written with `opentelemetry-proto`).

use std::borrow::Cow;

use opentelemetry::{Array, KeyValue, Value};
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::redact::{REDACTED, Redactor};

/// A length-delimited field whose body is written first and measured:
/// the body goes to `scratch`, then tag, length and body to `out`.
/// Nested messages of unknown size (a span, an event) take this path;
/// `scratch` is the caller's, reused.
pub(crate) fn nested(out: &mut Vec<u8>, tag: u32, body: &[u8]) {
    out.reserve(body.len() + 6);
    put_key(out, tag, WireType::LengthDelimited);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A `bytes` or `string` field (skipped when empty, as proto3 does).
#[inline]
pub(crate) fn bytes(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    if !value.is_empty() {
        nested(out, tag, value);
    }
}

/// A `fixed64` field (skipped when zero).
#[inline]
pub(crate) fn fixed64(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_key(out, tag, WireType::SixtyFourBit);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A `fixed32` field (skipped when zero).
#[inline]
pub(crate) fn fixed32(out: &mut Vec<u8>, tag: u32, value: u32) {
    if value != 0 {
        put_key(out, tag, WireType::ThirtyTwoBit);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A varint field: `uint32`, `int64` or an enum (skipped when zero).
#[inline]
pub(crate) fn varint(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        put_key(out, tag, WireType::Varint);
        put_varint(out, value);
    }
}

/// Bytes of a length-delimited field with a body of `len` bytes.
#[inline]
fn delimited_len(tag: u32, len: usize) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(len as u64) + len
}

/// One attribute value, as OTLP's `AnyValue` knows it.
#[derive(Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Double(f64),
}

impl Scalar<'_> {
    /// Bytes of the `AnyValue` message body.
    fn body_len(self) -> usize {
        match self {
            Scalar::Str(s) => delimited_len(1, s.len()),
            Scalar::Bool(_) => 2,
            Scalar::Int(n) => 1 + encoded_len_varint(n as u64),
            Scalar::Double(_) => 9,
        }
    }

    /// The `AnyValue` body (proto3 `oneof`: written even when zero).
    fn write_body(self, out: &mut Vec<u8>) {
        match self {
            Scalar::Str(s) => {
                encode_key(1, WireType::LengthDelimited, out);
                encode_varint(s.len() as u64, out);
                out.extend_from_slice(s.as_bytes());
            }
            Scalar::Bool(b) => {
                encode_key(2, WireType::Varint, out);
                encode_varint(b as u64, out);
            }
            Scalar::Int(n) => {
                encode_key(3, WireType::Varint, out);
                encode_varint(n as u64, out);
            }
            Scalar::Double(d) => {
                encode_key(4, WireType::SixtyFourBit, out);
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
    }
}

/// Writes `KeyValue { key, value: AnyValue }` as field `tag` of the
/// enclosing message, its value already safe to export.
///
/// Written by hand rather than with prost's `encode_key`/`encode_varint`
/// (used for the rest): attributes are most of a span's bytes, and those
/// check the buffer's room byte by byte through `BufMut` (~150
/// instructions per attribute, 1,360 per server span, callgrind). Here the
/// room is reserved once and bytes are pushed into it.
#[inline]
pub(crate) fn key_value(out: &mut Vec<u8>, tag: u32, key: &str, value: Scalar<'_>) {
    let any = value.body_len();
    let body = delimited_len(1, key.len()) + delimited_len(2, any);
    out.reserve(body + 12);
    put_key(out, tag, WireType::LengthDelimited);
    put_varint(out, body as u64);
    put_key(out, 1, WireType::LengthDelimited);
    put_varint(out, key.len() as u64);
    out.extend_from_slice(key.as_bytes());
    put_key(out, 2, WireType::LengthDelimited);
    put_varint(out, any as u64);
    match value {
        Scalar::Str(s) => {
            put_key(out, 1, WireType::LengthDelimited);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Scalar::Bool(b) => {
            put_key(out, 2, WireType::Varint);
            out.push(b as u8);
        }
        Scalar::Int(n) => {
            put_key(out, 3, WireType::Varint);
            put_varint(out, n as u64);
        }
        Scalar::Double(d) => {
            put_key(out, 4, WireType::SixtyFourBit);
            out.extend_from_slice(&d.to_le_bytes());
        }
    }
}

/// A field's key (see [`key_value`] for why not prost's).
#[inline(always)]
fn put_key(out: &mut Vec<u8>, tag: u32, wire: WireType) {
    put_varint(out, u64::from(tag << 3 | wire as u32));
}

/// A varint (see [`key_value`] for why not prost's).
#[inline(always)]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes a string attribute whose value is client input or otherwise
/// unknown: `[REDACTED]` when the key names a secret, else masked.
#[inline]
pub(crate) fn masked_str(out: &mut Vec<u8>, r: &Redactor, tag: u32, key: &str, value: &str) {
    let value = r.mask_value(key, value);
    key_value(out, tag, key, Scalar::Str(&value));
}

/// Writes an SDK attribute, masked as [`masked_str`] does for every string
/// in it (arrays too); an integer long enough to be a card number is
/// masked as its digits. `r: None` writes it as it is (the service's own
/// resource and scope).
pub(crate) fn attribute(out: &mut Vec<u8>, r: Option<&Redactor>, tag: u32, kv: &KeyValue) {
    let key = kv.key.as_str();
    let mask = |s: &'_ str| -> String {
        match r {
            Some(r) => r.mask(s).into_owned(),
            None => s.to_owned(),
        }
    };
    if let Some(r) = r
        && r.is_sensitive_key(key)
        && !matches!(kv.value, Value::Bool(_))
    {
        key_value(out, tag, key, Scalar::Str(REDACTED));
        return;
    }
    match &kv.value {
        Value::String(s) => match r {
            Some(r) => key_value(out, tag, key, Scalar::Str(&r.mask(s.as_str()))),
            None => key_value(out, tag, key, Scalar::Str(s.as_str())),
        },
        Value::Bool(b) => key_value(out, tag, key, Scalar::Bool(*b)),
        Value::F64(d) => key_value(out, tag, key, Scalar::Double(*d)),
        Value::I64(n) if r.is_some() && n.unsigned_abs() >= 1_000_000_000_000 => {
            let digits = n.to_string();
            let masked = mask(&digits);
            if masked != digits {
                key_value(out, tag, key, Scalar::Str(&masked));
            } else {
                key_value(out, tag, key, Scalar::Int(*n));
            }
        }
        Value::I64(n) => key_value(out, tag, key, Scalar::Int(*n)),
        Value::Array(array) => {
            let mut values = Vec::new();
            match array {
                Array::Bool(v) => v.iter().for_each(|b| any(&mut values, Scalar::Bool(*b))),
                Array::I64(v) => v.iter().for_each(|n| any(&mut values, Scalar::Int(*n))),
                Array::F64(v) => v.iter().for_each(|d| any(&mut values, Scalar::Double(*d))),
                Array::String(v) => v
                    .iter()
                    .for_each(|s| any(&mut values, Scalar::Str(&mask(s.as_str())))),
                // A kind of array added to the API later: left out.
                _ => return,
            }
            // AnyValue { array_value (5): ArrayValue { values (1)... } }
            let any_len = delimited_len(5, values.len());
            let body = delimited_len(1, key.len()) + delimited_len(2, any_len);
            encode_key(tag, WireType::LengthDelimited, out);
            encode_varint(body as u64, out);
            bytes(out, 1, key.as_bytes());
            encode_key(2, WireType::LengthDelimited, out);
            encode_varint(any_len as u64, out);
            encode_key(5, WireType::LengthDelimited, out);
            encode_varint(values.len() as u64, out);
            out.extend_from_slice(&values);
        }
        // A kind of value added to the API later: left out.
        _ => {}
    }
}

/// One `AnyValue` of an `ArrayValue` (field 1).
fn any(out: &mut Vec<u8>, value: Scalar<'_>) {
    encode_key(1, WireType::LengthDelimited, out);
    encode_varint(value.body_len() as u64, out);
    value.write_body(out);
}

/// A `tracestate` header (client input) with its values masked; an entry
/// whose masked value is no longer a valid list-member value is left out,
/// so nothing is exported as the client sent it.
pub(crate) fn masked_trace_state<'a>(r: &Redactor, header: &'a str) -> Cow<'a, str> {
    if header.is_empty() {
        return Cow::Borrowed(header);
    }
    let mut changed = false;
    let mut kept: Vec<(&str, Cow<'_, str>)> = Vec::new();
    for member in header.split(',') {
        let Some((key, value)) = member.split_once('=') else {
            changed = true;
            continue;
        };
        let masked = r.mask_value(key, value);
        if masked != value {
            changed = true;
            let valid = !masked.is_empty()
                && masked.len() <= 256
                && !masked.ends_with(' ')
                && masked
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
            if valid {
                kept.push((key, masked));
            }
        } else {
            kept.push((key, masked));
        }
    }
    if !changed {
        return Cow::Borrowed(header);
    }
    let mut out = String::with_capacity(header.len());
    for (i, (key, value)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    Cow::Owned(out)
}
