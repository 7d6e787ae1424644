// The console's own words, in English and French. The customer's and the business's
// messages are never translated: they are shown as written, with dir="auto".

export const LANGUAGES = { en: "English", fr: "Français" };

const STRINGS = {
  en: {
    skip: "Skip to the conversation",
    title: "Parley console",
    token: "Agent token",
    signIn: "Sign in",
    signOut: "Sign out",
    language: "Language",
    presence: "Presence",
    available: "Available",
    away: "Away",
    offline: "Offline",
    capacity: "Capacity",
    applyPresence: "Set presence",
    conversations: "Conversations",
    mine: "Assigned",
    waiting: "Waiting",
    pick: "Pick a conversation.",
    accept: "Accept",
    decline: "Decline",
    returnToBot: "Return to bot",
    transcript: "Transcript",
    replyKind: "Reply type",
    kindText: "Text",
    kindQuickReply: "Quick reply",
    kindListPicker: "List picker",
    kindTimePicker: "Time picker",
    message: "Message",
    choices: "Choices, one per line",
    canned: "Canned response",
    none: "None",
    attach: "Attach a file",
    send: "Send",
    transferAgent: "To agent",
    transferQueue: "Or to queue",
    transferNote: "Transfer note",
    botSummary: "The bot's summary",
    previousAgent: "Previous agent",
    transfer: "Transfer",
    wrapUp: "Wrap-up code",
    resolveNote: "Resolution note",
    resolve: "Resolve",
    supervision: "Supervision",
    queues: "Queues",
    queue: "Queue",
    waitingCount: "Waiting",
    longestWait: "Longest wait",
    agents: "Agents",
    agent: "Agent",
    load: "Load",
    sessions: "Sessions",
    revoke: "Revoke sessions of {name}",
    conversation: "Conversation {id}",
    stateNew: "new",
    stateWithBot: "with the bot",
    stateQueued: "queued",
    stateAssigned: "assigned",
    stateClosedByCustomer: "closed by the customer",
    stateResolved: "resolved",
    stateUnknown: "unknown",
    position: "position {n}",
    waited: "waiting {d}",
    timeLeft: "{d} left to answer",
    overdue: "response target passed",
    heldBy: "held by {agent}",
    factState: "State",
    factQueue: "Queue",
    factEntry: "Entry point",
    factLocale: "Locale",
    factDevice: "The device shows",
    deviceUnknown: "not known (everything is offered)",
    deviceText: "text only",
    customer: "Customer",
    bot: "Bot",
    system: "Parley",
    notification: "Notification",
    sent: "Sent",
    refused: "Refused: {why}",
    failed: "Failed: {why}",
    retrying: "Retrying",
    pending: "Sending…",
    customerTyping: "The customer is typing…",
    reasonClosed: "The customer closed the conversation: nothing can be sent until they write again.",
    reasonNotHeld: "Accept the conversation to reply.",
    reasonDevice: "The customer's device cannot show a {kind}.",
    reasonNoChoices: "Write at least one choice.",
    signedOut: "Your session ended. Sign in again.",
    refusedCommand: "Not done: {why}",
    done: "Done.",
    uploaded: "Attached {name}.",
    download: "Download {name}",
    picture: "Picture {name} from the customer",
    slotsHelp: "one per line: YYYY-MM-DD HH:MM",
  },
  fr: {
    skip: "Aller à la conversation",
    title: "Console Parley",
    token: "Jeton d’agent",
    signIn: "Se connecter",
    signOut: "Se déconnecter",
    language: "Langue",
    presence: "Présence",
    available: "Disponible",
    away: "Absent",
    offline: "Hors ligne",
    capacity: "Capacité",
    applyPresence: "Définir la présence",
    conversations: "Conversations",
    mine: "Attribuées",
    waiting: "En attente",
    pick: "Choisissez une conversation.",
    accept: "Accepter",
    decline: "Refuser",
    returnToBot: "Rendre au bot",
    transcript: "Historique",
    replyKind: "Type de réponse",
    kindText: "Texte",
    kindQuickReply: "Réponse rapide",
    kindListPicker: "Liste de choix",
    kindTimePicker: "Choix d’horaire",
    message: "Message",
    choices: "Choix, un par ligne",
    canned: "Réponse type",
    none: "Aucune",
    attach: "Joindre un fichier",
    send: "Envoyer",
    transferAgent: "À l’agent",
    transferQueue: "Ou à la file",
    transferNote: "Note de transfert",
    botSummary: "Résumé du bot",
    previousAgent: "Agent précédent",
    transfer: "Transférer",
    wrapUp: "Code de clôture",
    resolveNote: "Note de résolution",
    resolve: "Résoudre",
    supervision: "Supervision",
    queues: "Files",
    queue: "File",
    waitingCount: "En attente",
    longestWait: "Attente la plus longue",
    agents: "Agents",
    agent: "Agent",
    load: "Charge",
    sessions: "Sessions",
    revoke: "Révoquer les sessions de {name}",
    conversation: "Conversation {id}",
    stateNew: "nouvelle",
    stateWithBot: "avec le bot",
    stateQueued: "en file",
    stateAssigned: "attribuée",
    stateClosedByCustomer: "fermée par le client",
    stateResolved: "résolue",
    stateUnknown: "inconnu",
    position: "position {n}",
    waited: "attend depuis {d}",
    timeLeft: "{d} pour répondre",
    overdue: "délai de réponse dépassé",
    heldBy: "tenue par {agent}",
    factState: "État",
    factQueue: "File",
    factEntry: "Point d’entrée",
    factLocale: "Langue du client",
    factDevice: "L’appareil affiche",
    deviceUnknown: "inconnu (tout est proposé)",
    deviceText: "le texte seulement",
    customer: "Client",
    bot: "Bot",
    system: "Parley",
    notification: "Notification",
    sent: "Envoyé",
    refused: "Refusé : {why}",
    failed: "Échec : {why}",
    retrying: "Nouvel essai",
    pending: "Envoi…",
    customerTyping: "Le client écrit…",
    reasonClosed: "Le client a fermé la conversation : rien ne peut être envoyé avant qu’il écrive à nouveau.",
    reasonNotHeld: "Acceptez la conversation pour répondre.",
    reasonDevice: "L’appareil du client ne peut pas afficher : {kind}.",
    reasonNoChoices: "Écrivez au moins un choix.",
    signedOut: "Votre session a pris fin. Reconnectez-vous.",
    refusedCommand: "Non fait : {why}",
    done: "Fait.",
    uploaded: "{name} joint.",
    download: "Télécharger {name}",
    picture: "Image {name} du client",
    slotsHelp: "un par ligne : AAAA-MM-JJ HH:MM",
  },
};

let current = "en";

/// Picks the language: a saved choice, else the browser's, else English.
export function chooseLanguage(saved) {
  const wanted = [saved, ...(navigator.languages || [navigator.language])]
    .filter(Boolean)
    .map((l) => l.slice(0, 2).toLowerCase());
  current = wanted.find((l) => l in STRINGS) || "en";
  document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

/// The string `key` in the current language, with `{name}` placeholders filled.
export function t(key, values = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/// Translates every element with a `data-i18n` key.
export function translatePage() {
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
}

/// A duration in seconds, in words a person reads ("3 min 5 s").
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const format = (value, unit) =>
    new Intl.NumberFormat(current, { style: "unit", unit, unitDisplay: "narrow" }).format(value);
  if (s < 60) return format(s, "second");
  if (s < 3600) return `${format(Math.floor(s / 60), "minute")} ${format(s % 60, "second")}`;
  return `${format(Math.floor(s / 3600), "hour")} ${format(Math.floor((s % 3600) / 60), "minute")}`;
}
