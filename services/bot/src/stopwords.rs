//! Stop words per language: words that say nothing about what a customer asks (articles,
//! pronouns, auxiliaries, politeness). A sentence made only of them is compared on them
//! anyway. Written as people type them; they are folded like any text before use.
//! Question words (`when`, `where`, `wann`, `متى`) are not stop words: they tell `hours`
//! from `locations`.

/// The stop words of a language (its primary subtag); none for a language not listed.
pub fn stop_words(language: &str) -> &'static [&'static str] {
    match language {
        "en" => EN,
        "fr" => FR,
        "es" => ES,
        "de" => DE,
        "ar" => AR,
        "he" | "iw" => HE,
        "zh" => ZH,
        "it" => IT,
        "pt" => PT,
        _ => &[],
    }
}

const EN: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "be", "do", "does", "did", "you", "your", "i", "me", "my",
    "we", "our", "us", "to", "of", "for", "in", "on", "at", "it", "this", "that", "and", "or",
    "with", "can", "could", "would", "will", "please", "s", "there", "any", "have", "has", "get",
    "want", "like", "need", "some", "just", "so", "guys", "yo", "hey", "hi", "hello", "ok", "okay",
    "pls", "plz", "u", "ur", "r", "im", "d", "ll", "m", "t", "re", "ve", "thanks", "thank", "thx",
    "still", "yet", "got", "gonna", "wanna", "let",
];

const FR: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "est", "et", "je", "j", "vous",
    "votre", "vos", "nous", "mon", "ma", "mes", "il", "elle", "ce", "c", "ca", "qu", "que", "en",
    "au", "aux", "pour", "sur", "avec", "se", "sont", "etes", "y", "a", "svp", "stp", "puis",
    "peux", "voudrais", "veux", "m", "moi", "tu", "te", "t", "s", "ai", "as", "on", "bonjour",
    "salut", "merci", "s'il", "plait", "plaît", "voulez", "pouvez", "pourriez", "est-ce", "vais",
    "bien", "avez", "avoir", "ont",
];

const ES: &[&str] = &[
    "el", "la", "los", "las", "un", "una", "unos", "unas", "es", "son", "y", "o", "yo", "tu", "su",
    "sus", "mi", "mis", "por", "con", "del", "al", "lo", "se", "me", "te", "favor", "quiero",
    "puedo", "estan", "esta", "de", "a", "en", "que", "q", "hola", "gracias", "porfa", "porfavor",
    "usted", "ustedes", "le", "les", "nos", "hay", "he", "ha", "han", "ya", "tienen", "tiene",
    "tienes", "tengo", "tener",
];

const DE: &[&str] = &[
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
    "ist", "sind", "bin", "bist", "seid", "sein", "ich", "du", "er", "sie", "es", "wir", "ihr",
    "mir", "mich", "dir", "dich", "uns", "euch", "mein", "meine", "meinen", "meinem", "meiner",
    "dein", "deine", "euer", "eure", "euren", "eurem", "ihre", "ihren", "und", "oder", "zu", "im",
    "in", "am", "an", "auf", "fur", "mit", "von", "vom", "zum", "zur", "bei", "beim", "bitte",
    "mal", "ja", "doch", "denn", "habe", "hast", "hat", "haben", "habt", "kann", "kannst",
    "konnen", "konnt", "mochte", "mochten", "will", "willst", "wollen", "hallo", "danke", "gibt",
    "gibts", "es", "was", "man", "so", "schon", "noch", "alles", "etwas", "was", "gerne", "wurde",
    "ihnen", "hi",
];

const AR: &[&str] = &[
    "في",
    "من",
    "على",
    "إلى",
    "الى",
    "عن",
    "مع",
    "هل",
    "ما",
    "ماذا",
    "هو",
    "هي",
    "أنا",
    "انا",
    "أنت",
    "انت",
    "أنتم",
    "انتم",
    "نحن",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "يا",
    "و",
    "أو",
    "او",
    "لو",
    "لي",
    "لك",
    "لكم",
    "عند",
    "عندكم",
    "فضلك",
    "سمحت",
    "مرحبا",
    "شكرا",
    "أريد",
    "اريد",
    "ابي",
    "ابغى",
    "أبغى",
    "بدي",
    "ممكن",
    "يمكن",
    "يمكنني",
    "هناك",
    "كان",
    "يكون",
    "كل",
];

const HE: &[&str] = &[
    "של",
    "את",
    "עם",
    "אני",
    "אתה",
    "את",
    "אתם",
    "אתן",
    "אנחנו",
    "הוא",
    "היא",
    "הם",
    "הן",
    "זה",
    "זאת",
    "זו",
    "יש",
    "לי",
    "לך",
    "לכם",
    "לנו",
    "שלי",
    "שלך",
    "שלכם",
    "שלנו",
    "על",
    "אל",
    "גם",
    "או",
    "בבקשה",
    "תודה",
    "שלום",
    "היי",
    "רוצה",
    "רוצים",
    "אפשר",
    "מה",
    "האם",
    "כן",
];

const ZH: &[&str] = &[
    "的", "吗", "了", "呢", "吧", "啊", "么", "是", "我", "你", "您", "们", "他", "她", "它", "这",
    "那", "个", "请", "问", "一", "下", "嘛", "呀",
];

const IT: &[&str] = &[
    "il", "lo", "la", "i", "gli", "le", "un", "uno", "una", "di", "a", "da", "in", "con", "su",
    "per", "e", "o", "che", "mi", "ti", "ci", "vi", "si", "è", "sono", "del", "della", "io", "tu",
    "voi", "noi", "vostro", "vostra", "mio", "mia",
];

const PT: &[&str] = &[
    "o", "a", "os", "as", "um", "uma", "de", "do", "da", "dos", "das", "em", "no", "na", "por",
    "para", "com", "e", "ou", "que", "eu", "voce", "voces", "me", "te", "se", "meu", "minha",
    "seu", "sua", "é", "sao", "esta", "estao",
];

#[cfg(test)]
mod tests {
    use super::stop_words;

    #[test]
    fn every_language_of_the_table_but_japanese_has_a_list() {
        for language in ["en", "fr", "es", "de", "ar", "he", "zh"] {
            assert!(!stop_words(language).is_empty(), "{language}");
        }
        assert!(stop_words("xx").is_empty());
    }
}
