//! What the simulator needs to know.

/// The simulator's configuration.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The MSP id (`iss` of the MSP's tokens, `aud` of Apple's).
    pub msp_id: String,
    /// The API secret, Base64 as Apple delivers it.
    pub secret_base64: String,
    /// The businesses that exist.
    pub businesses: Vec<String>,
    /// The MSP's webhook (`https://msp.example/message`), where devices send.
    pub msp_webhook_url: Option<String>,
}
