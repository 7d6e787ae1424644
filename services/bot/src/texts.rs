//! The built-in fixed texts and day names, in every language the matcher understands
//! (en, fr, es, de, it, pt, ar, he, zh, ja), so a knowledge file that only writes its
//! answers still greets, apologises, offers a person and names the days in the customer's
//! language. A knowledge file's `[messages.<lang>]` overrides any of them.
//!
//! Right-to-left texts (Arabic, Hebrew) are written in logical order, as typed; nothing is
//! reordered or marked here (placeholders are isolated where they are filled in, see
//! [`crate::locale::fill`]).

use crate::knowledge::Text;

/// The languages (primary subtags) that have built-in texts.
pub const LANGUAGES: [&str; 10] = ["en", "fr", "es", "de", "it", "pt", "ar", "he", "zh", "ja"];

/// The built-in text of `language` (a primary subtag), `None` for a language without
/// built-in texts.
#[allow(clippy::too_many_lines)]
pub fn builtin(language: &str, text: Text) -> Option<&'static str> {
    use Text as T;
    let s = match (language, text) {
        ("en", T::Greeting) => "Hi! I'm the {business} assistant.",
        ("en", T::HumanHint) => "Type \"agent\" at any time to talk to a person.",
        ("en", T::Fallback) => "Sorry, I didn't understand that.",
        ("en", T::FallbackEscalate) => {
            "Sorry, I still didn't get that. Let me find a person who can help."
        }
        ("en", T::Escalating) => "I'm connecting you with a person.",
        ("en", T::Queued) => "You're in line; a person will answer shortly.",
        ("en", T::QueuedPosition) => {
            "You're number {position} in line; a person will answer shortly."
        }
        ("en", T::NoAgents) => {
            "No one is available right now; a person will answer as soon as possible."
        }
        ("en", T::OutsideHours) => "We're closed right now; a person will answer when we open.",
        ("en", T::Returned) => "I'm back. How else can I help?",
        ("en", T::MenuTitle) => "How can I help?",
        ("en", T::LocationsTitle) => "Our locations",
        ("en", T::ReplyWithNumber) => "Reply with a number.",
        ("en", T::OpenUntil) => "{location}: open now until {time}.",
        ("en", T::OpensAt) => "{location}: closed now, opens {day} at {time}.",
        ("en", T::ClosedHoliday) => {
            "{location}: closed today for a holiday, opens {day} at {time}."
        }
        ("en", T::Closed) => "{location}: closed.",
        ("en", T::HoursOn) => "{location}, {day}: {hours}.",
        ("en", T::ClosedOn) => "{location}: closed {day}.",
        ("en", T::Today) => "today",
        ("en", T::Tomorrow) => "tomorrow",
        ("en", T::Clarify) => "Sorry, I'm not sure what you mean. Is it one of these?",
        ("en", T::TalkToPerson) => "Talk to a person",
        ("en", T::NoSlots) => "There is no free time in the next days.",

        ("fr", T::Greeting) => "Bonjour ! Je suis l'assistant de {business}.",
        ("fr", T::HumanHint) => "Écrivez « agent » à tout moment pour parler à une personne.",
        ("fr", T::Fallback) => "Désolé, je n'ai pas compris.",
        ("fr", T::FallbackEscalate) => {
            "Désolé, je ne comprends toujours pas. Je vous mets en relation avec une personne."
        }
        ("fr", T::Escalating) => "Je vous mets en relation avec une personne.",
        ("fr", T::Queued) => "Vous êtes dans la file ; une personne va vous répondre.",
        ("fr", T::QueuedPosition) => {
            "Vous êtes numéro {position} dans la file ; une personne va vous répondre."
        }
        ("fr", T::NoAgents) => {
            "Personne n'est disponible pour le moment ; nous répondrons dès que possible."
        }
        ("fr", T::OutsideHours) => "Nous sommes fermés ; une personne vous répondra à l'ouverture.",
        ("fr", T::Returned) => "Me revoilà. Que puis-je faire d'autre pour vous ?",
        ("fr", T::MenuTitle) => "Comment puis-je vous aider ?",
        ("fr", T::LocationsTitle) => "Nos adresses",
        ("fr", T::ReplyWithNumber) => "Répondez avec un numéro.",
        ("fr", T::OpenUntil) => "{location} : ouvert jusqu'à {time}.",
        ("fr", T::OpensAt) => "{location} : fermé, ouvre {day} à {time}.",
        ("fr", T::ClosedHoliday) => {
            "{location} : fermé aujourd'hui (jour férié), ouvre {day} à {time}."
        }
        ("fr", T::Closed) => "{location} : fermé.",
        ("fr", T::HoursOn) => "{location}, {day} : {hours}.",
        ("fr", T::ClosedOn) => "{location} : fermé {day}.",
        ("fr", T::Today) => "aujourd'hui",
        ("fr", T::Tomorrow) => "demain",
        ("fr", T::Clarify) => {
            "Désolé, je ne suis pas sûr de comprendre. Est-ce l'un de ces sujets ?"
        }
        ("fr", T::TalkToPerson) => "Parler à une personne",
        ("fr", T::NoSlots) => "Il n'y a pas de créneau libre ces prochains jours.",

        ("es", T::Greeting) => "¡Hola! Soy el asistente de {business}.",
        ("es", T::HumanHint) => "Escribe «agent» en cualquier momento para hablar con una persona.",
        ("es", T::Fallback) => "Lo siento, no lo he entendido.",
        ("es", T::FallbackEscalate) => "Lo siento, sigo sin entenderlo. Te paso con una persona.",
        ("es", T::Escalating) => "Te paso con una persona.",
        ("es", T::Queued) => "Estás en la cola; una persona te responderá enseguida.",
        ("es", T::QueuedPosition) => {
            "Eres el número {position} en la cola; una persona te responderá enseguida."
        }
        ("es", T::NoAgents) => "No hay nadie disponible ahora; te responderemos lo antes posible.",
        ("es", T::OutsideHours) => {
            "Ahora estamos cerrados; una persona te responderá cuando abramos."
        }
        ("es", T::Returned) => "Ya estoy de vuelta. ¿En qué más puedo ayudarte?",
        ("es", T::MenuTitle) => "¿En qué puedo ayudarte?",
        ("es", T::LocationsTitle) => "Nuestras tiendas",
        ("es", T::ReplyWithNumber) => "Responde con un número.",
        ("es", T::OpenUntil) => "{location}: abierto hasta las {time}.",
        ("es", T::OpensAt) => "{location}: cerrado, abre {day} a las {time}.",
        ("es", T::ClosedHoliday) => "{location}: cerrado hoy por festivo, abre {day} a las {time}.",
        ("es", T::Closed) => "{location}: cerrado.",
        ("es", T::HoursOn) => "{location}, {day}: {hours}.",
        ("es", T::ClosedOn) => "{location}: cerrado ({day}).",
        ("es", T::Today) => "hoy",
        ("es", T::Tomorrow) => "mañana",
        ("es", T::Clarify) => "Perdona, no estoy seguro de entenderte. ¿Es uno de estos temas?",
        ("es", T::TalkToPerson) => "Hablar con una persona",
        ("es", T::NoSlots) => "No hay horas libres en los próximos días.",

        ("de", T::Greeting) => "Hallo! Ich bin der Assistent von {business}.",
        ("de", T::HumanHint) => "Schreiben Sie jederzeit „agent“, um mit einer Person zu sprechen.",
        ("de", T::Fallback) => "Entschuldigung, das habe ich nicht verstanden.",
        ("de", T::FallbackEscalate) => {
            "Entschuldigung, das verstehe ich immer noch nicht. Ich verbinde Sie mit einer Person."
        }
        ("de", T::Escalating) => "Ich verbinde Sie mit einer Person.",
        ("de", T::Queued) => "Sie sind in der Warteschlange; gleich antwortet Ihnen eine Person.",
        ("de", T::QueuedPosition) => {
            "Sie sind Nummer {position} in der Warteschlange; gleich antwortet Ihnen eine Person."
        }
        ("de", T::NoAgents) => {
            "Gerade ist niemand erreichbar; wir antworten Ihnen so bald wie möglich."
        }
        ("de", T::OutsideHours) => {
            "Wir haben gerade geschlossen; eine Person antwortet Ihnen, sobald wir öffnen."
        }
        ("de", T::Returned) => "Da bin ich wieder. Wie kann ich sonst helfen?",
        ("de", T::MenuTitle) => "Wie kann ich helfen?",
        ("de", T::LocationsTitle) => "Unsere Filialen",
        ("de", T::ReplyWithNumber) => "Antworten Sie mit einer Nummer.",
        ("de", T::OpenUntil) => "{location}: jetzt geöffnet bis {time}.",
        ("de", T::OpensAt) => "{location}: jetzt geschlossen, öffnet {day} um {time}.",
        ("de", T::ClosedHoliday) => {
            "{location}: heute feiertags geschlossen, öffnet {day} um {time}."
        }
        ("de", T::Closed) => "{location}: geschlossen.",
        ("de", T::HoursOn) => "{location}, {day}: {hours}.",
        ("de", T::ClosedOn) => "{location}: {day} geschlossen.",
        ("de", T::Today) => "heute",
        ("de", T::Tomorrow) => "morgen",
        ("de", T::Clarify) => {
            "Entschuldigung, ich bin nicht sicher, was Sie meinen. Ist es eines davon?"
        }
        ("de", T::TalkToPerson) => "Mit einer Person sprechen",
        ("de", T::NoSlots) => "In den nächsten Tagen ist kein Termin frei.",

        ("it", T::Greeting) => "Ciao! Sono l'assistente di {business}.",
        ("it", T::HumanHint) => "Scrivi «agent» in qualsiasi momento per parlare con una persona.",
        ("it", T::Fallback) => "Scusa, non ho capito.",
        ("it", T::FallbackEscalate) => "Scusa, continuo a non capire. Ti passo una persona.",
        ("it", T::Escalating) => "Ti metto in contatto con una persona.",
        ("it", T::Queued) => "Sei in coda; una persona ti risponderà a breve.",
        ("it", T::QueuedPosition) => {
            "Sei il numero {position} in coda; una persona ti risponderà a breve."
        }
        ("it", T::NoAgents) => {
            "Al momento nessuno è disponibile; ti risponderemo appena possibile."
        }
        ("it", T::OutsideHours) => "Ora siamo chiusi; una persona ti risponderà all'apertura.",
        ("it", T::Returned) => "Eccomi di nuovo. Come posso aiutarti ancora?",
        ("it", T::MenuTitle) => "Come posso aiutarti?",
        ("it", T::LocationsTitle) => "I nostri negozi",
        ("it", T::ReplyWithNumber) => "Rispondi con un numero.",
        ("it", T::OpenUntil) => "{location}: aperto ora fino alle {time}.",
        ("it", T::OpensAt) => "{location}: chiuso ora, apre {day} alle {time}.",
        ("it", T::ClosedHoliday) => {
            "{location}: chiuso oggi per festività, apre {day} alle {time}."
        }
        ("it", T::Closed) => "{location}: chiuso.",
        ("it", T::HoursOn) => "{location}, {day}: {hours}.",
        ("it", T::ClosedOn) => "{location}: chiuso {day}.",
        ("it", T::Today) => "oggi",
        ("it", T::Tomorrow) => "domani",
        ("it", T::Clarify) => "Scusa, non sono sicuro di aver capito. È uno di questi?",
        ("it", T::TalkToPerson) => "Parla con una persona",
        ("it", T::NoSlots) => "Non ci sono orari liberi nei prossimi giorni.",

        ("pt", T::Greeting) => "Olá! Sou o assistente da {business}.",
        ("pt", T::HumanHint) => "Escreva \"agent\" a qualquer momento para falar com uma pessoa.",
        ("pt", T::Fallback) => "Desculpe, não entendi.",
        ("pt", T::FallbackEscalate) => {
            "Desculpe, continuo sem entender. Vou chamar uma pessoa para ajudar."
        }
        ("pt", T::Escalating) => "Vou conectar você com uma pessoa.",
        ("pt", T::Queued) => "Você está na fila; uma pessoa responderá em breve.",
        ("pt", T::QueuedPosition) => {
            "Você é o número {position} na fila; uma pessoa responderá em breve."
        }
        ("pt", T::NoAgents) => {
            "Ninguém está disponível agora; uma pessoa responderá assim que possível."
        }
        ("pt", T::OutsideHours) => "Estamos fechados agora; uma pessoa responderá quando abrirmos.",
        ("pt", T::Returned) => "Voltei. Como mais posso ajudar?",
        ("pt", T::MenuTitle) => "Como posso ajudar?",
        ("pt", T::LocationsTitle) => "Nossas lojas",
        ("pt", T::ReplyWithNumber) => "Responda com um número.",
        ("pt", T::OpenUntil) => "{location}: aberto agora até {time}.",
        ("pt", T::OpensAt) => "{location}: fechado agora, abre {day} às {time}.",
        ("pt", T::ClosedHoliday) => "{location}: fechado hoje (feriado), abre {day} às {time}.",
        ("pt", T::Closed) => "{location}: fechado.",
        ("pt", T::HoursOn) => "{location}, {day}: {hours}.",
        ("pt", T::ClosedOn) => "{location}: fechado {day}.",
        ("pt", T::Today) => "hoje",
        ("pt", T::Tomorrow) => "amanhã",
        ("pt", T::Clarify) => "Desculpe, não tenho certeza do que quis dizer. É um destes?",
        ("pt", T::TalkToPerson) => "Falar com uma pessoa",
        ("pt", T::NoSlots) => "Não há horários livres nos próximos dias.",

        ("ar", T::Greeting) => "مرحبًا! أنا مساعد {business}.",
        ("ar", T::HumanHint) => "اكتب \"agent\" في أي وقت للتحدث مع شخص.",
        ("ar", T::Fallback) => "عذرًا، لم أفهم ذلك.",
        ("ar", T::FallbackEscalate) => "عذرًا، ما زلت لم أفهم. سأبحث عن شخص يمكنه المساعدة.",
        ("ar", T::Escalating) => "سأوصلك بشخص الآن.",
        ("ar", T::Queued) => "أنت في قائمة الانتظار؛ سيرد عليك شخص قريبًا.",
        ("ar", T::QueuedPosition) => "رقمك {position} في قائمة الانتظار؛ سيرد عليك شخص قريبًا.",
        ("ar", T::NoAgents) => "لا يوجد أحد متاح الآن؛ سيرد عليك شخص في أقرب وقت ممكن.",
        ("ar", T::OutsideHours) => "نحن مغلقون الآن؛ سيرد عليك شخص عندما نفتح.",
        ("ar", T::Returned) => "لقد عدت. كيف يمكنني مساعدتك أيضًا؟",
        ("ar", T::MenuTitle) => "كيف يمكنني مساعدتك؟",
        ("ar", T::LocationsTitle) => "فروعنا",
        ("ar", T::ReplyWithNumber) => "أجب برقم.",
        ("ar", T::OpenUntil) => "{location}: مفتوح الآن حتى {time}.",
        ("ar", T::OpensAt) => "{location}: مغلق الآن، يفتح {day} الساعة {time}.",
        ("ar", T::ClosedHoliday) => "{location}: مغلق اليوم لعطلة، يفتح {day} الساعة {time}.",
        ("ar", T::Closed) => "{location}: مغلق.",
        ("ar", T::HoursOn) => "{location}، {day}: {hours}.",
        ("ar", T::ClosedOn) => "{location}: مغلق ({day}).",
        ("ar", T::Today) => "اليوم",
        ("ar", T::Tomorrow) => "غدًا",
        ("ar", T::Clarify) => "عذرًا، لست متأكدًا مما تقصده. هل هو أحد هذه؟",
        ("ar", T::TalkToPerson) => "التحدث مع شخص",
        ("ar", T::NoSlots) => "لا توجد مواعيد متاحة في الأيام القادمة.",

        ("he", T::Greeting) => "שלום! אני העוזר של {business}.",
        ("he", T::HumanHint) => "אפשר לכתוב \"agent\" בכל רגע כדי לדבר עם נציג.",
        ("he", T::Fallback) => "סליחה, לא הבנתי.",
        ("he", T::FallbackEscalate) => "סליחה, עדיין לא הבנתי. אעביר אותך לנציג שיוכל לעזור.",
        ("he", T::Escalating) => "אני מעביר אותך לנציג.",
        ("he", T::Queued) => "את/ה בתור; נציג יענה בקרוב.",
        ("he", T::QueuedPosition) => "את/ה מספר {position} בתור; נציג יענה בקרוב.",
        ("he", T::NoAgents) => "אין כרגע נציג פנוי; נענה בהקדם האפשרי.",
        ("he", T::OutsideHours) => "אנחנו סגורים כרגע; נציג יענה כשנפתח.",
        ("he", T::Returned) => "חזרתי. במה עוד אפשר לעזור?",
        ("he", T::MenuTitle) => "במה אפשר לעזור?",
        ("he", T::LocationsTitle) => "הסניפים שלנו",
        ("he", T::ReplyWithNumber) => "השיבו במספר.",
        ("he", T::OpenUntil) => "{location}: פתוח עכשיו עד {time}.",
        ("he", T::OpensAt) => "{location}: סגור עכשיו, נפתח {day} ב-{time}.",
        ("he", T::ClosedHoliday) => "{location}: סגור היום בגלל חג, נפתח {day} ב-{time}.",
        ("he", T::Closed) => "{location}: סגור.",
        ("he", T::HoursOn) => "{location}, {day}: {hours}.",
        ("he", T::ClosedOn) => "{location}: סגור {day}.",
        ("he", T::Today) => "היום",
        ("he", T::Tomorrow) => "מחר",
        ("he", T::Clarify) => "סליחה, אני לא בטוח שהבנתי. האם זה אחד מאלה?",
        ("he", T::TalkToPerson) => "לדבר עם נציג",
        ("he", T::NoSlots) => "אין זמנים פנויים בימים הקרובים.",

        ("zh", T::Greeting) => "您好！我是{business}的助手。",
        ("zh", T::HumanHint) => "随时输入“agent”即可联系人工客服。",
        ("zh", T::Fallback) => "抱歉，我没有理解。",
        ("zh", T::FallbackEscalate) => "抱歉，我还是没有理解。我来为您转接人工客服。",
        ("zh", T::Escalating) => "正在为您转接人工客服。",
        ("zh", T::Queued) => "您正在排队，客服很快会回复您。",
        ("zh", T::QueuedPosition) => "您排在第{position}位，客服很快会回复您。",
        ("zh", T::NoAgents) => "目前没有客服在线，我们会尽快回复您。",
        ("zh", T::OutsideHours) => "我们现在不营业，开门后会有客服回复您。",
        ("zh", T::Returned) => "我回来了。还有什么可以帮您？",
        ("zh", T::MenuTitle) => "有什么可以帮您？",
        ("zh", T::LocationsTitle) => "我们的门店",
        ("zh", T::ReplyWithNumber) => "请回复数字。",
        ("zh", T::OpenUntil) => "{location}：正在营业，营业至{time}。",
        ("zh", T::OpensAt) => "{location}：现在休息，{day}{time}开门。",
        ("zh", T::ClosedHoliday) => "{location}：今天节假日休息，{day}{time}开门。",
        ("zh", T::Closed) => "{location}：休息。",
        ("zh", T::HoursOn) => "{location}，{day}：{hours}。",
        ("zh", T::ClosedOn) => "{location}：{day}休息。",
        ("zh", T::Today) => "今天",
        ("zh", T::Tomorrow) => "明天",
        ("zh", T::Clarify) => "抱歉，我不太确定您的意思。是以下其中之一吗？",
        ("zh", T::TalkToPerson) => "联系人工客服",
        ("zh", T::NoSlots) => "未来几天没有空闲时间。",

        ("ja", T::Greeting) => "こんにちは！{business}のアシスタントです。",
        ("ja", T::HumanHint) => "担当者と話すには、いつでも「agent」と入力してください。",
        ("ja", T::Fallback) => "申し訳ありません、よく分かりませんでした。",
        ("ja", T::FallbackEscalate) => {
            "申し訳ありません、まだ分かりません。担当者におつなぎします。"
        }
        ("ja", T::Escalating) => "担当者におつなぎします。",
        ("ja", T::Queued) => "順番待ちです。まもなく担当者がお答えします。",
        ("ja", T::QueuedPosition) => "{position}番目にお待ちです。まもなく担当者がお答えします。",
        ("ja", T::NoAgents) => "ただいま対応できる担当者がいません。できるだけ早くお答えします。",
        ("ja", T::OutsideHours) => "ただいま営業時間外です。営業開始後に担当者がお答えします。",
        ("ja", T::Returned) => "戻りました。ほかに何かお手伝いできますか？",
        ("ja", T::MenuTitle) => "ご用件をお選びください",
        ("ja", T::LocationsTitle) => "店舗一覧",
        ("ja", T::ReplyWithNumber) => "番号でお答えください。",
        ("ja", T::OpenUntil) => "{location}：営業中、{time}まで。",
        ("ja", T::OpensAt) => "{location}：ただいま閉店中、{day}{time}に開店します。",
        ("ja", T::ClosedHoliday) => "{location}：本日は休業日です。{day}{time}に開店します。",
        ("ja", T::Closed) => "{location}：休業。",
        ("ja", T::HoursOn) => "{location}、{day}：{hours}。",
        ("ja", T::ClosedOn) => "{location}：{day}は休業です。",
        ("ja", T::Today) => "今日",
        ("ja", T::Tomorrow) => "明日",
        ("ja", T::Clarify) => "申し訳ありません、ご質問がよく分かりません。次のどれかですか？",
        ("ja", T::TalkToPerson) => "担当者と話す",
        ("ja", T::NoSlots) => "この先数日間、空き時間はありません。",

        // The message when an agent takes over is empty unless a file writes one (English
        // only: a file's own text in its default language is not replaced by an empty one).
        ("en", T::Assigned) => "",
        _ => return None,
    };
    Some(s)
}

/// The built-in names of the days of the week in `language`, Monday first.
pub fn builtin_days(language: &str) -> Option<[&'static str; 7]> {
    Some(match language {
        "en" => [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ],
        "fr" => [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ],
        "es" => [
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
        ],
        "de" => [
            "Montag",
            "Dienstag",
            "Mittwoch",
            "Donnerstag",
            "Freitag",
            "Samstag",
            "Sonntag",
        ],
        "it" => [
            "lunedì",
            "martedì",
            "mercoledì",
            "giovedì",
            "venerdì",
            "sabato",
            "domenica",
        ],
        "pt" => [
            "segunda-feira",
            "terça-feira",
            "quarta-feira",
            "quinta-feira",
            "sexta-feira",
            "sábado",
            "domingo",
        ],
        "ar" => [
            "الاثنين",
            "الثلاثاء",
            "الأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
        ],
        "he" => [
            "יום שני",
            "יום שלישי",
            "יום רביעי",
            "יום חמישי",
            "יום שישי",
            "שבת",
            "יום ראשון",
        ],
        "zh" => [
            "星期一",
            "星期二",
            "星期三",
            "星期四",
            "星期五",
            "星期六",
            "星期日",
        ],
        "ja" => [
            "月曜日",
            "火曜日",
            "水曜日",
            "木曜日",
            "金曜日",
            "土曜日",
            "日曜日",
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Text; 25] = [
        Text::Greeting,
        Text::HumanHint,
        Text::Fallback,
        Text::FallbackEscalate,
        Text::Escalating,
        Text::Queued,
        Text::QueuedPosition,
        Text::NoAgents,
        Text::OutsideHours,
        Text::Assigned,
        Text::Returned,
        Text::MenuTitle,
        Text::LocationsTitle,
        Text::ReplyWithNumber,
        Text::OpenUntil,
        Text::OpensAt,
        Text::ClosedHoliday,
        Text::Closed,
        Text::HoursOn,
        Text::ClosedOn,
        Text::Today,
        Text::Tomorrow,
        Text::Clarify,
        Text::TalkToPerson,
        Text::NoSlots,
    ];

    #[test]
    fn every_language_has_every_text_with_the_same_placeholders() {
        for language in LANGUAGES {
            assert!(builtin_days(language).is_some(), "{language}: days");
            for text in ALL {
                if text == Text::Assigned && language != "en" {
                    assert_eq!(builtin(language, text), None, "{language}");
                    continue;
                }
                let Some(s) = builtin(language, text) else {
                    panic!("{language}: {text:?} is missing");
                };
                let Some(en) = builtin("en", text) else {
                    panic!("en: {text:?} is missing");
                };
                for placeholder in [
                    "{business}",
                    "{position}",
                    "{location}",
                    "{time}",
                    "{day}",
                    "{hours}",
                ] {
                    assert_eq!(
                        s.contains(placeholder),
                        en.contains(placeholder),
                        "{language}: {text:?}: {placeholder}"
                    );
                }
                if text != Text::Assigned {
                    assert!(!s.trim().is_empty(), "{language}: {text:?} is empty");
                }
            }
        }
        assert_eq!(builtin("xx", Text::Greeting), None);
        assert_eq!(builtin("xx", Text::Assigned), None);
    }
}
