//! NATS subject matching, for the embedded backend and for checks.

/// Whether `subject` matches `filter` with NATS wildcards: `*` matches one token, a final `>`
/// matches one or more tokens.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut filter_tokens = filter.split('.');
    let mut subject_tokens = subject.split('.');
    loop {
        match (filter_tokens.next(), subject_tokens.next()) {
            (Some(">"), Some(_)) => return filter_tokens.next().is_none(),
            (Some("*"), Some(_)) => {}
            (Some(f), Some(s)) if f == s => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards() {
        assert!(subject_matches("amb.inbound.>", "amb.inbound.3"));
        assert!(subject_matches("amb.inbound.>", "amb.inbound.3.x"));
        assert!(!subject_matches("amb.inbound.>", "amb.inbound"));
        assert!(subject_matches("amb.*.3", "amb.bot.3"));
        assert!(!subject_matches("amb.*.3", "amb.bot.4"));
        assert!(subject_matches("amb.bot.3", "amb.bot.3"));
        assert!(!subject_matches("amb.bot", "amb.bot.3"));
        assert!(!subject_matches("amb.events.>", "amb.eventsx.1"));
    }
}
