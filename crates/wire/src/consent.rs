//! The identifiers notification-consent puts in its message-preferences list picker (Apple:
//! "Businesses and MSPs must support subscribe and unsubscribe, with a List Picker to choose
//! notification types"). A reply whose items carry them belongs to notification-consent;
//! every other consumer of customer messages (the bot, an external bot) leaves it alone.

/// The prefix of a preferences item's identifier; the rest is the topic.
pub const PREFERENCE_ITEM_PREFIX: &str = "parley-consent-topic:";

/// The identifier of the preferences item for `topic`.
pub fn preference_item(topic: &str) -> String {
    format!("{PREFERENCE_ITEM_PREFIX}{topic}")
}

/// The topic a preferences item's identifier names, if it is one.
pub fn preference_topic(identifier: &str) -> Option<&str> {
    identifier
        .strip_prefix(PREFERENCE_ITEM_PREFIX)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_names_its_topic_and_nothing_else_is_an_item() {
        assert_eq!(preference_topic(&preference_item("orders")), Some("orders"));
        assert_eq!(preference_topic("intent:hours"), None);
        assert_eq!(preference_topic(PREFERENCE_ITEM_PREFIX), None);
    }
}
