//! `hmac`: a fully configurable HMAC for providers without a dedicated scheme (and the
//! engine behind Vapi's HMAC credential and the GitHub preset).

use crate::mac::{MacAlgorithm, MacKeys, Part, SigEncoding, Template, decode_sig};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, check_time, header, parse_secs};
use secrecy::SecretSlice;

/// Everything that describes one HMAC scheme. Header names are lowercase.
#[derive(Debug, Clone)]
pub struct HmacParams {
    pub header: String,
    pub prefix: Option<String>,
    pub algorithm: MacAlgorithm,
    pub encoding: SigEncoding,
    pub payload: String,
    pub timestamp_header: Option<String>,
    pub id_header: Option<String>,
    pub tolerance_secs: u64,
}

impl HmacParams {
    /// GitHub's `X-Hub-Signature-256: sha256=<hex>` over the body. `X-GitHub-Delivery` is
    /// not signed, so it cannot be the dedup id (a forger could pick it): the body hash is.
    pub fn github() -> Self {
        Self {
            header: "x-hub-signature-256".into(),
            prefix: Some("sha256=".into()),
            algorithm: MacAlgorithm::Sha256,
            encoding: SigEncoding::Hex,
            payload: "{body}".into(),
            timestamp_header: None,
            id_header: None,
            tolerance_secs: crate::DEFAULT_TOLERANCE_SECS,
        }
    }
}

#[derive(Debug)]
pub struct GenericHmac {
    scheme: &'static str,
    params: HmacParams,
    template: Template,
    keys: MacKeys,
}

impl GenericHmac {
    /// Fails when the template is invalid, uses `{timestamp}` / `{id}` without the header
    /// that provides it, or names a header the template does not sign (an unsigned
    /// timestamp gives no replay protection; an unsigned id could be chosen by a forger).
    pub fn new(
        scheme: &'static str,
        params: HmacParams,
        secrets: &[SecretSlice<u8>],
    ) -> Result<Self, String> {
        let template = Template::parse(&params.payload)?;
        if template.uses(&Part::Timestamp) && params.timestamp_header.is_none() {
            return Err("payload uses {timestamp} but no timestamp_header is set".into());
        }
        if params.timestamp_header.is_some() && !template.uses(&Part::Timestamp) {
            return Err("timestamp_header is set but the payload does not sign {timestamp}".into());
        }
        match (template.uses(&Part::Id), params.id_header.is_some()) {
            (true, false) => return Err("payload uses {id} but no id_header is set".into()),
            (false, true) => {
                return Err("id_header is set but the payload does not sign {id}".into());
            }
            _ => {}
        }
        Ok(Self {
            scheme,
            keys: MacKeys::new(params.algorithm, secrets),
            template,
            params,
        })
    }
}

impl Verifier for GenericHmac {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn verify(&self, d: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection> {
        let p = &self.params;
        let value = header(d.headers, &[&p.header])?.trim();
        let encoded = match &p.prefix {
            Some(prefix) => value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| AuthFailure::MalformedHeader(p.header.clone()))?,
            None => value,
        };
        let sig = decode_sig(encoded, p.encoding, p.algorithm)
            .ok_or_else(|| AuthFailure::MalformedHeader(p.header.clone()))?;
        let timestamp = match &p.timestamp_header {
            Some(name) => {
                let ts = header(d.headers, &[name])?;
                check_time(
                    parse_secs(ts, name)?.saturating_mul(1000),
                    now_ms,
                    p.tolerance_secs,
                )?;
                ts
            }
            None => "",
        };
        // Only ever a signed id (checked in `new`).
        let id = match &p.id_header {
            Some(name) => Some(header(d.headers, &[name])?),
            None => None,
        };
        let parts = self.template.render(d.body, timestamp, id.unwrap_or(""));
        if self.keys.any_verifies(&parts, &sig) {
            Ok(Verified::with_id(id.map(str::to_owned)))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
