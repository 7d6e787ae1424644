//! The agent console in a real headless Chromium (Debian's, over chromedriver) against the
//! platform in this process, over the embedded backends and over NATS + Redis; and the
//! console's HTTP API refusing what a session, its CSRF token or its business does not allow.
//!
//! Controls are found by their ARIA role and accessible name, as a person using a screen
//! reader would find them, never by CSS class. Each step's screenshot is written under
//! `target/tmp/console-screenshots/` (CI keeps `target/`).

use std::{path::PathBuf, time::Duration};

use base64::Engine as _;
use parley::{
    demo_business::BUSINESS_ID,
    up::{BackendKind, Platform},
};
use parley_apple_sim::{Device, DeviceKind};
use parley_testkit::{Browser, Chromedriver, Element, KEY_ENTER, NatsServer, RedisServer};
use serde_json::{Value, json};

use crate::support::{platform_with_agents, server_env, test_env};

const WAIT: Duration = Duration::from_secs(30);
const OTHER_BUSINESS: &str = "b7d2c1e0-0000-4000-8000-00000000b002";

/// The demo business's agents Ava and Sam, its supervisor Lee, and Xena of another business.
fn agents() -> parley_agent_gateway::Agents {
    let entry = |business: &str, id: &str, name: &str, extra: &str| {
        format!(
            "[[agents]]\nbusiness = \"{business}\"\nid = \"{id}\"\ndisplay_name = \"{name}\"\n\
             token_sha256 = \"{}\"\n{extra}\n",
            parley_agent_gateway::token_sha256(&format!("token-{id}"))
        )
    };
    let file = [
        entry(BUSINESS_ID, "ava", "Ava", "max_capacity = 2"),
        entry(BUSINESS_ID, "sam", "Sam", ""),
        entry(BUSINESS_ID, "lee", "Lee", "role = \"supervisor\""),
        entry(OTHER_BUSINESS, "xena", "Xena", ""),
        format!(
            "[[canned]]\nbusiness = \"{BUSINESS_ID}\"\nid = \"thanks\"\n\
             title = \"Thanks for waiting\"\ntext = \"Thank you for waiting.\"\n"
        ),
    ]
    .join("\n");
    parley_agent_gateway::Agents::parse(&file).unwrap()
}

fn screenshots(backend: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("console-screenshots")
        .join(backend)
}

struct Page<'a> {
    browser: Browser,
    shots: PathBuf,
    who: &'a str,
    step: std::cell::Cell<u32>,
}

impl Page<'_> {
    async fn shot(&self, name: &str) {
        let n = self.step.get() + 1;
        self.step.set(n);
        let path = self.shots.join(format!("{}-{n:02}-{name}.png", self.who));
        self.browser.screenshot(&path).await.unwrap();
    }

    async fn button(&self, name: &str) -> Element {
        self.browser.by_role("button", name, WAIT).await.unwrap()
    }

    async fn click(&self, name: &str) {
        let button = self.button(name).await;
        // Enabled once the page has read what it needs (a conversation's facts).
        self.browser
            .wait_for(&format!("“{name}” enabled"), WAIT, || async {
                Ok(self.browser.enabled(&button).await?.then_some(()))
            })
            .await
            .unwrap();
        self.browser.click(&button).await.unwrap();
    }

    async fn textbox(&self, name: &str) -> Element {
        self.browser.by_role("textbox", name, WAIT).await.unwrap()
    }

    async fn fill(&self, name: &str, text: &str) {
        self.fill_role("textbox", name, text).await;
    }

    async fn fill_role(&self, role: &str, name: &str, text: &str) {
        let field = self.browser.by_role(role, name, WAIT).await.unwrap();
        self.browser.clear(&field).await.unwrap();
        self.browser.type_text(&field, text).await.unwrap();
    }

    async fn choose(&self, combobox: &str, option: &str) {
        let select = self
            .browser
            .by_role("combobox", combobox, WAIT)
            .await
            .unwrap();
        self.browser.choose(&select, option).await.unwrap();
    }

    /// A button whose accessible name holds every one of `parts` (a conversation of the
    /// list is named by its state, place and waiting time).
    async fn button_with(&self, parts: &[&str]) -> Element {
        let what = format!("a button named with {parts:?}");
        let found = self
            .browser
            .wait_for(&what, WAIT, || async {
                Ok(self
                    .browser
                    .by_role_matching("button", |n| parts.iter().all(|p| n.contains(p)))
                    .await?
                    .into_iter()
                    .next())
            })
            .await;
        match found {
            Ok(button) => button,
            Err(error) => {
                self.shot("failed").await;
                let mut names = Vec::new();
                for button in self
                    .browser
                    .by_role_matching("button", |_| true)
                    .await
                    .unwrap_or_default()
                {
                    names.push(self.browser.name(&button).await.unwrap_or_default());
                }
                let status = self
                    .browser
                    .by_role_matching("status", |_| true)
                    .await
                    .unwrap_or_default();
                let mut said = Vec::new();
                for s in status {
                    said.push(self.browser.text(&s).await.unwrap_or_default());
                }
                panic!("{error}; buttons: {names:?}; status: {said:?}");
            }
        }
    }

    /// The transcript's entries as rendered text, oldest first.
    async fn transcript(&self) -> Vec<String> {
        let log = self
            .browser
            .by_role_matching("log", |n| n == "Transcript")
            .await
            .unwrap();
        let Some(log) = log.into_iter().next() else {
            return Vec::new();
        };
        let entries = self
            .browser
            .execute(
                "return [...arguments[0].children].map(li => li.innerText)",
                vec![Browser::arg(&log)],
            )
            .await
            .unwrap();
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    async fn transcript_shows(&self, what: &str, holds: impl Fn(&[String]) -> bool) -> Vec<String> {
        let found = self
            .browser
            .wait_for(what, WAIT, || async {
                let entries = self.transcript().await;
                Ok(holds(&entries).then_some(entries))
            })
            .await;
        match found {
            Ok(entries) => entries,
            Err(error) => {
                self.shot("failed").await;
                panic!(
                    "{error}; the transcript shows {:?}",
                    self.transcript().await
                );
            }
        }
    }

    async fn sign_in(&self, url: &str, token: &str) {
        self.browser.goto(url).await.unwrap();
        self.fill("Agent token", token).await;
        self.click("Sign in").await;
        self.button("Sign out").await;
    }
}

async fn open(driver: &Chromedriver, backend: &str, who: &'static str) -> Page<'static> {
    Page {
        browser: driver.browser().await.unwrap(),
        shots: screenshots(backend),
        who,
        step: std::cell::Cell::new(0),
    }
}

/// A new customer on a `kind` device who writes "agent" (accepted by the webhook).
async fn asks_for_a_person(sim: &parley_apple_sim::Simulator, kind: DeviceKind) -> Device {
    let device = sim.devices().new_device(BUSINESS_ID, kind).unwrap();
    assert_eq!(
        sim.devices().text(&device, "agent").await.unwrap().status,
        200
    );
    device
}

/// What the simulator received for `device` that `matches`, waiting up to `WAIT`.
async fn customer_receives(
    platform: &Platform,
    device: &Device,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    let sim = platform.sim.as_ref().unwrap();
    let received = sim
        .state()
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|r| r.customer == device.customer && matches(&r.body))
        })
        .await
        .unwrap_or_else(|| panic!("the customer never received {what}"));
    received
        .into_iter()
        .rev()
        .find(|r| r.customer == device.customer && matches(&r.body))
        .map(|r| r.body)
        .unwrap()
}

/// The device's reply when the customer picks the item titled `title` of `picker`.
fn pick(picker: &Value, title: &str) -> Value {
    let data = &picker["interactiveData"]["data"];
    let section = &data["listPicker"]["sections"][0];
    let item = section["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap()
        .clone();
    json!({
        "version": "1.0",
        "requestIdentifier": data["requestIdentifier"],
        "replyMessage": { "title": title, "style": "small" },
        "listPicker": { "sections": [{
            "title": section["title"], "order": section["order"],
            "multipleSelection": false, "items": [item],
        }]},
    })
}

/// A 1 x 1 PNG.
fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
        .unwrap()
}

/// Every step of the walk-through, as an agent, a supervisor, a customer and an
/// agent of another business would see it.
async fn walk_through(platform: Platform, backend: &str) {
    let url = platform.console_url.clone().expect("the console runs");
    let sim = platform.sim.as_ref().unwrap();
    let driver = Chromedriver::start().await.unwrap();
    let ava = open(&driver, backend, "ava").await;

    // An agent signs in.
    ava.sign_in(&url, "token-ava").await;
    ava.shot("signed-in").await;

    // A customer asks for an agent: queued, with its place, in Ava's list.
    let customer = sim
        .devices()
        .new_device(BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    // The bot answers first; then the customer asks for a person.
    assert_eq!(
        sim.devices()
            .text(&customer, "What are your opening hours?")
            .await
            .unwrap()
            .status,
        200
    );
    customer_receives(&platform, &customer, "the bot's answer", |b| {
        b["body"]
            .as_str()
            .is_some_and(|t| t.to_lowercase().contains("open"))
    })
    .await;
    assert_eq!(
        sim.devices().text(&customer, "agent").await.unwrap().status,
        200
    );
    ava.button_with(&["queued", "position 1"]).await;
    ava.shot("queued").await;

    // Ava becomes available: routing assigns the conversation to her; she accepts.
    ava.choose("Presence", "Available").await;
    ava.click("Set presence").await;
    ava.click_button_with(&["assigned"]).await;
    ava.click("Accept").await;
    // She reads the bot's part of the conversation.
    let entries = ava
        .transcript_shows("the bot's answer", |e| {
            e.iter()
                .any(|l| l.starts_with("Customer") && l.contains("opening hours"))
                && e.iter()
                    .any(|l| l.starts_with("Bot") && l.to_lowercase().contains("open"))
        })
        .await;
    assert!(
        entries.iter().all(|l| !l.contains(&customer.customer)),
        "no opaque id: {entries:?}"
    );
    ava.shot("accepted").await;

    // A text reply, then a list picker.
    ava.fill("Message", "Hello, Ava here").await;
    ava.click("Send").await;
    customer_receives(&platform, &customer, "Ava's text", |b| {
        b["body"] == "Hello, Ava here"
    })
    .await;
    ava.choose("Reply type", "List picker").await;
    ava.fill("Message", "Which size?").await;
    ava.fill("Choices, one per line", "Small\nMedium\nLarge")
        .await;
    ava.click("Send").await;
    let picker = customer_receives(&platform, &customer, "the list picker", |b| {
        b["interactiveData"]["data"]["listPicker"].is_object()
    })
    .await;
    ava.transcript_shows("the sent list picker", |e| {
        e.iter()
            .any(|l| l.contains("Which size?") && l.contains("Sent"))
    })
    .await;
    ava.shot("list-picker-sent").await;

    // The customer picks; Ava sees the pick.
    let reply = pick(&picker, "Medium");
    assert_eq!(
        sim.devices()
            .interactive_reply(&customer, reply, false)
            .await
            .unwrap()
            .status,
        200
    );
    ava.transcript_shows("the customer's pick", |e| {
        e.iter()
            .any(|l| l.starts_with("Customer") && l.contains("Picked: Medium"))
    })
    .await;
    ava.shot("picked").await;

    // Ava sends a file; the customer receives it.
    ava.choose("Reply type", "Text").await;
    let dir = tempfile::tempdir().unwrap();
    let receipt = dir.path().join("receipt.png");
    std::fs::write(&receipt, png()).unwrap();
    let file_input = ava
        .browser
        .wait_for("the file field", WAIT, || async {
            for input in ava.browser.all("input[type=file]").await? {
                if ava.browser.name(&input).await? == "Attach a file" {
                    return Ok(Some(input));
                }
            }
            Ok(None)
        })
        .await
        .unwrap();
    ava.browser
        .type_text(&file_input, receipt.to_str().unwrap())
        .await
        .unwrap();
    ava.browser
        .wait_for("the upload", WAIT, || async {
            let status = ava.browser.by_role_matching("status", |_| true).await?;
            for s in status {
                if ava.browser.text(&s).await?.contains("Attached receipt.png") {
                    return Ok(Some(()));
                }
            }
            Ok(None)
        })
        .await
        .unwrap();
    ava.fill("Message", "Your receipt").await;
    ava.click("Send").await;
    customer_receives(&platform, &customer, "the attachment", |b| {
        b["attachments"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;

    // The customer sends a picture: previewed in the console.
    let sent = sim
        .devices()
        .attachment(&customer, "photo.png", "image/png", &png(), "my photo")
        .await
        .unwrap();
    assert_eq!(sent.status, 200);
    ava.transcript_shows("the customer's picture", |e| {
        e.iter()
            .any(|l| l.starts_with("Customer") && l.contains("photo.png"))
    })
    .await;
    let preview = ava
        .browser
        .by_role("image", "Picture photo.png from the customer", WAIT)
        .await
        .unwrap();
    ava.browser
        .wait_for("the preview to load", WAIT, || async {
            let width = ava.browser.property(&preview, "naturalWidth").await?;
            Ok((width.as_u64().unwrap_or(0) > 0).then_some(()))
        })
        .await
        .unwrap();
    ava.shot("attachments").await;

    // Right-to-left text reads right to left: the customer's words keep their direction.
    assert_eq!(
        sim.devices()
            .text(&customer, "תודה רבה!")
            .await
            .unwrap()
            .status,
        200
    );
    ava.transcript_shows("the Hebrew message", |e| {
        e.iter().any(|l| l.contains("תודה רבה"))
    })
    .await;
    let direction = ava
        .browser
        .execute(
            "const p = [...document.querySelectorAll('[role=log] p[dir=auto]')]\
               .find(p => p.textContent.includes('תודה'));\
             return p ? getComputedStyle(p).direction : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        direction,
        json!("rtl"),
        "dir=auto shows Hebrew right to left"
    );

    // Reloading the page mid-conversation misses nothing.
    let before = ava
        .transcript_shows("every entry so far", |e| {
            e.iter()
                .any(|l| l.contains("Your receipt") && l.contains("Sent"))
                && e.iter().any(|l| l.contains("photo.png"))
        })
        .await;
    ava.browser.refresh().await.unwrap();
    ava.button("Sign out").await;
    ava.click_button_with(&["assigned"]).await;
    let after = ava
        .transcript_shows("the same transcript after a reload", |e| {
            e.len() >= before.len()
        })
        .await;
    assert_eq!(after, before, "a reload shows the same transcript");
    ava.shot("reloaded").await;

    // The customer closes the conversation: shown closed, the composer disabled.
    assert_eq!(sim.devices().close(&customer).await.unwrap().status, 200);
    ava.browser
        .wait_for("the conversation shown closed", WAIT, || async {
            let heading = ava
                .browser
                .by_role_matching("heading", |n| n.contains("closed by the customer"))
                .await?;
            Ok(heading.into_iter().next())
        })
        .await
        .unwrap();
    let send = ava.button("Send").await;
    ava.browser
        .wait_for("Send disabled", WAIT, || async {
            Ok((!ava.browser.enabled(&send).await?).then_some(()))
        })
        .await
        .unwrap();
    let message = ava.textbox("Message").await;
    assert!(!ava.browser.enabled(&message).await.unwrap());
    ava.shot("closed").await;

    // A supervisor sees the queue and reassigns a waiting conversation to another agent.
    ava.choose("Presence", "Away").await;
    ava.click("Set presence").await;
    // Sam is signed in (present, taking nothing from the queue yet: capacity 0).
    let sam = open(&driver, backend, "sam").await;
    sam.sign_in(&url, "token-sam").await;
    sam.fill_role("spinbutton", "Capacity", "0").await;
    sam.click("Set presence").await;
    asks_for_a_person(sim, DeviceKind::Iphone).await;
    let lee = open(&driver, backend, "lee").await;
    lee.sign_in(&url, "token-lee").await;
    lee.browser
        .wait_for("the queue with one waiting", WAIT, || async {
            let tables = lee
                .browser
                .by_role_matching("table", |n| n == "Queues")
                .await?;
            for table in tables {
                let text = lee.browser.text(&table).await?;
                if text
                    .lines()
                    .any(|l| l.starts_with("baristas") && l.contains(" 1 "))
                {
                    return Ok(Some(()));
                }
            }
            Ok(None)
        })
        .await
        .unwrap();
    lee.shot("queues").await;
    // Ava comes back and takes it; the supervisor moves it to Sam, who now has room.
    ava.choose("Presence", "Available").await;
    ava.click("Set presence").await;
    lee.button_with(&["held by Ava"]).await;
    sam.fill_role("spinbutton", "Capacity", "1").await;
    sam.click("Set presence").await;
    lee.click_button_with(&["held by Ava"]).await;
    lee.choose("To agent", "Sam").await;
    lee.fill("Transfer note", "a size question").await;
    lee.click("Transfer").await;
    lee.button_with(&["held by Sam"]).await;
    lee.shot("reassigned").await;
    sam.click_button_with(&["assigned"]).await;
    // Sam is told why and from whom (routing's hand-off context), on the page.
    sam.browser
        .wait_for("the transfer note and the previous agent", WAIT, || async {
            let text = sam
                .browser
                .execute("return document.querySelector('main').innerText", vec![])
                .await?;
            let text = text.as_str().unwrap_or_default().to_owned();
            Ok((text.contains("Transfer note")
                && text.contains("a size question")
                && text.contains("Previous agent")
                && text.contains("Ava"))
            .then_some(()))
        })
        .await
        .unwrap();
    sam.shot("received").await;

    // An agent of another business sees none of it: no conversation listed, and each of
    // the business's references is unknown to it (404), read from its own page.
    let fetch_json = "return fetch(arguments[0]).then(r => r.json())";
    let fetch_status = "return fetch(arguments[0]).then(r => r.status)";
    let everything = lee
        .browser
        .execute(fetch_json, vec![json!("/api/conversations")])
        .await
        .unwrap();
    let refs: Vec<String> = everything["conversations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["ref"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !refs.is_empty(),
        "the supervisor lists the business's conversations"
    );
    // Xena signs in with the keyboard alone (the token, then Enter) and reads the console
    // in French.
    let xena = open(&driver, backend, "xena").await;
    xena.browser.goto(&url).await.unwrap();
    let token = xena.textbox("Agent token").await;
    xena.browser
        .type_text(&token, "token-xena\u{E007}")
        .await
        .unwrap();
    xena.button("Sign out").await;
    xena.choose("Language", "Français").await;
    xena.button("Se déconnecter").await;
    xena.shot("french").await;
    let hers = xena
        .browser
        .execute(fetch_json, vec![json!("/api/conversations")])
        .await
        .unwrap();
    assert_eq!(
        hers["conversations"],
        json!([]),
        "another business's agent lists nothing"
    );
    for reference in &refs {
        for path in [
            format!("/api/conversations/{reference}"),
            format!("/api/conversations/{reference}/transcript"),
        ] {
            let status = xena
                .browser
                .execute(fetch_status, vec![json!(path)])
                .await
                .unwrap();
            assert_eq!(status, json!(404), "{path} for another business's agent");
        }
    }
    let listed = xena
        .browser
        .by_role_matching("button", |n| n.starts_with("Conversation"))
        .await
        .unwrap();
    assert!(
        listed.is_empty(),
        "another business's agent sees no conversation"
    );
    xena.shot("other-business").await;

    for page in [ava, sam, lee, xena] {
        page.browser.close().await.unwrap();
    }
    drop(driver);
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}

impl Page<'_> {
    /// Tabs to the control of `role` named `name` and presses `key` on it (Enter or space
    /// activates a button; a letter picks a list's option by its first letters).
    async fn key_on(&self, role: &str, name: &str, keys: &str) {
        let found = self
            .browser
            .tab_to(role, &format!("named “{name}”"), |n| n == name, WAIT)
            .await;
        if let Err(error) = found {
            self.shot("failed").await;
            panic!("{error}");
        }
        self.browser.press(keys).await.unwrap();
    }

    /// Tabs to the text box named `name` and types `text` into it.
    async fn key_in(&self, name: &str, text: &str) {
        self.key_on("textbox", name, text).await;
    }

    /// Clicks a button whose name holds every one of `parts`, finding it again when the
    /// list re-rendered between the look and the click (a stale element).
    async fn click_button_with(&self, parts: &[&str]) {
        let what = format!("a click on a button named with {parts:?}");
        self.browser
            .wait_for(&what, WAIT, || async {
                let found = self
                    .browser
                    .by_role_matching("button", |n| parts.iter().all(|p| n.contains(p)))
                    .await?;
                let Some(button) = found.into_iter().next() else {
                    return Ok(None);
                };
                Ok(self.browser.click(&button).await.ok())
            })
            .await
            .unwrap();
    }

    /// Tabs to a conversation of the list whose name holds every one of `parts` and opens
    /// it with Enter (the page then moves the focus to the conversation). The list is
    /// re-rendered as events arrive, which can take the focus away between the Tab and the
    /// Enter: then it tabs there again, within `WAIT`.
    async fn key_on_button_with(&self, parts: &[&str]) {
        let what = format!("named with {parts:?}");
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let found = self
                .browser
                .tab_to(
                    "button",
                    &what,
                    |n| parts.iter().all(|p| n.contains(p)),
                    left,
                )
                .await;
            if let Err(error) = found {
                self.shot("failed").await;
                panic!("{error}");
            }
            self.browser.press(KEY_ENTER).await.unwrap();
            let opened = self
                .browser
                .wait_for(
                    "the conversation focused",
                    Duration::from_secs(2),
                    || async {
                        let Some(focused) = self.browser.focused().await? else {
                            return Ok(None);
                        };
                        Ok((self.browser.role(&focused).await? == "main").then_some(()))
                    },
                )
                .await;
            if opened.is_ok() {
                return;
            }
        }
    }

    /// The page's main text (the open conversation), once it holds `what`.
    async fn main_shows(&self, what: &str) {
        let found = self
            .browser
            .wait_for(&format!("“{what}” on the page"), WAIT, || async {
                let text = self
                    .browser
                    .execute("return document.querySelector('main').innerText", vec![])
                    .await?;
                Ok(text
                    .as_str()
                    .is_some_and(|t| t.contains(what))
                    .then_some(()))
            })
            .await;
        if let Err(error) = found {
            self.shot("failed").await;
            panic!("{error}");
        }
    }
}

/// An agent works whole conversations with the keyboard alone (Tab to a control, then
/// Enter, a letter or text; nothing is clicked or focused for her): she signs in, becomes
/// available, declines an offer (it goes to the other agent, not back to her), accepts the
/// next, sees the customer typing, and answers with text, a canned response and a quick
/// reply, and resolves with a wrap-up code. The other agent hands his back to the bot,
/// which answers the customer's next message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_conversations_with_the_keyboard_alone() {
    let platform = platform_with_agents(
        BackendKind::Embedded,
        BackendKind::Embedded,
        test_env(&[]),
        agents(),
    )
    .await;
    let url = platform.console_url.clone().expect("the console runs");
    let sim = platform.sim.as_ref().unwrap();
    let driver = Chromedriver::start().await.unwrap();
    let ava = open(&driver, "keyboard", "ava").await;
    let sam = open(&driver, "keyboard", "sam").await;

    // Ava signs in and becomes available by keyboard; Sam (by mouse) too, taking one.
    ava.browser.goto(&url).await.unwrap();
    ava.key_in("Agent token", "token-ava").await;
    ava.browser.press(KEY_ENTER).await.unwrap();
    ava.button("Sign out").await;
    ava.key_on("combobox", "Presence", "Av").await;
    ava.key_on("button", "Set presence", KEY_ENTER).await;
    ava.shot("available").await;
    sam.sign_in(&url, "token-sam").await;
    sam.fill_role("spinbutton", "Capacity", "1").await;
    sam.click("Set presence").await;

    // The first customer (on a watch) asks for a person: offered to Ava (equal load, first
    // by id).
    let first = asks_for_a_person(sim, DeviceKind::Watch).await;
    ava.key_on_button_with(&["assigned"]).await;
    ava.key_on("button", "Decline", KEY_ENTER).await;
    // Declined: it goes to Sam, who now holds it, never straight back to Ava.
    sam.button_with(&["assigned"]).await;
    ava.shot("declined").await;

    // The second customer's conversation is offered to Ava (Sam is full); she accepts.
    let second = asks_for_a_person(sim, DeviceKind::Iphone).await;
    ava.key_on_button_with(&["assigned"]).await;
    ava.key_on("button", "Accept", KEY_ENTER).await;
    ava.main_shows("agent").await;

    // The customer types: Ava sees it.
    assert_eq!(
        sim.devices().typing_start(&second).await.unwrap().status,
        200
    );
    ava.main_shows("The customer is typing").await;
    ava.shot("customer-typing").await;

    // A text: typing it tells the customer Ava is typing; Send (Enter) delivers it.
    ava.key_in("Message", "Hello from the keyboard").await;
    customer_receives(&platform, &second, "Ava's typing indicator", |b| {
        b["type"] == "typing_start"
    })
    .await;
    ava.key_on("button", "Send", KEY_ENTER).await;
    customer_receives(&platform, &second, "the typed text", |b| {
        b["body"] == "Hello from the keyboard"
    })
    .await;

    // A canned response, picked by its first letters, then sent.
    ava.key_on("combobox", "Canned response", "Th").await;
    ava.key_on("button", "Send", KEY_ENTER).await;
    customer_receives(&platform, &second, "the canned response", |b| {
        b["body"] == "Thank you for waiting."
    })
    .await;

    // A quick reply.
    ava.key_on("combobox", "Reply type", "Q").await;
    ava.key_in("Message", "Anything else?").await;
    ava.key_in("Choices, one per line", &format!("Yes{KEY_ENTER}No"))
        .await;
    ava.key_on("button", "Send", KEY_ENTER).await;
    let quick = customer_receives(&platform, &second, "the quick reply", |b| {
        b["interactiveData"]["data"]["quick-reply"].is_object()
            || b["interactiveData"]["data"]["quickReply"].is_object()
    })
    .await;
    assert!(quick.to_string().contains("Anything else?"), "{quick}");

    // A time picker (slots one per line), then a lone web address, sent as a rich link.
    ava.key_on("combobox", "Reply type", "Ti").await;
    ava.key_in("Message", "Pick a time").await;
    ava.key_in(
        "Choices, one per line",
        &format!("2026-12-05 10:00{KEY_ENTER}2026-12-05 11:00"),
    )
    .await;
    ava.key_on("button", "Send", KEY_ENTER).await;
    let picker = customer_receives(&platform, &second, "the time picker", |b| {
        b["interactiveData"]["data"]["event"].is_object()
    })
    .await;
    let slots = &picker["interactiveData"]["data"]["event"]["timeslots"];
    assert_eq!(slots.as_array().map(Vec::len), Some(2), "{picker}");
    ava.key_on("combobox", "Reply type", "Te").await;
    ava.key_in("Message", "https://example.com/menu").await;
    ava.key_on("button", "Send", KEY_ENTER).await;
    customer_receives(&platform, &second, "the rich link", |b| {
        b["type"] == "richLink" && b.to_string().contains("https://example.com/menu")
    })
    .await;
    ava.shot("answered").await;

    // Resolved with a wrap-up code and a note.
    ava.key_in("Wrap-up code", "answered").await;
    ava.key_in("Resolution note", "asked for a person").await;
    ava.key_on("button", "Resolve", KEY_ENTER).await;
    ava.browser
        .wait_for("the conversation shown resolved", WAIT, || async {
            let heading = ava
                .browser
                .by_role_matching("heading", |n| n.contains("resolved"))
                .await?;
            Ok(heading.into_iter().next())
        })
        .await
        .unwrap();
    // The wrap-up is recorded: routing's `Resolved` carries it to the transcript.
    ava.transcript_shows("the wrap-up", |e| {
        e.iter()
            .any(|l| l.contains("Resolved by Ava (wrap-up code answered): asked for a person"))
    })
    .await;
    ava.shot("resolved").await;

    // Sam hands the first conversation back to the bot; the bot answers its next message.
    sam.click_button_with(&["assigned"]).await;
    sam.click("Accept").await;
    // A watch shows no list or time picker: the composer does not offer them.
    let kinds = sam
        .browser
        .by_role("combobox", "Reply type", WAIT)
        .await
        .unwrap();
    let disabled = sam
        .browser
        .execute(
            "return [...arguments[0].options].filter(o => o.disabled).map(o => o.text)",
            vec![Browser::arg(&kinds)],
        )
        .await
        .unwrap();
    assert_eq!(
        disabled,
        json!(["List picker", "Time picker"]),
        "a watch's composer offers neither picker"
    );
    sam.click("Return to bot").await;
    sam.browser
        .wait_for("the conversation shown with the bot", WAIT, || async {
            let heading = sam
                .browser
                .by_role_matching("heading", |n| n.contains("with the bot"))
                .await?;
            Ok(heading.into_iter().next())
        })
        .await
        .unwrap();
    assert_eq!(
        sim.devices()
            .text(&first, "What are your opening hours?")
            .await
            .unwrap()
            .status,
        200
    );
    customer_receives(
        &platform,
        &first,
        "the bot's answer after the hand-back",
        |b| {
            b["body"]
                .as_str()
                .is_some_and(|t| t.to_lowercase().contains("open"))
        },
    )
    .await;
    sam.shot("returned-to-bot").await;

    for page in [ava, sam] {
        page.browser.close().await.unwrap();
    }
    drop(driver);
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_over_embedded_backends_serves_an_agent_a_supervisor_and_nobody_else() {
    let platform = platform_with_agents(
        BackendKind::Embedded,
        BackendKind::Embedded,
        test_env(&[]),
        agents(),
    )
    .await;
    walk_through(platform, "embedded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_over_nats_and_redis_serves_an_agent_a_supervisor_and_nobody_else() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let env = server_env(&nats, &redis, &[]);
    let platform =
        platform_with_agents(BackendKind::Server, BackendKind::Server, env, agents()).await;
    walk_through(platform, "nats-redis").await;
}

/// The console's API over plain HTTP, as a hostile page or a stale tab would call it.
struct Api {
    base: String,
    http: reqwest::Client,
}

/// A signed-in agent: its session cookie and CSRF token.
#[derive(Clone)]
struct Signed {
    cookie: String,
    csrf: String,
}

impl Api {
    fn new(base: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    async fn sign_in(&self, token: &str) -> (reqwest::StatusCode, Option<Signed>, String) {
        let response = self
            .http
            .post(format!("{}/api/session", self.base))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if !status.is_success() {
            return (status, None, set_cookie);
        }
        let body: Value = response.json().await.unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();
        (status, Some(Signed { cookie, csrf }), set_cookie)
    }

    async fn signed(&self, token: &str) -> Signed {
        self.sign_in(token).await.1.expect("signed in")
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<&Signed>,
    ) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(who) = who {
            request = request.header("cookie", &who.cookie);
        }
        request
    }

    async fn get(&self, path: &str, who: Option<&Signed>) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::GET, path, who)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A command, with `csrf` as its token (`None`: no header) and `origin` if given.
    async fn command(
        &self,
        who: Option<&Signed>,
        csrf: Option<&str>,
        origin: Option<&str>,
        command: Value,
    ) -> (u16, Value) {
        let mut request = self
            .request(reqwest::Method::POST, "/api/commands", who)
            .json(&json!({ "command_id": format!("c-{}", rand_id()), "command": command }));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn presence_of(&self, supervisor: &Signed, agent: &str) -> String {
        let (status, agents) = self.get("/api/agents", Some(supervisor)).await;
        assert_eq!(status, 200, "{agents}");
        agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == agent)
            .map(|a| a["status"].as_str().unwrap().to_owned())
            .unwrap()
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn presence(status: &str, capacity: u32) -> Value {
    json!({ "presence": { "status": status, "capacity": capacity } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_requests_without_a_session_its_csrf_token_or_the_right_owner_are_refused_and_change_nothing()
 {
    let platform = platform_with_agents(
        BackendKind::Embedded,
        BackendKind::Embedded,
        test_env(&[]),
        agents(),
    )
    .await;
    let api = Api::new(platform.console_url.as_deref().unwrap());
    let sim = platform.sim.as_ref().unwrap();

    // Without a session: 401 everywhere.
    for path in [
        "/api/me",
        "/api/conversations",
        "/api/events",
        "/api/queues",
    ] {
        assert_eq!(api.get(path, None).await.0, 401, "{path}");
    }
    assert_eq!(
        api.command(None, None, None, presence("available", 1))
            .await
            .0,
        401
    );

    // Signing in: a wrong token is 401; a form post (not JSON) 400; another origin 403; a
    // good one sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP).
    assert_eq!(api.sign_in("token-nobody").await.0, 401);
    let form = api
        .http
        .post(format!("{}/api/session", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=token-ava")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 400);
    assert!(form.headers().get("set-cookie").is_none());
    let foreign = api
        .http
        .post(format!("{}/api/session", api.base))
        .header("origin", "https://evil.example")
        .json(&json!({ "token": "token-ava" }))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let (status, ava, set_cookie) = api.sign_in("token-ava").await;
    assert_eq!(status, 200);
    let ava = ava.unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let lee = api.signed("token-lee").await;

    // A state change without the CSRF token, with a wrong one, or from another origin is
    // 403 and changes nothing; with it, it is done.
    assert_eq!(
        api.command(Some(&ava), None, None, presence("available", 1))
            .await
            .0,
        403
    );
    assert_eq!(
        api.command(Some(&ava), Some(&lee.csrf), None, presence("available", 1))
            .await
            .0,
        403,
        "another session's token"
    );
    assert_eq!(
        api.command(
            Some(&ava),
            Some(&ava.csrf),
            Some("https://evil.example"),
            presence("available", 1)
        )
        .await
        .0,
        403
    );
    assert_eq!(
        api.presence_of(&lee, "ava").await,
        "offline",
        "nothing changed"
    );
    // Above the capacity the administrator allows (2): 400, nothing changed.
    let (status, body) = api
        .command(Some(&ava), Some(&ava.csrf), None, presence("available", 5))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("capacity 5"),
        "{body}"
    );
    assert_eq!(api.presence_of(&lee, "ava").await, "offline");
    let (status, body) = api
        .command(Some(&ava), Some(&ava.csrf), None, presence("available", 1))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.presence_of(&lee, "ava").await, "available");

    // A customer's conversation goes to Ava; Sam (same business) may not read or act on it.
    let customer = sim
        .devices()
        .new_device(BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    assert_eq!(
        sim.devices().text(&customer, "agent").await.unwrap().status,
        200
    );
    let reference = tokio::time::timeout(WAIT, async {
        loop {
            let (_, list) = api.get("/api/conversations", Some(&ava)).await;
            if let Some(reference) = list["conversations"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["assigned_agent_id"] == "ava")
                .and_then(|c| c["ref"].as_str())
            {
                break reference.to_owned();
            }
            // The conversation list has no event to await from outside a page.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the conversation is assigned to Ava");
    let sam = api.signed("token-sam").await;
    let (status, _) = api
        .get(
            &format!("/api/conversations/{reference}/transcript"),
            Some(&sam),
        )
        .await;
    assert_eq!(status, 403, "Sam was never offered it");
    let reply = json!({ "reply": { "conversation": reference, "content": { "text": { "body": "Sam here" } } } });
    assert_eq!(
        api.command(Some(&sam), Some(&sam.csrf), None, reply)
            .await
            .0,
        403
    );
    assert_eq!(
        api.command(
            Some(&sam),
            Some(&sam.csrf),
            None,
            json!({ "accept": { "conversation": reference } })
        )
        .await
        .0,
        403
    );
    let upload = api
        .request(
            reqwest::Method::POST,
            &format!("/api/conversations/{reference}/files?name=a.txt&type=text/plain"),
            Some(&sam),
        )
        .header("x-csrf-token", &sam.csrf)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 403);
    // Ava's own reply goes through: the only business message the customer gets from an agent.
    let ava_reply = json!({ "reply": { "conversation": reference, "content": { "text": { "body": "Ava here" } } } });
    assert_eq!(
        api.command(Some(&ava), Some(&ava.csrf), None, ava_reply)
            .await
            .0,
        200
    );
    customer_receives(&platform, &customer, "Ava's reply", |b| {
        b["body"] == "Ava here"
    })
    .await;
    let received = sim.state().received_by(&customer.customer);
    assert!(
        received.iter().all(|r| r.body["body"] != "Sam here"),
        "Sam's refused reply never left"
    );

    // Revoking: a supervisor ends every session of Ava (a second one too); signing out ends
    // that session. Each is 401 afterwards, and its commands change nothing.
    let ava_again = api.signed("token-ava").await;
    assert_eq!(
        api.request(
            reqwest::Method::POST,
            "/api/agents/ava/revoke-sessions",
            Some(&sam)
        )
        .header("x-csrf-token", &sam.csrf)
        .send()
        .await
        .unwrap()
        .status(),
        403,
        "only a supervisor revokes another agent's sessions"
    );
    assert_eq!(
        api.request(
            reqwest::Method::POST,
            "/api/agents/ava/revoke-sessions",
            Some(&lee)
        )
        .header("x-csrf-token", &lee.csrf)
        .send()
        .await
        .unwrap()
        .status(),
        204
    );
    for session in [&ava, &ava_again] {
        assert_eq!(api.get("/api/me", Some(session)).await.0, 401);
        assert_eq!(
            api.command(
                Some(session),
                Some(&session.csrf),
                None,
                presence("away", 1)
            )
            .await
            .0,
            401
        );
    }
    assert_eq!(
        api.presence_of(&lee, "ava").await,
        "available",
        "the revoked session changed nothing"
    );
    let signed_out = api
        .request(reqwest::Method::DELETE, "/api/session", Some(&sam))
        .header("x-csrf-token", &sam.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    assert!(
        signed_out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "the cookie is cleared"
    );
    assert_eq!(
        api.get("/api/me", Some(&sam)).await.0,
        401,
        "the session itself is gone"
    );

    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
