//! The phrasing tables: how customers really ask, in English, French and Spanish (and a
//! little Arabic): typos, missing accents, capitals, emoji, extra words; and sentences that
//! must not be understood. The development table was used while building the matcher (it
//! must stay at 90 % or above); the held-out table never was (a floor of 60 % catches a
//! regression). The test prints both accuracies and every row that went wrong.

use super::fixtures::acme;

/// (language of the sentence, sentence, expected intent; `None`: must not be understood).
const TABLE: &[(&str, &str, Option<&str>)] = &[
    // English
    ("en", "When are you open?", Some("hours")),
    ("en", "what r ur opening hours", Some("hours")),
    ("en", "are you open on sundays?", Some("hours")),
    ("en", "What time do you close tonight", Some("hours")),
    ("en", "hours", Some("hours")),
    ("en", "opning hours pls", Some("hours")),
    ("en", "Where are your stores located?", Some("locations")),
    ("en", "whats your address", Some("locations")),
    ("en", "is there a shop near me", Some("locations")),
    ("en", "Do you have vegan options? 🌱", Some("food_menu")),
    ("en", "what drinks do you serve", Some("food_menu")),
    ("en", "how much is a coffee", Some("food_menu")),
    ("en", "I'd like a refund", Some("returns")),
    ("en", "how can I return my item", Some("returns")),
    ("en", "my mug arrived broken!!", Some("returns")),
    ("en", "Where's my order??", Some("orders")),
    ("en", "track order", Some("orders")),
    ("en", "my delivery is late", Some("orders")),
    ("en", "wifi password?", Some("wifi")),
    ("en", "I want to talk to a real person", Some("human")),
    ("en", "can I speak to someone please", Some("human")),
    ("en", "what can you do?", Some("main_menu")),
    ("en", "my cat is called Felix", None),
    ("en", "banana", None),
    ("en", "👍", None),
    // French
    ("fr", "Quels sont vos horaires ?", Some("hours")),
    ("fr", "vous etes ouvert aujourdhui ?", Some("hours")),
    ("fr", "a quelle heure fermez vous", Some("hours")),
    ("fr", "HEURES D'OUVERTURE", Some("hours")),
    ("fr", "Où sont vos magasins ?", Some("locations")),
    (
        "fr",
        "quelle est l'adresse de la boutique",
        Some("locations"),
    ),
    (
        "fr",
        "avez vous des options vegetaliennes",
        Some("food_menu"),
    ),
    ("fr", "prix d'un café ?", Some("food_menu")),
    ("fr", "je voudrais être remboursé", Some("returns")),
    ("fr", "comment retourner un article ?", Some("returns")),
    ("fr", "ou est ma commande", Some("orders")),
    ("fr", "je veux suivre ma commande", Some("orders")),
    ("fr", "mot de passe wifi ?", Some("wifi")),
    ("fr", "je veux parler à quelqu'un", Some("human")),
    ("fr", "un conseiller svp", Some("human")),
    ("fr", "que pouvez vous faire", Some("main_menu")),
    ("fr", "il fait beau aujourd'hui", None),
    // Spanish
    ("es", "¿A qué hora abren?", Some("hours")),
    ("es", "cual es su horario", Some("hours")),
    ("es", "estan abiertos hoy?", Some("hours")),
    ("es", "¿Dónde están sus tiendas?", Some("locations")),
    ("es", "cual es la direccion", Some("locations")),
    ("es", "tienen opciones veganas?", Some("food_menu")),
    ("es", "quiero un reembolso", Some("returns")),
    ("es", "como devuelvo un articulo", Some("returns")),
    ("es", "¿Dónde está mi pedido?", Some("orders")),
    ("es", "rastrear pedido", Some("orders")),
    ("es", "tienen wifi?", Some("wifi")),
    ("es", "quiero hablar con una persona", Some("human")),
    ("es", "qué puedes hacer", Some("main_menu")),
    ("es", "me gusta el fútbol", None),
    // More ways of asking, in every language.
    ("en", "Are you guys open right now?", Some("hours")),
    ("en", "till what time r u open", Some("hours")),
    ("en", "closing time?", Some("hours")),
    ("en", "which store is closest to me", Some("locations")),
    ("en", "where can I find you", Some("locations")),
    ("en", "do u have gluten free pastries", Some("food_menu")),
    ("en", "can i get a refund for my order", Some("returns")),
    ("en", "i need to exchange a product", Some("returns")),
    ("en", "has my package shipped yet", Some("orders")),
    ("en", "how long is delivery", Some("orders")),
    ("en", "is there free wifi", Some("wifi")),
    ("en", "let me speak with a human being", Some("human")),
    ("en", "the weather is nice today", None),
    ("en", "lol", None),
    ("fr", "c'est ouvert dimanche ?", Some("hours")),
    ("fr", "vous fermez a quelle heure", Some("hours")),
    ("fr", "où se trouve votre magasin", Some("locations")),
    ("fr", "je veux échanger un produit", Some("returns")),
    ("fr", "ma commande est en retard !!", Some("orders")),
    ("fr", "je voudrais parler a une personne", Some("human")),
    ("fr", "vous vendez des viennoiseries ?", Some("food_menu")),
    ("fr", "j'aime les chats", None),
    ("es", "¿abren los domingos?", Some("hours")),
    ("es", "a que hora cierran hoy", Some("hours")),
    ("es", "donde queda la tienda", Some("locations")),
    ("es", "quiero cambiar un producto", Some("returns")),
    ("es", "mi pedido llega tarde", Some("orders")),
    ("es", "contraseña wifi", Some("wifi")),
    ("es", "necesito hablar con un asesor", Some("human")),
    ("es", "mi perro se llama Max", None),
    ("ar", "متى تفتحون اليوم؟", Some("hours")),
    ("ar", "أريد استرداد أموالي من فضلك", Some("returns")),
];

/// Held out: written after the last change to the matcher and never tuned against, so its
/// accuracy says how the matcher does on phrasings nobody anticipated.
const HELD_OUT: &[(&str, &str, Option<&str>)] = &[
    ("en", "r u open on saturday", Some("hours")),
    ("en", "when do you guys close", Some("hours")),
    (
        "en",
        "what's the address of the downtown store",
        Some("locations"),
    ),
    ("en", "got any oat milk lattes?", Some("food_menu")),
    (
        "en",
        "the cup i bought is cracked, can i get my money back",
        Some("returns"),
    ),
    ("en", "order hasn't arrived", Some("orders")),
    ("en", "need a human", Some("human")),
    ("en", "whats the wifi", Some("wifi")),
    ("en", "I love your croissants", None),
    ("fr", "vous ouvrez à quelle heure demain", Some("hours")),
    ("fr", "où est la boutique la plus proche", Some("locations")),
    ("fr", "je voudrais un remboursement svp", Some("returns")),
    ("fr", "quand vais-je recevoir ma commande", Some("orders")),
    ("fr", "puis-je parler à un humain", Some("human")),
    ("fr", "bonne journée", None),
    ("es", "¿a qué hora abren mañana?", Some("hours")),
    ("es", "dónde está la tienda más cercana", Some("locations")),
    ("es", "tienen leche de avena?", Some("food_menu")),
    ("es", "quiero devolver mi taza", Some("returns")),
    ("es", "no ha llegado mi pedido", Some("orders")),
    ("es", "quiero hablar con un humano", Some("human")),
    ("es", "gracias, muy amable", None),
];

/// (right, total, the rows that went wrong).
fn measure(rows: &[(&str, &str, Option<&str>)]) -> (usize, usize, Vec<String>) {
    let k = acme();
    let mut right = 0;
    let mut wrong = Vec::new();
    for (language, text, expected) in rows {
        let found = k.matcher.best(text);
        let got = found.as_ref().map(|m| k.intents[m.intent].id.as_str());
        if got == *expected {
            right += 1;
        } else {
            let score = k.matcher.rank(text).map_or(0.0, |m| m.score);
            wrong.push(format!(
                "  [{language}] {text:?}: expected {expected:?}, got {got:?} (best score {score:.2})"
            ));
        }
    }
    (right, rows.len(), wrong)
}

/// What the bot as a whole does with a row's sentence: the matched intent, or the intents a
/// clarifying question offers.
enum Outcome {
    Intent(String),
    Clarified(Vec<String>),
    Missed,
}

fn outcome(k: &parley_bot::Knowledge, language: &str, text: &str) -> Outcome {
    use parley_bot::{Action, Memory, answer};
    use parley_proto::v1::outbound_message::Kind;
    let ctx = super::fixtures::context(language, &super::fixtures::all_caps());
    let reply = answer(
        k,
        &super::fixtures::text_task(ctx, text),
        &Memory::default(),
        super::fixtures::WEDNESDAY_NOON,
    );
    if !reply.missed {
        return k.matcher.best(text).map_or(Outcome::Missed, |m| {
            Outcome::Intent(k.intents[m.intent].id.clone())
        });
    }
    let offered: Vec<String> = reply
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(Kind::QuickReply(q)) => Some(q),
            _ => None,
        })
        .flat_map(|q| q.items.iter())
        .filter_map(|i| i.identifier.strip_prefix("intent:").map(str::to_owned))
        .collect();
    if offered.is_empty() {
        Outcome::Missed
    } else {
        Outcome::Clarified(offered)
    }
}

/// The table against the whole decision (the issue's "the expected intent or
/// clarification"): (answered with the expected intent or rightly not understood, a clarifying
/// question offering the expected intent, a clarifying question for a sentence that must not
/// be understood, total). Printed, not asserted: the asserted accuracy is the matcher's.
fn outcomes(rows: &[(&str, &str, Option<&str>)]) -> (usize, usize, usize, usize) {
    let k = acme();
    let (mut right, mut clarified, mut asked) = (0, 0, 0);
    for (language, text, expected) in rows {
        match (outcome(&k, language, text), expected) {
            (Outcome::Intent(got), Some(want)) if got == *want => right += 1,
            (Outcome::Missed, None) => right += 1,
            (Outcome::Clarified(offered), Some(want)) if offered.iter().any(|o| o == want) => {
                clarified += 1;
            }
            (Outcome::Clarified(_), None) => asked += 1,
            _ => {}
        }
    }
    (right, clarified, asked, rows.len())
}

#[test]
fn phrasing_table_with_clarifying_questions() {
    for (name, rows) in [("development table", TABLE), ("held out", HELD_OUT)] {
        let (right, clarified, asked, total) = outcomes(rows);
        println!(
            "phrasing outcomes ({name}): {right} right, {clarified} clarified with the expected intent offered, {asked} asked about a sentence that must not be understood: {}/{total} = {:.1} % the expected intent or a clarification offering it",
            right + clarified,
            percent(right + clarified, total)
        );
        // The clarifying question never makes the bot worse than its matcher.
        let (matched, _, _) = measure(rows);
        assert!(
            right + clarified >= matched,
            "{name}: {right} + {clarified} < {matched}"
        );
    }
}

#[allow(clippy::cast_precision_loss)]
fn percent(right: usize, total: usize) -> f64 {
    100.0 * right as f64 / total.max(1) as f64
}

#[test]
fn phrasing_table_accuracy() {
    let (right, total, wrong) = measure(TABLE);
    let (held_right, held_total, held_wrong) = measure(HELD_OUT);
    let accuracy = percent(right, total);
    let held = percent(held_right, held_total);
    println!("phrasing accuracy: {right}/{total} = {accuracy:.1} % (development table)");
    println!("phrasing accuracy: {held_right}/{held_total} = {held:.1} % (held out)");
    println!(
        "phrasing accuracy: {}/{} = {:.1} % (all)",
        right + held_right,
        total + held_total,
        percent(right + held_right, total + held_total)
    );
    for line in wrong.iter().chain(&held_wrong) {
        println!("{line}");
    }
    assert!(
        accuracy >= 90.0,
        "development table {accuracy:.1} % is below 90 %:\n{}",
        wrong.join("\n")
    );
    assert!(
        held >= 60.0,
        "held-out table {held:.1} % is below 60 %:\n{}",
        held_wrong.join("\n")
    );
}

#[test]
fn the_language_of_the_sentence_is_the_language_of_the_answer() {
    let k = acme();
    for (language, text, expected) in TABLE {
        if expected.is_none() {
            continue;
        }
        if let Some(found) = k.matcher.best(text)
            && Some(k.intents[found.intent].id.as_str()) == *expected
        {
            assert_eq!(&found.locale, language, "{text:?}");
        }
    }
}
