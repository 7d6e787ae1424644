//! Tapback detection: a table of positive and negative examples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_apple::tapback::{Reaction, Tapback, TapbackKind, TapbackTarget, detect_tapback};

fn added(r: Reaction, quoted: &str) -> Option<Tapback> {
    Some(Tapback {
        kind: TapbackKind::Added(r),
        target: TapbackTarget::Quoted(quoted.to_owned()),
    })
}

fn removed(r: Reaction, quoted: &str) -> Option<Tapback> {
    Some(Tapback {
        kind: TapbackKind::Removed(r),
        target: TapbackTarget::Quoted(quoted.to_owned()),
    })
}

fn emoji(e: &str) -> Reaction {
    Reaction::Emoji(e.to_owned())
}

#[test]
fn table() {
    let cases: Vec<(&str, Option<Tapback>)> = vec![
        // Positive: the six classic reactions, curly quotes.
        (
            "Liked “See you at 5”",
            added(Reaction::Liked, "See you at 5"),
        ),
        ("Loved “Thank you!”", added(Reaction::Loved, "Thank you!")),
        (
            "Disliked “Your order is late”",
            added(Reaction::Disliked, "Your order is late"),
        ),
        ("Laughed at “lol”", added(Reaction::Laughed, "lol")),
        (
            "Emphasized “Important”",
            added(Reaction::Emphasized, "Important"),
        ),
        (
            "Emphasised “Important”",
            added(Reaction::Emphasized, "Important"),
        ),
        (
            "Questioned “Is it open?”",
            added(Reaction::Questioned, "Is it open?"),
        ),
        // Straight quotes, mixed quotes, surrounding whitespace.
        ("Liked \"hello\"", added(Reaction::Liked, "hello")),
        ("Loved “hello\"", added(Reaction::Loved, "hello")),
        ("  Liked “padded”\n", added(Reaction::Liked, "padded")),
        // Quoted text containing quotes and the word Liked.
        (
            "Liked “He said “Liked it” twice”",
            added(Reaction::Liked, "He said “Liked it” twice"),
        ),
        ("Liked “”", added(Reaction::Liked, "")),
        // Emoji reactions.
        (
            "Reacted 😀 to “Great news”",
            added(emoji("😀"), "Great news"),
        ),
        ("Reacted 👍🏽 to “ok”", added(emoji("👍🏽"), "ok")),
        (
            "Reacted 👨‍👩‍👧 to “family plan”",
            added(emoji("👨‍👩‍👧"), "family plan"),
        ),
        // Business messages and items.
        (
            "Liked 1 Business Message",
            Some(Tapback {
                kind: TapbackKind::Added(Reaction::Liked),
                target: TapbackTarget::BusinessMessages(1),
            }),
        ),
        (
            "Loved 2 Business Messages",
            Some(Tapback {
                kind: TapbackKind::Added(Reaction::Loved),
                target: TapbackTarget::BusinessMessages(2),
            }),
        ),
        (
            "Liked an image",
            Some(Tapback {
                kind: TapbackKind::Added(Reaction::Liked),
                target: TapbackTarget::Item("an image".to_owned()),
            }),
        ),
        // Removals.
        (
            "Removed a like from “hello”",
            removed(Reaction::Liked, "hello"),
        ),
        ("Removed a heart from “hi”", removed(Reaction::Loved, "hi")),
        (
            "Removed a dislike from “x”",
            removed(Reaction::Disliked, "x"),
        ),
        (
            "Removed a laugh from “joke”",
            removed(Reaction::Laughed, "joke"),
        ),
        (
            "Removed an exclamation from “!”",
            removed(Reaction::Emphasized, "!"),
        ),
        (
            "Removed a question mark from “?”",
            removed(Reaction::Questioned, "?"),
        ),
        ("Removed a 😀 from “hey”", removed(emoji("😀"), "hey")),
        ("Removed 😀 from “hey”", removed(emoji("😀"), "hey")),
        (
            "Removed a like from 1 Business Message",
            Some(Tapback {
                kind: TapbackKind::Removed(Reaction::Liked),
                target: TapbackTarget::BusinessMessages(1),
            }),
        ),
        // Negative: ordinary text that merely contains the words.
        ("Liked your service a lot", None),
        ("I Liked “this”", None),
        ("I liked the product", None),
        ("liked “lowercase”", None),
        ("Liked", None),
        ("Liked ", None),
        ("Liked“no space”", None),
        ("Liked “unterminated", None),
        ("Liked “quote” and then more", None),
        ("Liked 1 business message", None),
        ("Liked many Business Messages", None),
        ("Reacted to “missing emoji”", None),
        ("Reacted happy to “a word is not an emoji”", None),
        ("Reacted 😀 “missing to”", None),
        ("Removed a like “missing from”", None),
        ("Removed the item from my cart", None),
        ("Removed an exclamation from", None),
        ("Questioned why the order is late", None),
        ("", None),
        ("“Liked”", None),
    ];
    assert!(cases.len() >= 15);
    for (body, expected) in cases {
        assert_eq!(detect_tapback(body), expected, "{body:?}");
    }
}

#[test]
fn accessors() {
    let t = detect_tapback("Removed a heart from “hi”").unwrap();
    assert!(t.is_removal());
    assert_eq!(t.reaction(), &Reaction::Loved);
    assert_eq!(t.quoted_text(), Some("hi"));
    let b = detect_tapback("Liked 1 Business Message").unwrap();
    assert!(!b.is_removal());
    assert_eq!(b.quoted_text(), None);
}
