//! Synonyms per language, shipped with Parley: each group is a set of words (or short
//! phrases) a customer uses for one thing, the first being the one it is replaced with. They
//! apply to the knowledge file's phrases and to customers' sentences alike (after folding and
//! stemming), so whichever word of a group the business wrote, any other matches it.
//! A knowledge file adds its own groups (`[synonyms] en = [["latte", "coffee"]]`); a word in
//! both is the file's.
//!
//! Groups are written as people type the words; they are folded and stemmed with the
//! language's stemmer when a matcher is built. A group with Chinese or Japanese words
//! replaces text before it is cut into bigrams (`無線LAN` → `wifi`, `wifi` → `无线网`).

/// The shipped groups of a language (its primary subtag).
pub fn shipped(language: &str) -> &'static [&'static [&'static str]] {
    match language {
        "en" => EN,
        "fr" => FR,
        "es" => ES,
        "de" => DE,
        "ar" => AR,
        "he" | "iw" => HE,
        "zh" => ZH,
        "ja" => JA,
        _ => &[],
    }
}

const EN: &[&[&str]] = &[
    &["what", "whats", "wat", "wht"],
    &["where", "wheres", "whr"],
    &["when", "wen"],
    &["you", "ya", "yall"],
    &["tomorrow", "tmrw", "tmr", "tomoz", "2morrow"],
    &["today", "2day", "tonight"],
    &["close", "shut", "closing"],
    &["open", "opening"],
    &["hours", "hrs", "schedule", "timetable"],
    &["closest", "nearest", "nearby"],
    &["store", "shop", "branch", "outlet", "cafe"],
    &["address", "addy", "directions"],
    &["price", "cost", "how much", "pricing", "expensive"],
    &["food", "eat", "snack", "meal", "dish", "bite"],
    &["drink", "beverage"],
    &[
        "refund",
        "money back",
        "reimburse",
        "reimbursement",
        "chargeback",
    ],
    &["return", "send back", "bring back", "take back"],
    &[
        "broken",
        "damaged",
        "cracked",
        "chipped",
        "defective",
        "faulty",
        "smashed",
    ],
    &["order", "package", "parcel", "shipment", "purchase"],
    &["delivery", "shipping"],
    &["wifi", "wi fi", "wlan", "wireless", "internet"],
    &["password", "passcode", "pw", "pwd"],
    &[
        "person",
        "human",
        "someone",
        "somebody",
        "agent",
        "representative",
        "rep",
        "staff",
        "employee",
        "operator",
        "human being",
    ],
    &["talk", "speak", "chat"],
    &["book", "reserve", "reservation", "booking"],
    &["vegan", "plant based"],
    &["bean", "whole bean"],
];

const FR: &[&[&str]] = &[
    &[
        "ouvrir",
        "ouvert",
        "ouverte",
        "ouverts",
        "ouvrez",
        "ouvrent",
        "ouverture",
        "ouvre",
    ],
    &["fermer", "fermez", "fermeture", "ferme", "fermé", "ferment"],
    &["horaire", "heures"],
    &["aujourd'hui", "aujourdhui", "auj", "ce soir"],
    &["quoi", "koi"],
    &[
        "magasin",
        "boutique",
        "succursale",
        "enseigne",
        "café",
        "shop",
    ],
    &["adresse", "emplacement", "localisation"],
    &["proche", "près", "plus proche"],
    &["prix", "combien", "coûte", "tarif", "tarifs"],
    &[
        "manger",
        "nourriture",
        "plats",
        "repas",
        "snack",
        "snacks",
        "carte",
    ],
    &["végétalien", "végan", "vegan", "végane"],
    &["remboursement", "rembourser", "remboursé", "mon argent"],
    &["retourner", "renvoyer", "retour", "rendre", "rapporter"],
    &["cassé", "abîmé", "endommagé", "fissuré", "ébréché", "fêlé"],
    &["commande", "colis", "paquet", "achat"],
    &["livraison", "livrer", "expédition"],
    &["wifi", "wi fi", "internet"],
    &["mot de passe", "mdp", "code"],
    &[
        "personne",
        "humain",
        "conseiller",
        "conseillère",
        "quelqu'un",
        "agent",
        "vrai humain",
        "opérateur",
    ],
    &["parler", "discuter"],
    &["réserver", "réservation", "booker"],
    &["dégustation", "déguster"],
];

const ES: &[&[&str]] = &[
    &[
        "abrir", "abren", "abierto", "abiertos", "abris", "abre", "apertura",
    ],
    &[
        "cerrar", "cierran", "cierra", "cerrado", "cerrados", "cierre",
    ],
    &["horario", "horarios", "hora"],
    &["que", "q", "k"],
    &["donde", "dnd", "onde"],
    &["tienda", "local", "sucursal", "negocio", "cafeteria"],
    &["dirección", "ubicación", "ubicados", "ubicado", "ubicada"],
    &["cerca", "cercana", "cercano", "próxima"],
    &["precio", "cuesta", "cuánto", "vale", "costo"],
    &["comida", "comer", "platos", "carta"],
    &["reembolso", "reembolsar", "mi dinero"],
    &["devolver", "devolución", "devuelvo", "regresar", "retornar"],
    &[
        "roto",
        "rota",
        "dañado",
        "dañada",
        "estropeado",
        "defectuoso",
    ],
    &["pedido", "orden", "paquete", "compra"],
    &["envío", "entrega", "enviar"],
    &["wifi", "wi fi", "internet"],
    &["contraseña", "clave", "password"],
    &[
        "persona",
        "humano",
        "asesor",
        "agente",
        "alguien",
        "representante",
        "operador",
    ],
    &["hablar", "pásame", "pasame", "comunicar"],
    &["reservar", "reserva", "reservación", "apartar"],
    &["cata", "degustación"],
];

const DE: &[&[&str]] = &[
    &[
        "öffnen",
        "geöffnet",
        "offen",
        "öffnet",
        "aufmachen",
        "öffnungszeiten",
        "geschäftszeiten",
    ],
    &[
        "schließen",
        "geschlossen",
        "schließt",
        "zumachen",
        "schluss",
    ],
    &["filiale", "laden", "geschäft", "standort", "shop", "café"],
    &["adresse", "anschrift"],
    &["nächste", "nähe", "nahe"],
    &[
        "essen",
        "speisen",
        "speisekarte",
        "karte",
        "gerichte",
        "snacks",
    ],
    &["preis", "kostet", "kosten", "wie viel", "wieviel", "teuer"],
    &[
        "zurückgeben",
        "zurücksenden",
        "retoure",
        "rückgabe",
        "zurückschicken",
    ],
    &["erstattung", "rückerstattung", "erstatten", "geld zurück"],
    &["kaputt", "beschädigt", "zerbrochen", "defekt", "gesprungen"],
    &["bestellung", "paket", "sendung", "bestellt"],
    &["lieferung", "versand", "zustellung", "liefern", "geliefert"],
    &["wlan", "wifi", "wi fi", "internet"],
    &["passwort", "kennwort", "code"],
    &[
        "mensch",
        "person",
        "mitarbeiter",
        "jemand",
        "berater",
        "kundendienst",
        "agent",
    ],
    &["sprechen", "reden", "chatten"],
    &["buchen", "reservieren", "reservierung", "buchung"],
    &["verkostung", "tasting", "kaffeeprobe"],
    &["bohnen", "kaffeebohnen"],
];

const AR: &[&[&str]] = &[
    &[
        "تفتحون",
        "تفتح",
        "يفتح",
        "مفتوح",
        "مفتوحين",
        "مفتوحون",
        "فتح",
        "تفتحوا",
    ],
    &["تغلقون", "تغلق", "يغلق", "مغلق", "اغلاق", "تسكرون", "تقفلون"],
    &["ساعات", "مواعيد", "أوقات", "دوام"],
    &["أين", "وين", "فين"],
    &["متجر", "محل", "فرع", "فروع", "متاجر", "محلات", "دكان"],
    &["عنوان", "موقع", "مكان"],
    &["طعام", "أكل", "وجبات", "قائمة", "منيو"],
    &["سعر", "أسعار", "بكم", "تكلفة"],
    &["إرجاع", "أرجع", "استرجاع", "إعادة", "ارجاع"],
    &["استرداد", "فلوسي", "أموالي"],
    &["مكسور", "تالف", "معطوب", "مكسورة"],
    &["طلب", "طلبي", "طلبية", "شحنة", "الطرد"],
    &["واي فاي", "وايفاي", "wifi", "انترنت", "الإنترنت"],
    &["كلمة سر", "كلمة المرور", "باسورد", "رمز"],
    &["شخص", "موظف", "إنسان", "بشري", "مندوب", "خدمة العملاء"],
    &["التحدث", "أكلم", "أتكلم", "تحدث", "كلم"],
    &["حجز", "أحجز", "موعد"],
    &["تذوق", "تجربة"],
    &["حبوب", "بن"],
];

const HE: &[&[&str]] = &[
    &[
        "פתוח",
        "פתוחים",
        "פותחים",
        "נפתח",
        "פתיחה",
        "פותחת",
        "פתוחה",
    ],
    &["סגור", "סוגרים", "נסגר", "סגירה", "סוגרת"],
    &["איפה", "היכן"],
    &["חנות", "חנויות", "סניף", "סניפים"],
    &["כתובת", "מיקום", "ממוקמים", "נמצאים"],
    &["תפריט", "אוכל", "לאכול", "מנות"],
    &["מחיר", "מחירים", "עולה", "כמה עולה"],
    &["טבעוני", "טבעונית", "טבעוניות", "טבעוניים", "vegan"],
    &["להחזיר", "החזרה", "החזרות"],
    &["החזר כספי", "זיכוי", "כסף בחזרה", "החזר"],
    &["שבור", "שבורה", "פגום", "נשבר"],
    &["הזמנה", "ההזמנה", "משלוח", "חבילה"],
    &["וויפי", "ויפי", "wifi", "אינטרנט", "וויי פיי"],
    &["סיסמה", "סיסמא", "קוד"],
    &["נציג", "אדם", "בן אדם", "מישהו", "נציגה", "שירות לקוחות"],
    &["לדבר", "לשוחח"],
    &["טעימה", "טעימות"],
    &["פולי קפה", "פולים"],
];

const ZH: &[&[&str]] = &[
    &["关门", "打烊", "关店"],
    &["店", "门店", "分店", "店铺", "商店"],
    &["地址", "位置"],
    &["菜单", "吃的", "食物", "餐点", "食品"],
    &["价格", "多少钱", "价钱", "售价"],
    &["素食", "纯素", "全素"],
    &["退货", "退回", "退换"],
    &["退款", "退钱"],
    &["订单", "快递", "包裹"],
    &["密码", "口令"],
    &["无线网", "无线网络", "wifi", "wi fi", "wlan"],
    &["人工", "客服", "真人", "人工客服", "工作人员"],
    &["预约", "预订", "预定", "订位"],
    &["品鉴", "品尝", "试喝"],
    &["星期日", "周日", "礼拜天", "星期天"],
    &["星期六", "周六", "礼拜六"],
];

const JA: &[&[&str]] = &[
    &["店", "お店", "店舗", "ショップ"],
    &["住所", "所在地", "場所"],
    &["値段", "いくら", "価格", "料金"],
    &["ビーガン", "ヴィーガン", "菜食"],
    &["返品", "返却"],
    &["返金", "払い戻し"],
    &["注文", "オーダー", "荷物"],
    &["パスワード", "暗証番号"],
    &["wifi", "無線lan", "ワイファイ", "wi fi"],
    &["担当者", "スタッフ", "オペレーター", "有人"],
    &["予約", "リザーブ"],
    &["試飲", "テイスティング"],
];

#[cfg(test)]
mod tests {
    use super::shipped;

    #[test]
    fn every_language_of_the_table_has_groups_of_two_or_more() {
        for language in ["en", "fr", "es", "de", "ar", "he", "zh", "ja"] {
            let groups = shipped(language);
            assert!(!groups.is_empty(), "{language}");
            assert!(groups.iter().all(|g| g.len() >= 2), "{language}");
        }
    }
}
