//! Small wire helpers shared by the model: loosely typed numbers, schema versions, the
//! `string_enum!` macro for open enums, and serde helpers.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Unknown JSON fields kept next to the known ones, so that parse → serialise loses nothing.
pub type Extra = serde_json::Map<String, Value>;

/// Declares an open enum: known wire spellings become variants, anything else is kept verbatim
/// in the catch-all variant (declared first, ending with `;`). Serialises as the wire string.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(#[$ometa:meta])* $other:ident(String);
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            $(#[$ometa])* $other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::$other(s) => s,
                }
            }

            /// Maps a wire spelling (exact, case-sensitive) to a variant; anything else is kept
            /// in the catch-all variant.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => Self::$variant, )*
                    other => Self::$other(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_wire(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from_wire(&s))
            }
        }
    };
}

pub(crate) use string_enum;

/// A count or identifier Apple documents as an integer, kept exactly as it arrived (integer or
/// string) so that it is written back the same way.
///
/// Used where the wire type is documented as an integer but a string is plausible
/// (`interactiveDataRef.size`, `richLinkDataRef.size`, `appId`, `selectedIndex`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A JSON integer.
    Int(u64),
    /// A JSON string.
    Text(String),
}

impl IntOrString {
    /// The value as an integer, if it is one or is a string of decimal digits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(n) => Some(*n),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

impl From<u64> for IntOrString {
    fn from(n: u64) -> Self {
        Self::Int(n)
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// A schema version (`data.version`, `dynamic.version`): Apple writes strings such as `"1.0"`,
/// but `constructPayload` uses the number `1.0`, so both are accepted and kept as they came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SchemaVersion {
    /// A JSON string, e.g. `"1.0"`.
    Text(String),
    /// A JSON number, e.g. `1.0`.
    Number(serde_json::Number),
}

impl SchemaVersion {
    /// `"1.0"`, the version Apple says interactive data "should be".
    pub fn v1_0() -> Self {
        Self::Text("1.0".to_owned())
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

impl From<&str> for SchemaVersion {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

/// Deserialises an optional string that may arrive as a JSON number (attachment `size`).
pub(crate) fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::invalid_type(
            unexpected(&other),
            &"a string or a number",
        )),
    }
}

fn unexpected(v: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// Moves a legacy-spelled value into `current` when `current` is empty. When both are present
/// and differ, the legacy value is kept in `extra` under its legacy key so nothing is lost.
pub(crate) fn merge_alias<T: PartialEq + Into<Value>>(
    current: &mut Option<T>,
    legacy: Option<T>,
    legacy_key: &str,
    extra: &mut Extra,
) {
    let Some(legacy) = legacy else { return };
    match current {
        None => *current = Some(legacy),
        Some(c) if *c == legacy => {}
        Some(_) => {
            extra.insert(legacy_key.to_owned(), legacy.into());
        }
    }
}

impl From<SchemaVersion> for Value {
    fn from(v: SchemaVersion) -> Self {
        match v {
            SchemaVersion::Text(s) => Value::String(s),
            SchemaVersion::Number(n) => Value::Number(n),
        }
    }
}
