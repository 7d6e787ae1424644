//! A real headless Chromium for console tests, driven over W3C WebDriver by Debian's
//! `chromedriver` on a free port.
//!
//! The client is the few WebDriver commands the tests use, over `reqwest`: sessions,
//! navigation, elements found by ARIA role and accessible name (WebDriver's
//! `computedrole` / `computedlabel`, which are the browser's own accessibility tree, so a
//! control a person cannot name is a control a test cannot find), clicks, keys, scripts and
//! screenshots. A WebDriver crate (fantoccini) was weighed: it speaks the same JSON, but
//! lacks the computed role and label commands, and its `webdriver` dependency adds some
//! thirty crates to build on this 2-core machine.
//!
//! Binaries: `CHROMEDRIVER_BIN` or `chromedriver` on `PATH`; `CHROMIUM_BIN` or `chromium`
//! on `PATH` (`apt-get install chromium chromium-driver`; `scripts/test` installs them).

use std::{
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Error, Result, free_port};

/// The W3C key of an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's code of the Tab key, for [`Browser::press`].
pub const KEY_TAB: &str = "\u{E004}";
/// WebDriver's code of the Enter key.
pub const KEY_ENTER: &str = "\u{E007}";
/// WebDriver's code of the space bar.
pub const KEY_SPACE: &str = "\u{E00D}";
/// WebDriver's code of the down arrow.
pub const KEY_DOWN: &str = "\u{E015}";
/// Bound for chromedriver to answer `/status` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound for one WebDriver command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two looks at the page while waiting for it to show something: a page
/// offers a test no event to await, so [`Browser::wait_for`] polls, within its bound.
const POLL: Duration = Duration::from_millis(50);

const ADVICE: &str = "apt-get install -y chromium chromium-driver";

fn find_binary(env: &str, names: &[&'static str]) -> Result<PathBuf> {
    if let Some(explicit) = crate::binary::env_var_os(env).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(explicit));
    }
    let path = crate::binary::env_var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::NotFound {
        binary: names.first().copied().unwrap_or("chromium"),
        searched: format!("${env}, then PATH"),
        advice: ADVICE,
    })
}

fn browser_error(what: impl std::fmt::Display) -> Error {
    Error::Browser(what.to_string())
}

/// A running chromedriver; killed on drop.
pub struct Chromedriver {
    child: Child,
    url: String,
    chromium: PathBuf,
    http: reqwest::Client,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start() -> Result<Self> {
        let driver = find_binary("CHROMEDRIVER_BIN", &["chromedriver"])?;
        let chromium = find_binary("CHROMIUM_BIN", &["chromium", "chromium-browser"])?;
        let port = free_port()?;
        // Its own process group, so dropping it also ends the browsers it started (a test
        // that panics never closes its windows).
        let child = Command::new(&driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io(format!("cannot start {}", driver.display()), e))?;
        let http = reqwest::Client::builder()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .map_err(browser_error)?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
            http,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "chromedriver answering /status".to_owned(),
                    within: READY_TIMEOUT,
                    detail: driver.url.clone(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A new headless browser window, 1400 x 1000, English.
    pub async fn browser(&self) -> Result<Browser> {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": self.chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                        "--disable-gpu", "--window-size=1400,1000", "--lang=en-US",
                        "--no-first-run", "--disable-extensions",
                    ],
                    "prefs": { "intl.accept_languages": "en-US,en" },
                },
            }}
        });
        let answer = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.url),
            Some(capabilities),
        )
        .await?;
        let id = answer
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| browser_error(format!("no session id in {answer}")))?;
        Ok(Browser {
            http: self.http.clone(),
            session: format!("{}/session/{id}", self.url),
        })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(browser_error)?;
    let status = response.status();
    let body: Value = response.json().await.map_err(browser_error)?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(browser_error(format!(
            "{url}: {status}: {}",
            value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
        )));
    }
    Ok(value)
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// One browser window (a WebDriver session); close it with [`Browser::close`].
pub struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        call(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.command(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// Reloads the page.
    pub async fn refresh(&self) -> Result<()> {
        self.post("/refresh", json!({})).await.map(drop)
    }

    /// Every element `css` selects (an element selector such as `button`, never a class).
    pub async fn all(&self, css: &str) -> Result<Vec<Element>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await?;
        Ok(found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e.get(ELEMENT_KEY).and_then(Value::as_str))
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The element's ARIA role, as the browser computes it.
    pub async fn role(&self, element: &Element) -> Result<String> {
        let role = self
            .get(&format!("/element/{}/computedrole", element.0))
            .await?;
        Ok(role.as_str().unwrap_or_default().to_owned())
    }

    /// The element's accessible name, as the browser computes it.
    pub async fn name(&self, element: &Element) -> Result<String> {
        let name = self
            .get(&format!("/element/{}/computedlabel", element.0))
            .await?;
        Ok(name.as_str().unwrap_or_default().to_owned())
    }

    /// The displayed elements whose role is `role` and whose accessible name `matches`.
    pub async fn by_role_matching(
        &self,
        role: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Result<Vec<Element>> {
        let mut found = Vec::new();
        for element in self.all(candidates(role)).await? {
            // An element may go away between the listing and the look (a re-render).
            let Ok(actual) = self.role(&element).await else {
                continue;
            };
            if actual != role || !self.displayed(&element).await.unwrap_or(false) {
                continue;
            }
            if let Ok(name) = self.name(&element).await
                && matches(name.trim())
            {
                found.push(element);
            }
        }
        Ok(found)
    }

    /// The one displayed element of `role` named exactly `name`, waiting up to `within`.
    pub async fn by_role(&self, role: &str, name: &str, within: Duration) -> Result<Element> {
        self.wait_for(&format!("a {role} named “{name}”"), within, || async {
            Ok(self
                .by_role_matching(role, |n| n == name)
                .await?
                .into_iter()
                .next())
        })
        .await
    }

    /// Waits until `look` finds something, at most `within`.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, within: Duration, look: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + within;
        let mut last_error = String::new();
        loop {
            match look().await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(error) => last_error = error.to_string(),
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: what.to_owned(),
                    within,
                    detail: last_error,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element.
    pub async fn click(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await
            .map(drop)
    }

    /// Empties a text field.
    pub async fn clear(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await
            .map(drop)
    }

    /// Types `text` into the element (for a file input: the file's path).
    pub async fn type_text(&self, element: &Element, text: &str) -> Result<()> {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self, element: &Element) -> Result<String> {
        let text = self.get(&format!("/element/{}/text", element.0)).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Whether the element is enabled.
    pub async fn enabled(&self, element: &Element) -> Result<bool> {
        let enabled = self.get(&format!("/element/{}/enabled", element.0)).await?;
        Ok(enabled.as_bool().unwrap_or(false))
    }

    /// Whether the element is displayed.
    pub async fn displayed(&self, element: &Element) -> Result<bool> {
        let shown = self
            .get(&format!("/element/{}/displayed", element.0))
            .await?;
        Ok(shown.as_bool().unwrap_or(false))
    }

    /// A DOM property of the element (`value`, `naturalWidth`, `dir` …).
    pub async fn property(&self, element: &Element, name: &str) -> Result<Value> {
        self.get(&format!("/element/{}/property/{name}", element.0))
            .await
    }

    /// Picks the option named `option` of a `<select>` (a combobox).
    pub async fn choose(&self, select: &Element, option: &str) -> Result<()> {
        let options = self
            .post(
                &format!("/element/{}/elements", select.0),
                json!({ "using": "css selector", "value": "option" }),
            )
            .await?;
        for id in options
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.get(ELEMENT_KEY).and_then(Value::as_str))
        {
            let element = Element(id.to_owned());
            if self.text(&element).await?.trim() == option {
                return self.click(&element).await;
            }
        }
        Err(browser_error(format!("no option “{option}”")))
    }

    /// The element that has the keyboard focus, if any (the page's body counts as none).
    pub async fn focused(&self) -> Result<Option<Element>> {
        let active = self.get("/element/active").await?;
        let Some(id) = active.get(ELEMENT_KEY).and_then(Value::as_str) else {
            return Ok(None);
        };
        let element = Element(id.to_owned());
        let tag = self.get(&format!("/element/{id}/name")).await?;
        Ok((tag.as_str() != Some("body")).then_some(element))
    }

    /// Presses `keys` one after another on whatever has the focus, as a person at a
    /// keyboard would (WebDriver key actions, nothing focused on the way): characters, or
    /// the WebDriver codes [`KEY_TAB`], [`KEY_ENTER`], [`KEY_SPACE`], [`KEY_DOWN`].
    pub async fn press(&self, keys: &str) -> Result<()> {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": key.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": key.to_string() }));
        }
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await
        .map(drop)
    }

    /// Presses Tab until the focus is on a displayed element of `role` whose accessible
    /// name `matches`, at most `within` (a control that cannot be reached by Tab is never
    /// found). Answers that element.
    pub async fn tab_to(
        &self,
        role: &str,
        what: &str,
        matches: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Result<Element> {
        let deadline = Instant::now() + within;
        loop {
            // The focused element may be re-rendered between the looks (a stale element):
            // that is no match yet, and the next Tab goes on from wherever the focus is.
            if let Ok(Some(element)) = self.focused().await
                && self.role(&element).await.is_ok_and(|r| r == role)
                && self.name(&element).await.is_ok_and(|n| matches(n.trim()))
            {
                return Ok(element);
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("Tab to a {role} {what}"),
                    within,
                    detail: String::new(),
                });
            }
            self.press(KEY_TAB).await?;
        }
    }

    /// Runs `script` in the page with `args`; answers its return value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The element as a script argument.
    pub fn arg(element: &Element) -> Value {
        json!({ ELEMENT_KEY: element.0 })
    }

    /// Writes a PNG of the window to `path` (its directory is created).
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.get("/screenshot").await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .map_err(browser_error)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        std::fs::write(path, bytes)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Ends the session (closes the window).
    pub async fn close(self) -> Result<()> {
        self.command(reqwest::Method::DELETE, "", None)
            .await
            .map(drop)
    }
}

/// The elements that can have `role` (element selectors, never classes).
fn candidates(role: &str) -> &'static str {
    match role {
        "button" => "button, [role=button], input[type=submit], input[type=button]",
        "textbox" => {
            "input:not([type]), input[type=text], input[type=password], textarea, [role=textbox]"
        }
        "combobox" => "select, [role=combobox]",
        "spinbutton" => "input[type=number], [role=spinbutton]",
        "status" => "[role=status]",
        "link" => "a[href]",
        // Chromium computes `image` (ARIA 1.3's name for `img`).
        "image" | "img" => "img, [role=img], [role=image]",
        "log" => "[role=log]",
        "table" => "table",
        "heading" => "h1, h2, h3, h4",
        _ => "*",
    }
}
