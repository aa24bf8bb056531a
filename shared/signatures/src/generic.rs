//! `hmac`: a fully configurable HMAC for providers without a dedicated scheme, with the
//! signature alone in its header or combined with a timestamp (`t=…,v1=…`). It is also
//! the engine behind Vapi's HMAC credential, the GitHub preset, CallRail, Bland and
//! ElevenLabs.

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
    /// The combined form: timestamp and signature(s) in the one `header`.
    pub combined: Option<Combined>,
}

/// A combined signature header, `t=1700000000,v1=<sig>[,v1=<sig>…]` (Stripe's shape,
/// ElevenLabs' with `v0`): the keys of the timestamp and of the signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    pub timestamp_key: String,
    pub signature_key: String,
}

/// More signatures than this in one header is not a rotation but an attempt to make us
/// compute many MACs.
const MAX_SIGNATURES: usize = 8;

/// The timestamp and signatures of a combined header value.
fn split_combined<'v>(
    value: &'v str,
    c: &Combined,
    header: &str,
) -> Result<(&'v str, Vec<&'v str>), AuthFailure> {
    let malformed = || AuthFailure::MalformedHeader(header.to_owned());
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in value.split(',') {
        let (k, v) = item.trim().split_once('=').ok_or_else(malformed)?;
        if k == c.timestamp_key {
            if timestamp.replace(v).is_some() {
                return Err(malformed());
            }
        } else if k == c.signature_key {
            signatures.push(v);
        }
    }
    if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
        return Err(malformed());
    }
    Ok((timestamp.ok_or_else(malformed)?, signatures))
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
            combined: None,
        }
    }

    /// A body MAC in one header with no timestamp (CallRail, Bland).
    pub fn body_only(header: &str, algorithm: MacAlgorithm, encoding: SigEncoding) -> Self {
        Self {
            header: header.into(),
            prefix: None,
            algorithm,
            encoding,
            payload: "{body}".into(),
            timestamp_header: None,
            id_header: None,
            tolerance_secs: crate::DEFAULT_TOLERANCE_SECS,
            combined: None,
        }
    }

    /// ElevenLabs: `ElevenLabs-Signature: t=<unix>,v0=<hex>` over `{t}.{body}`.
    pub fn elevenlabs(tolerance_secs: u64) -> Self {
        Self {
            header: "elevenlabs-signature".into(),
            prefix: None,
            algorithm: MacAlgorithm::Sha256,
            encoding: SigEncoding::Hex,
            payload: "{timestamp}.{body}".into(),
            timestamp_header: None,
            id_header: None,
            tolerance_secs,
            combined: Some(Combined {
                timestamp_key: "t".into(),
                signature_key: "v0".into(),
            }),
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
        let dated = params.timestamp_header.is_some() || params.combined.is_some();
        if template.uses(&Part::Timestamp) && !dated {
            return Err("payload uses {timestamp} but no timestamp_header is set".into());
        }
        if dated && !template.uses(&Part::Timestamp) {
            return Err(
                "timestamp_header (or timestamp_key) is set but the payload does not sign {timestamp}"
                    .into(),
            );
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
        let value = match &p.prefix {
            Some(prefix) => value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| AuthFailure::MalformedHeader(p.header.clone()))?,
            None => value,
        };
        let (timestamp, encoded) = match &p.combined {
            Some(c) => split_combined(value, c, &p.header)?,
            None => {
                let ts = match &p.timestamp_header {
                    Some(name) => header(d.headers, &[name])?,
                    None => "",
                };
                (ts, vec![value])
            }
        };
        if p.timestamp_header.is_some() || p.combined.is_some() {
            let name = p.timestamp_header.as_deref().unwrap_or(&p.header);
            check_time(
                parse_secs(timestamp, name)?.saturating_mul(1000),
                now_ms,
                p.tolerance_secs,
            )?;
        }
        // Only ever a signed id (checked in `new`).
        let id = match &p.id_header {
            Some(name) => Some(header(d.headers, &[name])?),
            None => None,
        };
        let parts = self.template.render(d.body, timestamp, id.unwrap_or(""));
        let mut decoded_any = false;
        let mut ok = false;
        // Every listed signature is checked (no early exit).
        for encoded in encoded {
            if let Some(sig) = decode_sig(encoded, p.encoding, p.algorithm) {
                decoded_any = true;
                ok |= self.keys.any_verifies(&parts, &sig);
            }
        }
        if !decoded_any {
            return Err(AuthFailure::MalformedHeader(p.header.clone()).into());
        }
        if ok {
            Ok(Verified::with_id(id.map(str::to_owned)))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
