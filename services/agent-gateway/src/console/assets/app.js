// The Parley agent console: one page over the gateway's JSON API and its event stream.
// Everything a customer or an agent wrote is put in the page as text (textContent), never
// as HTML, and shown with dir="auto" so right-to-left scripts read right.

import { LANGUAGES, chooseLanguage, duration, language, t, translatePage } from "./i18n.js";

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  csrf: "",
  conversations: [],
  selected: null,
  detail: null,
  offers: new Map(), // ref -> the assignment event (response target, summary, transfer note)
  typingTimer: null,
  typingSent: false,
  attachment: null,
  events: null,
  canned: [],
  agents: [],
  // Conversations this page accepted (routing assigns straight from the queue when an
  // agent is free; Accept then acknowledges the assignment, and routing ignores a repeat).
  accepted: new Set(JSON.parse(sessionStorage.getItem("parley-accepted") || "[]")),
};

// ---- HTTP -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body, extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 401) {
    signedOut();
    throw new ApiError(401, t("signedOut"));
  }
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error || message;
    } catch (_) {
      // not JSON
    }
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return null;
  return response.json();
}

let commandCounter = 0;
function commandId() {
  commandCounter += 1;
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `console-${Date.now()}-${random[0].toString(16)}${random[1].toString(16)}-${commandCounter}`;
}

async function command(body) {
  try {
    await api("POST", "/api/commands", { command_id: commandId(), command: body });
    say(t("done"));
    return true;
  } catch (error) {
    say(t("refusedCommand", { why: error.message }));
    return false;
  }
}

function say(text) {
  $("status").textContent = text;
}

// ---- Sign-in ----------------------------------------------------------------------------

function fillLanguages() {
  for (const select of document.querySelectorAll(".language")) {
    select.replaceChildren(
      ...Object.entries(LANGUAGES).map(([code, name]) => {
        const option = new Option(name, code);
        option.lang = code;
        return option;
      }),
    );
    select.value = language();
    select.addEventListener("change", () => {
      localStorage.setItem("parley-language", select.value);
      chooseLanguage(select.value);
      for (const other of document.querySelectorAll(".language")) other.value = select.value;
      translatePage();
      render();
    });
  }
}

function signedOut() {
  state.me = null;
  state.csrf = "";
  if (state.events) state.events.close();
  state.events = null;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const me = await api("POST", "/api/session", { token: $("token").value });
    $("token").value = "";
    await start(me);
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
}

async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } catch (_) {
    // the session is gone either way
  }
  signedOut();
}

async function start(me) {
  state.me = me;
  state.csrf = me.csrf_token;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").textContent = me.display_name;
  $("capacity").max = String(me.max_capacity);
  $("capacity").value = String(Math.min(1, me.max_capacity));
  $("supervisor").hidden = !me.supervisor;
  try {
    state.canned = (await api("GET", "/api/canned")).responses;
  } catch (_) {
    state.canned = [];
  }
  $("canned").replaceChildren(
    new Option(t("none"), ""),
    ...state.canned.map((c) => new Option(c.title, c.id)),
  );
  listen();
}

// ---- Live events ------------------------------------------------------------------------

// The stream starts at "latest" and everything shown is read again once it is open, so
// nothing that happened before or while (re)connecting is missed; the browser's own
// reconnects resume after the last event id (the agent's log cursor).
function listen() {
  if (state.events) state.events.close();
  const events = new EventSource("/api/events?after=latest");
  state.events = events;
  events.addEventListener("welcome", () => refreshAll());
  for (const name of ["assignment", "unassigned", "message", "delivery", "conversation"]) {
    events.addEventListener(name, (e) => onEvent(name, JSON.parse(e.data)));
  }
  events.addEventListener("customer_typing", (e) => {
    const data = JSON.parse(e.data);
    if (data.ref === state.selected) showTyping(data.active);
  });
  events.addEventListener("signed_out", () => {
    events.close();
    signedOut();
    $("signin-error").textContent = t("signedOut");
  });
}

function onEvent(name, data) {
  if (name === "assignment") state.offers.set(data.ref, data);
  if (name === "message" && data.ref === state.selected) showTyping(false);
  refreshList();
  if (data.ref && data.ref === state.selected) refreshConversation();
  if (!data.ref && state.selected) refreshConversation();
}

let listTimer = null;
async function refreshAll() {
  await refreshList();
  if (state.selected) await refreshConversation();
  clearInterval(listTimer);
  // Waiting times and places move without events: read them again every few seconds.
  listTimer = setInterval(() => {
    if (state.me) refreshList();
  }, 5000);
}

async function refreshList() {
  try {
    state.conversations = (await api("GET", "/api/conversations")).conversations;
    if (state.me.supervisor) await refreshSupervisor();
  } catch (_) {
    return;
  }
  renderList();
}

// ---- The list ---------------------------------------------------------------------------

function stateWord(s) {
  const key = {
    new: "stateNew",
    with_bot: "stateWithBot",
    queued: "stateQueued",
    assigned: "stateAssigned",
    closed_by_customer: "stateClosedByCustomer",
    resolved: "stateResolved",
  }[s];
  return t(key || "stateUnknown");
}

function shortName(ref) {
  return t("conversation", { id: ref.slice(0, 6) });
}

function renderList() {
  const mine = [];
  const waiting = [];
  for (const c of state.conversations) {
    const parts = [shortName(c.ref), stateWord(c.state)];
    if (c.assigned_agent_id && c.assigned_agent_id !== state.me.agent_id) {
      parts.push(t("heldBy", { agent: agentName(c.assigned_agent_id) }));
    }
    if (c.position) parts.push(t("position", { n: c.position }));
    if (c.waited_seconds) parts.push(t("waited", { d: duration(c.waited_seconds) }));
    // The time left to the queue's response target: for a waiting conversation from the
    // list, for an offer from the offer.
    const offer = state.offers.get(c.ref);
    let left = null;
    if (!c.assigned_agent_id && c.response_target_seconds) {
      left = c.response_target_seconds - c.waited_seconds;
    } else if (offer && offer.response_target_seconds && c.state !== "assigned") {
      left = offer.response_target_seconds - (offer.waited_seconds || 0) -
        (Date.now() - offer.at) / 1000;
    }
    if (left !== null) parts.push(left > 0 ? t("timeLeft", { d: duration(left) }) : t("overdue"));
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = parts.join(" · ");
    button.setAttribute("aria-current", c.ref === state.selected ? "true" : "false");
    button.addEventListener("click", () => select(c.ref));
    const item = document.createElement("li");
    item.append(button);
    (c.assigned_agent_id ? mine : waiting).push(item);
  }
  $("mine").replaceChildren(...mine);
  $("waiting").replaceChildren(...waiting);
}

function agentName(id) {
  return state.agents.find((a) => a.agent_id === id)?.display_name || id;
}

// ---- One conversation -------------------------------------------------------------------

async function select(ref) {
  state.selected = ref;
  state.attachment = null;
  renderList();
  await refreshConversation();
  $("main").focus();
}

async function refreshConversation() {
  const ref = state.selected;
  if (!ref) return;
  try {
    const [detail, transcript] = await Promise.all([
      api("GET", `/api/conversations/${encodeURIComponent(ref)}`),
      api("GET", `/api/conversations/${encodeURIComponent(ref)}/transcript?limit=1000`),
    ]);
    if (ref !== state.selected) return;
    state.detail = detail;
    renderConversation(transcript.entries);
  } catch (error) {
    say(error.message);
  }
}

function fact(term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dd.dir = "auto";
  return [dt, dd];
}

function renderConversation(entries) {
  const d = state.detail;
  $("empty").hidden = true;
  $("conversation").hidden = false;
  $("conversation-title").textContent = `${shortName(d.ref)} — ${stateWord(d.state)}`;
  const offer = state.offers.get(d.ref);
  const device = d.capabilities === null
    ? t("deviceUnknown")
    : d.capabilities.length === 0
      ? t("deviceText")
      : d.capabilities.join(", ");
  const facts = [
    ...fact(t("factState"), stateWord(d.state)),
    ...fact(t("factQueue"), d.queue || "—"),
    ...fact(t("factEntry"), [d.intent, d.group].filter(Boolean).join(" / ") || "—"),
    ...fact(t("factLocale"), d.locale || "—"),
    ...fact(t("factDevice"), device),
  ];
  const summary = d.summary || offer?.summary;
  const note = d.transfer_note || offer?.transfer_note;
  const previous = d.previous_agent_id || offer?.previous_agent_id;
  if (summary) facts.push(...fact(t("botSummary"), summary));
  if (note) facts.push(...fact(t("transferNote"), note));
  if (previous) facts.push(...fact(t("previousAgent"), agentName(previous)));
  $("facts").replaceChildren(...facts);

  $("transcript").replaceChildren(...entries.map(renderEntry));
  const last = $("transcript").lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
  renderControls();
}

function authorName(author) {
  if (author.kind === "agent") return author.name || author.id;
  return t(author.kind) || author.kind;
}

function renderEntry(entry) {
  const item = document.createElement("li");
  item.className = `entry ${entry.author.kind}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = authorName(entry.author);
  const when = document.createElement("time");
  if (entry.at) {
    when.dateTime = new Date(entry.at).toISOString();
    when.textContent = new Intl.DateTimeFormat(language(), { timeStyle: "short" }).format(
      new Date(entry.at),
    );
  }
  const text = document.createElement("p");
  text.className = "text";
  text.dir = "auto";
  text.textContent = entry.text;
  item.append(who, " ", when, text);
  for (const file of entry.attachments || []) item.append(renderFile(file, entry.author.kind));
  if (entry.delivery) {
    const delivery = document.createElement("p");
    delivery.className = `delivery ${entry.delivery}`;
    delivery.textContent = entry.delivery === "sent"
      ? t("sent")
      : t(entry.delivery, { why: entry.delivery_detail });
    item.append(delivery);
  }
  return item;
}

function fileUrl(file) {
  const query = new URLSearchParams({ key: file.key, name: file.name, type: file.mime_type });
  return `/api/conversations/${encodeURIComponent(state.selected)}/files?${query}`;
}

function renderFile(file, kind) {
  const box = document.createElement("div");
  box.className = "file";
  if (/^image\/(png|jpeg|gif|webp|heic)$/.test(file.mime_type)) {
    const image = document.createElement("img");
    image.src = fileUrl(file);
    image.alt = kind === "customer" ? t("picture", { name: file.name }) : file.name;
    image.className = "preview";
    box.append(image);
  }
  const link = document.createElement("a");
  link.href = fileUrl(file);
  link.download = file.name;
  link.textContent = t("download", { name: file.name });
  box.append(link);
  return box;
}

function showTyping(active) {
  $("typing").textContent = active ? t("customerTyping") : "";
  clearTimeout(state.typingTimer);
  if (active) state.typingTimer = setTimeout(() => showTyping(false), 60000);
}

// What the composer can send now, and why not when it cannot: every disabled control says
// why next to it (and is described by that reason).
function renderControls() {
  const d = state.detail;
  if (!d) return;
  const kind = $("kind").value;
  const caps = d.capabilities; // null: unknown device, everything is offered
  const canShow = (k) => k === "text" || caps === null || caps.includes(k);
  for (const option of $("kind").options) {
    option.disabled = !canShow(option.value);
  }
  let reason = "";
  if (d.closed_by_customer) reason = t("reasonClosed");
  else if (!d.held) reason = t("reasonNotHeld");
  else if (!canShow(kind)) {
    reason = t("reasonDevice", { kind: t({ quick_reply: "kindQuickReply", list_picker: "kindListPicker", time_picker: "kindTimePicker" }[kind]) });
  }
  const composerOff = reason !== "";
  for (const id of ["message", "choices", "canned", "file", "send", "kind"]) {
    $(id).disabled = composerOff && !(id === "kind" && !d.closed_by_customer && d.held);
  }
  $("composer-reason").textContent = reason;
  for (const id of ["message", "send"]) $(id).setAttribute("aria-describedby", "composer-reason");
  $("choices-field").hidden = kind === "text";
  $("choices").placeholder = kind === "time_picker" ? t("slotsHelp") : "";

  // An offer (a queued conversation the pool holds for this agent) or an assignment not
  // acknowledged yet.
  $("accept").disabled = !(
    d.held && !d.closed_by_customer &&
    (d.state === "queued" || (d.state === "assigned" && !state.accepted.has(d.ref)))
  );
  $("decline").disabled = !d.held || d.closed_by_customer;
  $("return").disabled = !d.held || d.closed_by_customer;
  $("transfer").disabled = !(d.held || state.me.supervisor);
  $("resolve").disabled = !d.held;
  $("transfer-agent").replaceChildren(
    new Option(t("none"), ""),
    ...state.agents
      .filter((a) => a.agent_id !== state.me.agent_id)
      .map((a) => new Option(a.display_name, a.agent_id)),
  );
}

// ---- Sending ----------------------------------------------------------------------------

function choices() {
  return $("choices").value.split("\n").map((l) => l.trim()).filter(Boolean);
}

function content() {
  const kind = $("kind").value;
  const text = $("message").value.trim();
  if (kind === "text") {
    return { text: { body: text, attachments: state.attachment ? [state.attachment] : [] } };
  }
  const items = choices();
  if (items.length === 0) return null;
  if (kind === "quick_reply") return { quick_reply: { prompt: text, items } };
  if (kind === "list_picker") {
    return { list_picker: { title: text, items: items.map((title) => ({ title })) } };
  }
  const slots = items
    .map((line) => Date.parse(line.replace(" ", "T")))
    .filter((ms) => !Number.isNaN(ms))
    .map((start_ms) => ({ start_ms, duration_minutes: 30 }));
  if (slots.length === 0) return null;
  return {
    time_picker: {
      title: text,
      timezone_offset_minutes: -new Date().getTimezoneOffset(),
      slots,
    },
  };
}

async function send(event) {
  event.preventDefault();
  const body = content();
  if (!body) {
    say(t("reasonNoChoices"));
    return;
  }
  if (body.text && !body.text.body && body.text.attachments.length === 0) return;
  stopTyping();
  const ok = await command({ reply: { conversation: state.selected, content: body } });
  if (ok) {
    $("message").value = "";
    $("choices").value = "";
    $("canned").value = "";
    $("file").value = "";
    state.attachment = null;
  }
}

async function attach() {
  const file = $("file").files[0];
  if (!file) {
    state.attachment = null;
    return;
  }
  const query = new URLSearchParams({ name: file.name, type: file.type || "application/octet-stream" });
  try {
    state.attachment = await api(
      "POST",
      `/api/conversations/${encodeURIComponent(state.selected)}/files?${query}`,
      file,
      { "Content-Type": "application/octet-stream" },
    );
    say(t("uploaded", { name: file.name }));
  } catch (error) {
    state.attachment = null;
    say(t("refusedCommand", { why: error.message }));
  }
}

function typing() {
  if (!state.selected || !state.detail?.held) return;
  if (!state.typingSent) {
    state.typingSent = true;
    api("POST", "/api/commands", {
      command_id: commandId(),
      command: { typing: { conversation: state.selected, active: true } },
    }).catch(() => {});
  }
  clearTimeout(state.stopTypingTimer);
  state.stopTypingTimer = setTimeout(stopTyping, 5000);
}

function stopTyping() {
  clearTimeout(state.stopTypingTimer);
  if (!state.typingSent || !state.selected) return;
  state.typingSent = false;
  api("POST", "/api/commands", {
    command_id: commandId(),
    command: { typing: { conversation: state.selected, active: false } },
  }).catch(() => {});
}

// ---- Supervision ------------------------------------------------------------------------

async function refreshSupervisor() {
  const [queues, agents] = await Promise.all([api("GET", "/api/queues"), api("GET", "/api/agents")]);
  state.agents = agents.agents;
  $("queues").tBodies[0].replaceChildren(
    ...queues.queues.map((q) => row([q.queue, String(q.waiting), duration(q.longest_wait_seconds)])),
  );
  $("agents").tBodies[0].replaceChildren(
    ...state.agents.map((a) => {
      const tr = row([a.display_name, t(a.status), `${a.load} / ${a.capacity}`]);
      const cell = document.createElement("td");
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.textContent = t("revoke", { name: a.display_name });
      revoke.addEventListener("click", async () => {
        try {
          await api("POST", `/api/agents/${encodeURIComponent(a.agent_id)}/revoke-sessions`);
          say(t("done"));
        } catch (error) {
          say(t("refusedCommand", { why: error.message }));
        }
      });
      cell.append(revoke);
      tr.append(cell);
      return tr;
    }),
  );
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = value;
    td.dir = "auto";
    tr.append(td);
  }
  return tr;
}

// ---- Wiring -----------------------------------------------------------------------------

function render() {
  if (!state.me) return;
  renderList();
  if (state.detail) refreshConversation();
}

function wire() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("apply-presence").addEventListener("click", () =>
    command({
      presence: { status: $("presence").value, capacity: Number($("capacity").value) || 0 },
    }),
  );
  $("accept").addEventListener("click", async () => {
    const ref = state.selected;
    if (await command({ accept: { conversation: ref } })) {
      state.accepted.add(ref);
      sessionStorage.setItem("parley-accepted", JSON.stringify([...state.accepted]));
      renderControls();
    }
  });
  $("decline").addEventListener("click", () =>
    command({ decline: { conversation: state.selected, reason: "" } }),
  );
  $("return").addEventListener("click", () =>
    command({ return_to_bot: { conversation: state.selected, note: "" } }),
  );
  $("transfer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { conversation: state.selected, note: $("transfer-note").value };
    if ($("transfer-agent").value) body.agent_id = $("transfer-agent").value;
    else body.queue = $("transfer-queue").value.trim();
    command({ transfer: body }).then((ok) => {
      if (ok) $("transfer-note").value = "";
    });
  });
  $("resolve-form").addEventListener("submit", (e) => {
    e.preventDefault();
    command({
      resolve: {
        conversation: state.selected,
        code: $("wrap-up").value.trim(),
        note: $("resolve-note").value,
      },
    });
  });
  $("composer").addEventListener("submit", send);
  $("kind").addEventListener("change", renderControls);
  $("file").addEventListener("change", attach);
  $("message").addEventListener("input", typing);
  $("canned").addEventListener("change", () => {
    const canned = state.canned.find((c) => c.id === $("canned").value);
    if (canned) $("message").value = canned.text;
  });
}

async function boot() {
  chooseLanguage(localStorage.getItem("parley-language"));
  fillLanguages();
  translatePage();
  wire();
  try {
    const me = await api("GET", "/api/me");
    await start(me);
  } catch (_) {
    signedOut();
  }
}

boot();
