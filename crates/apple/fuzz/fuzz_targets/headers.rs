//! Apple's inbound headers: any names and values must parse or fail cleanly.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use parley_apple::headers::{Capabilities, InboundHeaders};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    let names = ["id", "source-id", "destination-id", "device-agent", "capability-list", "capabilities"];
    for (index, chunk) in data.split(|b| *b == 0).enumerate() {
        let name = names[index % names.len()];
        if let Ok(value) = HeaderValue::from_bytes(chunk) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let _ = InboundHeaders::parse(&headers);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Capabilities::parse(text);
    }
});
