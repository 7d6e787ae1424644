//! The Redis key layout of one conversation.

use parley_types::ConversationKey;

/// Every key of one conversation. All share the hash tag `{<business>:<opaque>}`, so they
/// live in one Redis Cluster slot and one script may touch them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationKeys {
    /// `conv:{…}`: a hash with the state blob, its version, the sequence counter and each
    /// stage's gate fields.
    pub record: String,
    /// `conv:{…}:log`: a capped stream, the transcript.
    pub log: String,
    /// `conv:{…}:consent`: notification consent (owned by notification-consent).
    pub consent: String,
    /// `conv:{…}:dedup`: a sorted set of de-duplication records scored by expiry time.
    pub dedup: String,
    /// `conv:{…}:seqids`: a capped sorted set of idempotent sequence allocations (member
    /// `counter NUL id`, score the sequence).
    pub seqids: String,
}

impl ConversationKeys {
    /// The keys of `key` under `prefix`.
    pub fn new(prefix: &str, key: &ConversationKey) -> Self {
        let record = format!("{prefix}conv:{{{}}}", key.hash_tag());
        Self {
            log: format!("{record}:log"),
            consent: format!("{record}:consent"),
            dedup: format!("{record}:dedup"),
            seqids: format!("{record}:seqids"),
            record,
        }
    }

    /// All keys, in the order every script receives them.
    pub fn all(&self) -> [&str; 5] {
        [
            &self.record,
            &self.log,
            &self.consent,
            &self.dedup,
            &self.seqids,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag() {
        let key = ConversationKey::parse("biz", "urn:mbid:A").unwrap();
        let keys = ConversationKeys::new("t1:", &key);
        assert_eq!(keys.record, "t1:conv:{biz:urn:mbid:A}");
        for k in keys.all() {
            let open = k.find('{').unwrap();
            let close = k.find('}').unwrap();
            assert_eq!(&k[open..=close], "{biz:urn:mbid:A}");
        }
    }
}
