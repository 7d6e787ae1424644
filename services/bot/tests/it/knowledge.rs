//! The knowledge file's validation: a bad file stops start-up with a message naming the file
//! and the entry.

use parley_bot::{Knowledge, load_dir};

use super::fixtures::ACME;

fn error(text: &str) -> String {
    Knowledge::from_toml("bad.toml", text)
        .unwrap_err()
        .to_string()
}

const BASE: &str = r#"
business = "biz-1"
menu = ["hours", "human"]

[[locations]]
id = "hq"
time_zone = "Europe/Paris"
name = { en = "HQ" }
hours = { mon = "09:00-17:00" }

[[intents]]
id = "hours"
kind = "hours"
title = { en = "Hours" }
phrases.en = ["when are you open"]

[[intents]]
id = "human"
kind = "human"
title = { en = "A person" }
"#;

#[test]
fn the_sample_file_is_valid() {
    let k = Knowledge::from_toml("acme.toml", ACME).unwrap();
    assert_eq!(
        k.locales.iter().cloned().collect::<Vec<_>>(),
        ["ar", "de", "en", "es", "fr", "he", "ja", "zh"]
    );
    assert_eq!(k.locations.len(), 3);
    assert!(Knowledge::from_toml("base.toml", BASE).is_ok());
}

#[test]
fn errors_name_the_file_and_the_entry() {
    let cases = [
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"faq\"\nphrases.en = [\"x y\"]\nanswer.en = {{ link = {{ url = \"https://a.example\" }} }}\n"
            ),
            "knowledge file bad.toml: intent \"faq\": answer (en) has no text fallback",
        ),
        (
            BASE.replace("Europe/Paris", "Europe/Atlantis"),
            "knowledge file bad.toml: location \"hq\": time zone \"Europe/Atlantis\" is unknown",
        ),
        (
            BASE.replace("09:00-17:00", "17:00-09:00"),
            "knowledge file bad.toml: location \"hq\": mon: \"17:00-09:00\" closes before it opens",
        ),
        (
            BASE.replace("mon = ", "monday = "),
            "knowledge file bad.toml: location \"hq\": hours: \"monday\" is not one of",
        ),
        (
            BASE.replace(
                "menu = [\"hours\", \"human\"]",
                "menu = [\"hours\", \"human\", \"prices\"]",
            ),
            "knowledge file bad.toml: menu: intent \"prices\" is not defined",
        ),
        (
            BASE.replace("menu = [\"hours\", \"human\"]", "menu = [\"hours\"]")
                .replace(
                    "title = { en = \"A person\" }",
                    "phrases.en = [\"a person\"]",
                ),
            "knowledge file bad.toml: menu: has no intent of kind \"human\"",
        ),
        (
            BASE.replace("title = { en = \"Hours\" }", ""),
            "knowledge file bad.toml: intent \"hours\": is in the menu but has no title",
        ),
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"hours\"\nphrases.en = [\"x\"]\nanswer.en = {{ text = \"y\" }}\n"
            ),
            "knowledge file bad.toml: intent \"hours\" is defined twice",
        ),
        (
            format!("{BASE}\n[[intents]]\nid = \"lost\"\nanswer.en = {{ text = \"y\" }}\n"),
            "knowledge file bad.toml: intent \"lost\": has no phrases and is not in the menu",
        ),
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"l\"\nphrases.en = [\"x\"]\nanswer.en = {{ text = \"y\", link = {{ url = \"http://a\" }} }}\n"
            ),
            "knowledge file bad.toml: intent \"l\": answer (en): link must be an https URL",
        ),
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"e\"\nphrases.en = [\"🙂\"]\nanswer.en = {{ text = \"y\" }}\n"
            ),
            "knowledge file bad.toml: intent \"e\": phrase \"🙂\" (en) has no words",
        ),
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"u\"\nphrases.en = [\"x\"]\nanswer.en = {{ text = \"see http://a.example\" }}\n"
            ),
            "knowledge file bad.toml: intent \"u\": answer (en): \"http://a.example\": links must be https",
        ),
        (
            format!("colour = \"blue\"\n{BASE}"),
            "knowledge file bad.toml: ",
        ),
        (
            BASE.replace("business = \"biz-1\"", "business = \"\""),
            "knowledge file bad.toml: business:",
        ),
        (
            format!("max_misses = 0\n{BASE}"),
            "knowledge file bad.toml: max_misses must be at least 1",
        ),
    ];
    for (text, expected) in cases {
        let got = error(&text);
        assert!(
            got.starts_with(expected),
            "expected {expected:?}\n     got {got:?}"
        );
    }
    assert!(error(&format!("colour = \"blue\"\n{BASE}")).contains("colour"));
}

#[test]
fn a_directory_with_two_files_for_one_business_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), BASE).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    assert_eq!(load_dir(dir.path()).unwrap().len(), 1);
    std::fs::write(dir.path().join("b.toml"), BASE).unwrap();
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        "knowledge file b.toml: business biz-1 is already described by a.toml"
    );
    let missing = load_dir(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(missing.starts_with("knowledge "), "{missing}");
}

#[test]
fn quick_reply_and_appointment_entries_are_validated() {
    let quick = |items: &str| {
        format!(
            "{BASE}\n[[intents]]\nid = \"q\"\nphrases.en = [\"x\"]\nanswer.en = {{ text = \"y\", quick_reply = {{ summary = \"Which?\", items = [{items}] }} }}\n"
        )
    };
    let item = |id: &str| format!("{{ id = \"{id}\", title = \"T {id}\", text = \"A {id}\" }}");
    let appointment = |settings: &str, answer: &str| {
        format!(
            "{BASE}\n[[intents]]\nid = \"book\"\nkind = \"appointment\"\n{settings}\nphrases.en = [\"book\"]\nanswer.en = {{ {answer} }}\n"
        )
    };
    let good = "text = \"Pick a time\", confirmed = \"Booked {day} at {time}\"";
    assert!(Knowledge::from_toml("ok.toml", &quick(&[item("a"), item("b")].join(", "))).is_ok());
    assert!(
        Knowledge::from_toml(
            "ok.toml",
            &appointment("appointment = { location = \"hq\" }", good)
        )
        .is_ok()
    );
    let cases = [
        (
            quick(&item("a")),
            "knowledge file bad.toml: intent \"q\": answer (en): quick_reply has 1 items (2 to 5)",
        ),
        (
            quick(&["a", "b", "c", "d", "e", "f"].map(item).join(", ")),
            "knowledge file bad.toml: intent \"q\": answer (en): quick_reply has 6 items (2 to 5)",
        ),
        (
            quick(&[item("a"), item("a")].join(", ")),
            "knowledge file bad.toml: intent \"q\": answer (en): quick_reply item \"a\" is empty or repeated",
        ),
        (
            quick(
                &[
                    item("a"),
                    "{ id = \"b\", title = \"B\", text = \" \" }".to_owned(),
                ]
                .join(", "),
            ),
            "knowledge file bad.toml: intent \"q\": answer (en): quick_reply item \"b\" needs a title and a text",
        ),
        (
            appointment("", good),
            "knowledge file bad.toml: intent \"book\": kind \"appointment\" needs an appointment",
        ),
        (
            appointment("appointment = { location = \"moon\" }", good),
            "knowledge file bad.toml: intent \"book\": appointment: location \"moon\" is not defined",
        ),
        (
            appointment(
                "appointment = { location = \"hq\", duration_minutes = 2 }",
                good,
            ),
            "knowledge file bad.toml: intent \"book\": appointment: duration_minutes must be 5 to 1440",
        ),
        (
            appointment("appointment = { location = \"hq\", days = 0 }", good),
            "knowledge file bad.toml: intent \"book\": appointment: days must be 1 to 31",
        ),
        (
            appointment(
                "appointment = { location = \"hq\" }",
                "text = \"Pick a time\"",
            ),
            "knowledge file bad.toml: intent \"book\": answer (en) has no confirmed text",
        ),
        (
            format!(
                "{BASE}\n[[intents]]\nid = \"w\"\nappointment = {{ location = \"hq\" }}\nphrases.en = [\"x\"]\nanswer.en = {{ text = \"y\" }}\n"
            ),
            "knowledge file bad.toml: intent \"w\": appointment is only for kind \"appointment\"",
        ),
    ];
    for (text, expected) in cases {
        let got = error(&text);
        assert!(
            got.starts_with(expected),
            "expected {expected:?}\n     got {got:?}"
        );
    }
}

#[test]
fn the_files_synonyms_extend_parleys() {
    // Without the group, `lattes` is a word no phrase uses.
    let plain = Knowledge::from_toml("base.toml", BASE).unwrap();
    assert_eq!(plain.matcher.best("lattes"), None);
    let with = BASE.replace(
        "menu = [\"hours\", \"human\"]",
        "menu = [\"hours\", \"human\"]\n[synonyms]\nen = [[\"open\", \"lattes\"]]",
    );
    let k = Knowledge::from_toml("with.toml", &with).unwrap();
    let found = k.matcher.best("lattes").unwrap();
    assert_eq!(k.intents[found.intent].id, "hours");
    for (bad, problem) in [
        (
            "en = [[\"open\"]]",
            "synonyms.en: [\"open\"] must list two or more words",
        ),
        ("en = [[\"open\", \"!!\"]]", "must list two or more words"),
        ("EN = [[\"open\", \"lattes\"]]", "synonyms: language \"EN\""),
    ] {
        let text = BASE.replace(
            "menu = [\"hours\", \"human\"]",
            &format!("menu = [\"hours\", \"human\"]\n[synonyms]\n{bad}"),
        );
        let message = error(&text);
        assert!(message.contains(problem), "{message}");
    }
}
