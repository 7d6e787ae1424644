//! The phrasing tables: how customers really ask, in English, French, Spanish, German,
//! Arabic, Hebrew, Chinese and Japanese: typos, missing accents, capitals, emoji, slang,
//! word order; and sentences that must not be understood. The development table was used
//! while building the matcher (it must stay at 90 % or above); the held-out table never was:
//! its rows were written before the matcher was changed and are never edited to pass (a
//! floor catches a regression). The plain table names each intent directly and must be
//! answered without a clarifying question. The test prints `accuracy: NN.N%` per language
//! and overall for each table, and every row that went wrong.

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
    // Written before the matcher's multilingual change (issue 16), never edited to pass:
    // eight languages, with typos, slang, word order, casing and emoji. None of these
    // sentences is copied into the knowledge file.
    // English
    ("en", "yo what time u guys open tmrw", Some("hours")),
    ("en", "are u open christmas day", Some("hours")),
    ("en", "HOURS ON SUNDAY PLS 🙏", Some("hours")),
    ("en", "when do you shut today", Some("hours")),
    ("en", "nearest store?", Some("locations")),
    ("en", "wheres the madrid location", Some("locations")),
    ("en", "what do u guys have to eat", Some("food_menu")),
    ("en", "any gluten free stuff?", Some("food_menu")),
    ("en", "price of a cappuccino?", Some("food_menu")),
    ("en", "refund plz, wrong item", Some("returns")),
    ("en", "i want to send back a damaged mug", Some("returns")),
    ("en", "package still not here 😡", Some("orders")),
    ("en", "whats the wi-fi password", Some("wifi")),
    (
        "en",
        "can I book a coffee tasting for saturday",
        Some("tasting"),
    ),
    ("en", "do you sell whole bean coffee", Some("beans")),
    ("en", "get me a real human", Some("human")),
    ("en", "my flight got cancelled", None),
    // French
    ("fr", "c quoi vos horaires le samedi", Some("hours")),
    ("fr", "vous ouvrez a quel heure", Some("hours")),
    ("fr", "OUVERT LE DIMANCHE ???", Some("hours")),
    ("fr", "vous etes ou exactement", Some("locations")),
    ("fr", "adresse du magasin de paris svp", Some("locations")),
    ("fr", "qu'est ce qu'il y a à manger", Some("food_menu")),
    ("fr", "c'est combien le café ☕", Some("food_menu")),
    (
        "fr",
        "je veux renvoyer ma tasse, elle est cassée",
        Some("returns"),
    ),
    ("fr", "ma commande arrive quand", Some("orders")),
    ("fr", "le code wifi c'est quoi", Some("wifi")),
    (
        "fr",
        "je voudrais reserver une degustation samedi",
        Some("tasting"),
    ),
    ("fr", "vous vendez du café en grain ?", Some("beans")),
    ("fr", "je veux parler a un humain 🙏", Some("human")),
    ("fr", "vous pouvez faire quoi", Some("main_menu")),
    ("fr", "mon chat dort toute la journée", None),
    // Spanish
    ("es", "a q hora abrís", Some("hours")),
    ("es", "horario del domingo?", Some("hours")),
    ("es", "cierran a que hora los sabados", Some("hours")),
    ("es", "donde estan ubicados", Some("locations")),
    (
        "es",
        "direccion de la tienda en madrid porfa",
        Some("locations"),
    ),
    ("es", "que tienen para comer", Some("food_menu")),
    ("es", "cuanto cuesta un cafe", Some("food_menu")),
    ("es", "quiero devolver un producto roto", Some("returns")),
    ("es", "mi pedido no llega 😤", Some("orders")),
    ("es", "cual es la clave del wifi", Some("wifi")),
    (
        "es",
        "quiero reservar una cata para el sabado",
        Some("tasting"),
    ),
    ("es", "venden granos de cafe?", Some("beans")),
    ("es", "pasame con un humano", Some("human")),
    ("es", "hace mucho calor hoy", None),
    // German
    ("de", "Wann habt ihr geöffnet?", Some("hours")),
    ("de", "öffnungszeiten bitte", Some("hours")),
    ("de", "habt ihr am sonntag auf?", Some("hours")),
    ("de", "bis wann habt ihr heute offen", Some("hours")),
    ("de", "Wo ist eure Filiale?", Some("locations")),
    ("de", "adresse vom laden in paris", Some("locations")),
    ("de", "was gibts zu essen", Some("food_menu")),
    ("de", "habt ihr vegane sachen 🌱", Some("food_menu")),
    ("de", "was kostet ein kaffe", Some("food_menu")),
    ("de", "ich möchte mein geld zurück", Some("returns")),
    ("de", "wie kann ich was zurückgeben", Some("returns")),
    ("de", "wo bleibt meine bestellung??", Some("orders")),
    ("de", "meine lieferung ist noch nicht da", Some("orders")),
    ("de", "WLAN passwort?", Some("wifi")),
    ("de", "ich will eine verkostung buchen", Some("tasting")),
    ("de", "verkauft ihr kaffeebohnen", Some("beans")),
    ("de", "mit einem menschen sprechen bitte", Some("human")),
    ("de", "was kannst du alles", Some("main_menu")),
    ("de", "mein hund heißt Bello", None),
    // Arabic (some with vowel marks or tatweel, as people type them)
    ("ar", "متى تفتحون غدا", Some("hours")),
    ("ar", "ما هي ساعات العمل يوم الجمعة", Some("hours")),
    ("ar", "هل المحل مفتوح الان؟", Some("hours")),
    ("ar", "متـــى تغلقون", Some("hours")),
    ("ar", "أين فروعكم", Some("locations")),
    ("ar", "ما هو عنوان المتجر", Some("locations")),
    ("ar", "ماذا يوجد في القائمة", Some("food_menu")),
    ("ar", "كم سعر القهوة ☕", Some("food_menu")),
    ("ar", "أُرِيدُ إرجاع كوب مكسور", Some("returns")),
    ("ar", "أين طلبي", Some("orders")),
    ("ar", "متى يصل طلبي؟", Some("orders")),
    ("ar", "كلمة سر الواي فاي", Some("wifi")),
    ("ar", "اريد حجز جلسة تذوق", Some("tasting")),
    ("ar", "هل تبيعون حبوب القهوة", Some("beans")),
    ("ar", "ابي اكلم موظف", Some("human")),
    ("ar", "الطقس جميل اليوم", None),
    // Hebrew
    ("he", "מתי אתם פתוחים", Some("hours")),
    ("he", "שעות פתיחה?", Some("hours")),
    ("he", "אתם פתוחים בשבת?", Some("hours")),
    ("he", "עד מתי פתוח היום", Some("hours")),
    ("he", "איפה החנויות שלכם", Some("locations")),
    ("he", "מה הכתובת של הסניף", Some("locations")),
    ("he", "מה יש בתפריט", Some("food_menu")),
    ("he", "יש לכם אופציות טבעוניות?", Some("food_menu")),
    ("he", "כמה עולה קפה", Some("food_menu")),
    ("he", "אני רוצה להחזיר מוצר", Some("returns")),
    ("he", "אני רוצה החזר כספי", Some("returns")),
    ("he", "איפה ההזמנה שלי", Some("orders")),
    ("he", "ההזמנה שלי מאחרת", Some("orders")),
    ("he", "מה הסיסמה של הוויפי", Some("wifi")),
    ("he", "אתם מוכרים פולי קפה?", Some("beans")),
    ("he", "אני רוצה לדבר עם נציג", Some("human")),
    ("he", "החתול שלי ישן", None),
    // Chinese (simplified, one traditional)
    ("zh", "你们几点开门", Some("hours")),
    ("zh", "营业时间是什么", Some("hours")),
    ("zh", "周日开吗？", Some("hours")),
    ("zh", "今天几点关门", Some("hours")),
    ("zh", "你们的店在哪里", Some("locations")),
    ("zh", "地址是什么", Some("locations")),
    ("zh", "有什么吃的", Some("food_menu")),
    ("zh", "咖啡多少钱", Some("food_menu")),
    ("zh", "有素食选择吗", Some("food_menu")),
    ("zh", "我要退货", Some("returns")),
    ("zh", "我想退款", Some("returns")),
    ("zh", "我的订单在哪", Some("orders")),
    ("zh", "快递怎么还没到", Some("orders")),
    ("zh", "wifi密码是多少", Some("wifi")),
    ("zh", "我想预约品鉴", Some("tasting")),
    ("zh", "卖咖啡豆吗", Some("beans")),
    ("zh", "我要找人工客服", Some("human")),
    ("zh", "營業時間", Some("hours")),
    ("zh", "今天天气很好", None),
    // Japanese
    ("ja", "何時に開きますか", Some("hours")),
    ("ja", "営業時間を教えて", Some("hours")),
    ("ja", "日曜日は開いてる？", Some("hours")),
    ("ja", "今日は何時まで？", Some("hours")),
    ("ja", "お店はどこですか", Some("locations")),
    ("ja", "住所を教えてください", Some("locations")),
    ("ja", "コーヒーはいくら？", Some("food_menu")),
    ("ja", "ヴィーガンのメニューある？", Some("food_menu")),
    ("ja", "返品したいです", Some("returns")),
    ("ja", "返金してほしい", Some("returns")),
    ("ja", "注文した商品がまだ届かない", Some("orders")),
    ("ja", "wifiのパスワードは？", Some("wifi")),
    ("ja", "試飲の予約をしたい", Some("tasting")),
    ("ja", "コーヒー豆を売ってますか", Some("beans")),
    ("ja", "人と話したい", Some("human")),
    ("ja", "猫がかわいい", None),
];

/// Plain phrasings, naming the intent directly, in every language of the held-out table:
/// each must be answered with its intent, never with a clarifying question (100 %). Written
/// with the held-out table, before the matcher's multilingual change; never edited to pass.
const PLAIN: &[(&str, &str, &str)] = &[
    ("en", "what are your hours", "hours"),
    ("en", "opening hours?", "hours"),
    ("en", "when do you open", "hours"),
    ("en", "where are your stores", "locations"),
    ("en", "store address", "locations"),
    ("en", "what's on the menu", "food_menu"),
    ("en", "food and drinks", "food_menu"),
    ("en", "return policy", "returns"),
    ("en", "I want a refund", "returns"),
    ("en", "where is my order", "orders"),
    ("en", "order status", "orders"),
    ("en", "wifi password", "wifi"),
    ("en", "book a tasting", "tasting"),
    ("en", "coffee beans", "beans"),
    ("en", "talk to a person", "human"),
    ("en", "what can you do", "main_menu"),
    ("fr", "vos horaires ?", "hours"),
    ("fr", "où sont vos boutiques", "locations"),
    ("fr", "la carte", "food_menu"),
    ("fr", "remboursement", "returns"),
    ("fr", "où est ma commande", "orders"),
    ("fr", "mot de passe wifi", "wifi"),
    ("fr", "réserver une dégustation", "tasting"),
    ("fr", "grains de café", "beans"),
    ("fr", "parler à une personne", "human"),
    ("es", "horario", "hours"),
    ("es", "dirección de la tienda", "locations"),
    ("es", "la carta", "food_menu"),
    ("es", "devoluciones", "returns"),
    ("es", "dónde está mi pedido", "orders"),
    ("es", "contraseña del wifi", "wifi"),
    ("es", "reservar una cata", "tasting"),
    ("es", "café en grano", "beans"),
    ("es", "hablar con una persona", "human"),
    ("de", "Öffnungszeiten", "hours"),
    ("de", "wo sind eure Filialen", "locations"),
    ("de", "Speisekarte", "food_menu"),
    ("de", "Rückgabe", "returns"),
    ("de", "wo ist meine Bestellung", "orders"),
    ("de", "WLAN Passwort", "wifi"),
    ("de", "Verkostung buchen", "tasting"),
    ("de", "Kaffeebohnen", "beans"),
    ("de", "mit einer Person sprechen", "human"),
    ("ar", "ساعات العمل", "hours"),
    ("ar", "أين متاجركم", "locations"),
    ("ar", "أريد استرداد أموالي", "returns"),
    ("ar", "حالة الطلب", "orders"),
    ("ar", "أريد التحدث مع شخص", "human"),
    ("he", "שעות פתיחה", "hours"),
    ("he", "איפה החנויות", "locations"),
    ("he", "תפריט", "food_menu"),
    ("he", "החזרות", "returns"),
    ("he", "סטטוס הזמנה", "orders"),
    ("he", "לדבר עם נציג", "human"),
    ("zh", "营业时间", "hours"),
    ("zh", "门店地址", "locations"),
    ("zh", "菜单", "food_menu"),
    ("zh", "退货", "returns"),
    ("zh", "我的订单", "orders"),
    ("zh", "人工客服", "human"),
    ("ja", "営業時間", "hours"),
    ("ja", "店舗の場所", "locations"),
    ("ja", "返品", "returns"),
    ("ja", "注文の状況", "orders"),
    ("ja", "担当者と話したい", "human"),
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

/// Prints `accuracy: NN.N%` for each language of `rows` and overall; returns the overall
/// accuracy and the rows that went wrong.
fn report(name: &str, rows: &[(&str, &str, Option<&str>)]) -> (f64, Vec<String>) {
    let mut languages: Vec<&str> = Vec::new();
    for (language, _, _) in rows {
        if !languages.contains(language) {
            languages.push(language);
        }
    }
    for language in languages {
        let subset: Vec<(&str, &str, Option<&str>)> = rows
            .iter()
            .filter(|(l, _, _)| *l == language)
            .copied()
            .collect();
        let (right, total, _) = measure(&subset);
        println!(
            "{name} [{language}] {right}/{total} accuracy: {:.1}%",
            percent(right, total)
        );
    }
    let (right, total, wrong) = measure(rows);
    let accuracy = percent(right, total);
    println!("{name} [overall] {right}/{total} accuracy: {accuracy:.1}%");
    (accuracy, wrong)
}

#[test]
fn phrasing_table_accuracy() {
    let (accuracy, wrong) = report("development table", TABLE);
    let (held, held_wrong) = report("held out", HELD_OUT);
    for line in wrong.iter().chain(&held_wrong) {
        println!("{line}");
    }
    assert!(
        accuracy >= 90.0,
        "development table {accuracy:.1} % is below 90 %:\n{}",
        wrong.join("\n")
    );
    assert!(
        held >= HELD_OUT_FLOOR,
        "held-out table {held:.1} % is below {HELD_OUT_FLOOR} %:\n{}",
        held_wrong.join("\n")
    );
}

/// The held-out accuracy below which the test fails (issue 16's target; the table itself
/// is never edited to pass).
const HELD_OUT_FLOOR: f64 = 90.0;

/// The plain table against the whole decision: every row answered with its intent (not a
/// clarifying question, not a miss).
#[test]
fn plain_phrasings_are_answered_without_a_question() {
    let k = acme();
    let mut wrong = Vec::new();
    for (language, text, want) in PLAIN {
        match outcome(&k, language, text) {
            Outcome::Intent(got) if got == *want => {}
            Outcome::Intent(got) => wrong.push(format!("  [{language}] {text:?}: got {got}")),
            Outcome::Clarified(offered) => wrong.push(format!(
                "  [{language}] {text:?}: a clarifying question offering {offered:?}"
            )),
            Outcome::Missed => wrong.push(format!("  [{language}] {text:?}: missed")),
        }
    }
    let right = PLAIN.len() - wrong.len();
    println!(
        "plain table [overall] {right}/{} accuracy: {:.1}%",
        PLAIN.len(),
        percent(right, PLAIN.len())
    );
    for line in &wrong {
        println!("{line}");
    }
    assert!(
        wrong.is_empty(),
        "plain phrasings not answered with their intent:\n{}",
        wrong.join("\n")
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
