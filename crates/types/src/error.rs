/// What was wrong with an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The value was empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// The value was longer than allowed.
    #[error("{kind} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Which identifier.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value held a character that is not allowed (it would break a NATS subject or a
    /// Redis hash tag, or is a control or whitespace character).
    #[error("{kind} contains {found:?} at byte {at}, which is not allowed")]
    BadCharacter {
        /// Which identifier.
        kind: &'static str,
        /// The offending character.
        found: char,
        /// Its byte offset.
        at: usize,
    },
    /// A number was out of its range.
    #[error("{kind} must be {rule}, got {value}")]
    OutOfRange {
        /// Which value.
        kind: &'static str,
        /// The rule it broke.
        rule: &'static str,
        /// The value given.
        value: u64,
    },
    /// A value could not be parsed.
    #[error("{kind} is malformed: {reason}")]
    Malformed {
        /// Which value.
        kind: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
