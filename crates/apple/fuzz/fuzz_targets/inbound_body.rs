//! The inbound webhook body: decoding (gzip or plain, with limits), parsing and validation
//! must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_apple::{
    body::{BodyLimits, decode_body},
    model::Message,
};

fuzz_target!(|data: &[u8]| {
    let limits = BodyLimits {
        max_encoded: 64 * 1024,
        max_decoded: 256 * 1024,
    };
    if let Ok(json) = decode_body(data, None, &limits) {
        if let Ok(message) = Message::parse(&json) {
            let _ = message.validate_inbound();
            let _ = message.to_vec();
        }
    }
    if let Ok(message) = Message::parse(data) {
        let _ = message.validate_inbound();
    }
});
