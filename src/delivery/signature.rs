//! The webhook contract's two headers (DESIGN, "Delivery"; README shows how a receiver checks
//! them):
//!
//! - `Vigil-Delivery-Id`: a UUID (version 5) of the subscriber's name and the alert record's
//!   bytes as published on `vigil.alerts`. Every attempt, and every redelivery after a restart,
//!   of one record to one subscriber carries the same id, so receivers deduplicate on it.
//! - `Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed by the
//!   secret the subscriber's `secret_env` names. The time is signed with the body, so a receiver
//!   that also bounds its age refuses a replayed request.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// Header names, as receivers read them.
pub const DELIVERY_ID_HEADER: &str = "Vigil-Delivery-Id";
pub const SIGNATURE_HEADER: &str = "Vigil-Signature";

/// The namespace of delivery ids (a fixed random UUID: ids are Vigil's own).
const DELIVERY_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_2f0e_8b3d_4e71_9c55_d0a4_7e13_b2f9);

/// The delivery id of one alert record (its bytes on `vigil.alerts`) for one subscriber.
pub fn delivery_id(subscriber: &str, record: &[u8]) -> Uuid {
    let mut name = Vec::with_capacity(subscriber.len() + 1 + record.len());
    name.extend_from_slice(subscriber.as_bytes());
    // The subscriber name holds no U+001F (checked at load), so the split is unambiguous.
    name.push(0x1f);
    name.extend_from_slice(record);
    Uuid::new_v5(&DELIVERY_NAMESPACE, &name)
}

/// The delivery id of one notification: for a single record sent once, [`delivery_id`] (the
/// webhook contract); for a group, of all the records it carries; for a repeat, also of when the
/// repeat was due, so that a receiver deduplicating on ids still sees the reminder.
pub fn notification_id(subscriber: &str, records: &[&[u8]], repeat_of: Option<u64>) -> Uuid {
    match (records, repeat_of) {
        ([one], None) => delivery_id(subscriber, one),
        _ => {
            let mut all = Vec::new();
            for r in records {
                all.extend_from_slice(r);
                // Alert records are JSON, which holds no raw U+001E.
                all.push(0x1e);
            }
            if let Some(t) = repeat_of {
                all.extend_from_slice(format!("repeat:{t}").as_bytes());
            }
            delivery_id(subscriber, &all)
        }
    }
}

/// The `Vigil-Signature` value for `body` sent at `t` (Unix seconds) with `key`.
pub fn sign(key: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(key, t, body)))
}

fn mac(key: &[u8], t: i64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Checks a `Vigil-Signature` value as a receiver would: well formed, signed no more than
/// `tolerance_secs` away from `now`, and a `v1` that matches (compared in constant time).
pub fn verify(key: &[u8], header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&v1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_and_subscriber_keep_their_id_and_any_other_gets_another() {
        let a = delivery_id("desk", b"{\"alert_id\":\"x\"}");
        assert_eq!(a, delivery_id("desk", b"{\"alert_id\":\"x\"}"));
        assert_ne!(a, delivery_id("feed", b"{\"alert_id\":\"x\"}"));
        assert_ne!(a, delivery_id("desk", b"{\"alert_id\":\"y\"}"));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_body_and_time() {
        let header = sign(b"key", 1_700_000_000, b"{}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify(b"key", &header, b"{}", 1_700_000_100, 300));
        assert!(!verify(b"other", &header, b"{}", 1_700_000_100, 300));
        assert!(!verify(b"key", &header, b"{ }", 1_700_000_100, 300));
        assert!(!verify(b"key", &header, b"{}", 1_700_000_400, 300));
        assert!(!verify(b"key", "t=1700000000", b"{}", 1_700_000_000, 300));
    }
}
