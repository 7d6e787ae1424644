//! Apple Pay (`data.payment`; no capability flag, works on every device;
//! apple-mfb-api.md §6.7): the payment request sent in an interactive message, the merchant
//! session request, and the bodies of the callbacks Apple makes to the MSP (payment gateway and
//! the three update URLs) with their responses.
//!
//! Apple's sample treats every callback as plain JSON (no gzip, no JWT).

use serde::{Deserialize, Serialize};

use crate::model::common::{Extra, SchemaVersion, string_enum};

/// `data.payment` in an interactive message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Payment {
    /// The Apple Pay payment request.
    #[serde(
        rename = "paymentRequest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_request: Option<PaymentRequest>,
    /// The merchant session from Apple Pay's `paymentSession` endpoint, passed through as is.
    #[serde(
        rename = "merchantSession",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_session: Option<Extra>,
    /// Callback URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<PaymentEndpoints>,
    /// Keys this crate does not know (including whatever a device reply carries; its shape
    /// is UNKNOWN).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `payment.paymentRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// Line items.
    #[serde(rename = "lineItems", default, skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<LineItem>>,
    /// Total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<LineItem>,
    /// Merchant configuration.
    #[serde(rename = "applePay", default, skip_serializing_if = "Option::is_none")]
    pub apple_pay: Option<ApplePayConfig>,
    /// Merchant name shown on the sheet.
    #[serde(
        rename = "merchantName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_name: Option<String>,
    /// ISO 3166 country code, e.g. `US`.
    #[serde(
        rename = "countryCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub country_code: Option<String>,
    /// ISO 4217 currency code, e.g. `USD`.
    #[serde(
        rename = "currencyCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub currency_code: Option<String>,
    /// Billing contact fields to ask for, e.g. `post`.
    #[serde(
        rename = "requiredBillingContactFields",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub required_billing_contact_fields: Option<Vec<String>>,
    /// Shipping contact fields to ask for.
    #[serde(
        rename = "requiredShippingContactFields",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub required_shipping_contact_fields: Option<Vec<String>>,
    /// Shipping methods to offer.
    #[serde(
        rename = "shippingMethods",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_methods: Option<Vec<ShippingMethod>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A line item or total.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineItem {
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Amount as a decimal string, e.g. `10.00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// `final` or `pending`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LineItem {
    /// A `final` line item.
    pub fn new(label: impl Into<String>, amount: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            amount: Some(amount.into()),
            item_type: Some("final".to_owned()),
            extra: Extra::new(),
        }
    }
}

/// `paymentRequest.applePay`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApplePayConfig {
    /// The Apple Pay merchant id.
    #[serde(
        rename = "merchantIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_identifier: Option<String>,
    /// Card networks, e.g. `visa`, `masterCard`.
    #[serde(
        rename = "supportedNetworks",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub supported_networks: Option<Vec<String>>,
    /// Capabilities, e.g. `supports3DS`.
    #[serde(
        rename = "merchantCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_capabilities: Option<Vec<String>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A shipping method.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShippingMethod {
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Detail line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Amount as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Method id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `payment.endpoints`: the URLs Apple calls.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentEndpoints {
    /// Receives the authorized payment ([`PaymentGatewayRequest`]).
    #[serde(
        rename = "paymentGatewayUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_gateway_url: Option<String>,
    /// Fallback URL.
    #[serde(
        rename = "fallbackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fallback_url: Option<String>,
    /// Order tracking URL.
    #[serde(
        rename = "orderTrackingUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub order_tracking_url: Option<String>,
    /// Receives [`PaymentUpdateKind::PaymentMethod`] updates.
    #[serde(
        rename = "paymentMethodUpdateUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_method_update_url: Option<String>,
    /// Receives [`PaymentUpdateKind::ShippingContact`] updates.
    #[serde(
        rename = "shippingContactUpdateUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_contact_update_url: Option<String>,
    /// Receives [`PaymentUpdateKind::ShippingMethod`] updates.
    #[serde(
        rename = "shippingMethodUpdateUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_method_update_url: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body POSTed (with the merchant identity certificate) to Apple Pay's
/// `paymentservices/paymentSession` to obtain a merchant session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MerchantSessionRequest {
    /// The Apple Pay merchant id.
    #[serde(
        rename = "merchantIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub merchant_identifier: Option<String>,
    /// The verified domain.
    #[serde(
        rename = "domainName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_name: Option<String>,
    /// Display name.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// Always `messaging` for Messages for Business.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiative: Option<String>,
    /// The `paymentGatewayUrl`.
    #[serde(
        rename = "initiativeContext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub initiative_context: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MerchantSessionRequest {
    /// A request with `initiative: "messaging"` and the gateway URL as context.
    pub fn messaging(
        merchant_identifier: impl Into<String>,
        domain_name: impl Into<String>,
        display_name: impl Into<String>,
        payment_gateway_url: impl Into<String>,
    ) -> Self {
        Self {
            merchant_identifier: Some(merchant_identifier.into()),
            domain_name: Some(domain_name.into()),
            display_name: Some(display_name.into()),
            initiative: Some("messaging".to_owned()),
            initiative_context: Some(payment_gateway_url.into()),
            extra: Extra::new(),
        }
    }
}

/// The body Apple POSTs to `paymentGatewayUrl` once the user authorizes the payment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentGatewayRequest {
    /// The interactive message's request id.
    #[serde(
        rename = "requestIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_identifier: Option<String>,
    /// Version, `1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SchemaVersion>,
    /// The authorized payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentAuthorization>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `payment` in a [`PaymentGatewayRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentAuthorization {
    /// Billing contact.
    #[serde(
        rename = "billingContact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub billing_contact: Option<PaymentContact>,
    /// The Apple Pay token (standard Apple Pay token format).
    #[serde(
        rename = "paymentToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_token: Option<PaymentToken>,
    /// Shipping contact.
    #[serde(
        rename = "shippingContact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_contact: Option<PaymentContact>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Apple Pay payment token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentToken {
    /// The card used.
    #[serde(
        rename = "paymentMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_method: Option<PaymentMethod>,
    /// The encrypted payment data, passed through to the processor as is.
    #[serde(
        rename = "paymentData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_data: Option<Extra>,
    /// Transaction id.
    #[serde(
        rename = "transactionIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_identifier: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A payment method (card).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// e.g. `Visa 1234`.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// e.g. `Visa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// e.g. `Credit`, `debit`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub method_type: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A billing or shipping contact (Apple Pay's contact format; the common keys are typed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentContact {
    /// Street lines.
    #[serde(
        rename = "addressLines",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub address_lines: Option<Vec<String>>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or province.
    #[serde(
        rename = "administrativeArea",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub administrative_area: Option<String>,
    /// Postal code.
    #[serde(
        rename = "postalCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub postal_code: Option<String>,
    /// Country name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO country code.
    #[serde(
        rename = "countryCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub country_code: Option<String>,
    /// Given name.
    #[serde(rename = "givenName", default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(
        rename = "familyName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name: Option<String>,
    /// Email address.
    #[serde(
        rename = "emailAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub email_address: Option<String>,
    /// Phone number.
    #[serde(
        rename = "phoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

string_enum! {
    /// `status` in the response to the payment gateway callback.
    pub enum PaymentStatus {
        /// A status this crate does not know.
        Unknown(String);
        /// `STATUS_SUCCESS` (Apple's sample).
        Success = "STATUS_SUCCESS",
        /// `STATUS_FAILURE`: inferred from Apple Pay's authorization statuses; other status
        /// strings are UNKNOWN and kept in `Unknown`.
        Failure = "STATUS_FAILURE",
    }
}

/// The MSP's 200 response to the payment gateway callback: `{"status": "STATUS_SUCCESS"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentGatewayResponse {
    /// Outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PaymentStatus>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PaymentGatewayResponse {
    /// `{"status": "STATUS_SUCCESS"}`.
    pub fn success() -> Self {
        Self {
            status: Some(PaymentStatus::Success),
            extra: Extra::new(),
        }
    }

    /// `{"status": "STATUS_FAILURE"}`.
    pub fn failure() -> Self {
        Self {
            status: Some(PaymentStatus::Failure),
            extra: Extra::new(),
        }
    }
}

/// Which update callback a [`PaymentUpdateRequest`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentUpdateKind {
    /// `paymentMethodUpdateUrl`: `payment.paymentMethod`.
    PaymentMethod,
    /// `shippingContactUpdateUrl`: `payment.shippingContact`.
    ShippingContact,
    /// `shippingMethodUpdateUrl`: `payment.shippingMethod`.
    ShippingMethod,
}

/// The body Apple POSTs to one of the three update URLs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentUpdateRequest {
    /// The interactive message's request id.
    #[serde(
        rename = "requestIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_identifier: Option<String>,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SchemaVersion>,
    /// What changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentUpdate>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PaymentUpdateRequest {
    /// Which update this is, from the key present in `payment`.
    pub fn kind(&self) -> Option<PaymentUpdateKind> {
        let p = self.payment.as_ref()?;
        if p.payment_method.is_some() {
            Some(PaymentUpdateKind::PaymentMethod)
        } else if p.shipping_contact.is_some() {
            Some(PaymentUpdateKind::ShippingContact)
        } else if p.shipping_method.is_some() {
            Some(PaymentUpdateKind::ShippingMethod)
        } else {
            None
        }
    }
}

/// `payment` in a [`PaymentUpdateRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentUpdate {
    /// The new payment method.
    #[serde(
        rename = "paymentMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_method: Option<PaymentMethod>,
    /// The new shipping contact.
    #[serde(
        rename = "shippingContact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_contact: Option<PaymentContact>,
    /// The new shipping method.
    #[serde(
        rename = "shippingMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_method: Option<ShippingMethod>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The MSP's 200 response to an update callback: new line items and total, or `{}` for no
/// change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentUpdateResponse {
    /// Replacement line items.
    #[serde(
        rename = "newLineItems",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub new_line_items: Option<Vec<LineItem>>,
    /// Replacement total.
    #[serde(rename = "newTotal", default, skip_serializing_if = "Option::is_none")]
    pub new_total: Option<LineItem>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PaymentUpdateResponse {
    /// `{}`: nothing changes.
    pub fn no_change() -> Self {
        Self::default()
    }

    /// New line items and total.
    pub fn update(line_items: Vec<LineItem>, total: LineItem) -> Self {
        Self {
            new_line_items: Some(line_items),
            new_total: Some(total),
            extra: Extra::new(),
        }
    }
}
