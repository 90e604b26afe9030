//! Linkerd's identity certificates, generated in Rust (rcgen), never by shelling out to openssl.
//!
//! Linkerd's requirements (linkerd.io "Generating your own mTLS root certificates"; linkerd2
//! pkg/issuercerts): every certificate ECDSA P-256; the trust anchor a self-signed CA
//! (`root.linkerd.cluster.local`); the issuer a CA (`identity.linkerd.cluster.local`, path length 0)
//! signed by the trust anchor. `linkerd check` warns when either expires within 60 days.

use anyhow::{bail, ensure, Context as _, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::redact;

pub const ANCHOR_CN: &str = "root.linkerd.cluster.local";
pub const ISSUER_CN: &str = "identity.linkerd.cluster.local";
/// `linkerd check` warns this long before expiry; so do `doctor` and `validate`.
pub const WARN_DAYS: i64 = 60;

/// The mesh identity: the trust anchor and the issuer, each certificate with its private key (PEM).
#[derive(Serialize, Deserialize, Clone)]
pub struct Identity {
    pub trust_anchor_pem: String,
    pub trust_anchor_key_pem: String,
    pub issuer_pem: String,
    pub issuer_key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity { keys: *** }")
    }
}

impl Identity {
    /// A new trust anchor and an issuer signed by it.
    pub fn generate(anchor_days: u32, issuer_days: u32) -> Result<Identity> {
        let anchor_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the trust anchor key")?;
        let anchor = CertifiedIssuer::self_signed(ca_params(ANCHOR_CN, anchor_days, None), anchor_key)
            .context("signing the trust anchor")?;
        let (issuer_pem, issuer_key_pem) = issue(&anchor, issuer_days)?;
        let identity = Identity {
            trust_anchor_pem: anchor.pem(),
            trust_anchor_key_pem: anchor.key().serialize_pem(),
            issuer_pem,
            issuer_key_pem,
        };
        identity.register_secrets();
        Ok(identity)
    }

    /// A new issuer signed by the same trust anchor (the anchor and its key are kept).
    pub fn rotate_issuer(&self, issuer_days: u32) -> Result<Identity> {
        let anchor_key = KeyPair::from_pem(&self.trust_anchor_key_pem).context("reading the trust anchor key")?;
        let anchor =
            Issuer::from_ca_cert_pem(&self.trust_anchor_pem, anchor_key).context("reading the trust anchor")?;
        let (issuer_pem, issuer_key_pem) = issue(&anchor, issuer_days)?;
        let identity = Identity { issuer_pem, issuer_key_pem, ..self.clone() };
        identity.register_secrets();
        Ok(identity)
    }

    /// Parses the JSON kept in Secrets Manager; the keys are registered as secrets at once.
    pub fn from_json(text: &str) -> Result<Identity> {
        let identity: Identity =
            serde_json::from_str(text).context("the stored mesh identity is not the expected JSON")?;
        identity.register_secrets();
        Ok(identity)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain strings serialise")
    }

    fn register_secrets(&self) {
        redact::add(&self.trust_anchor_key_pem);
        redact::add(&self.issuer_key_pem);
    }

    /// The checks Linkerd's identity controller makes, done before anything is installed.
    pub fn verify(&self, now: i64) -> Result<()> {
        let anchor = CertInfo::parse(&self.trust_anchor_pem).context("trust anchor")?;
        let issuer = CertInfo::parse(&self.issuer_pem).context("issuer")?;
        ensure!(anchor.is_ca && issuer.is_ca, "both the trust anchor and the issuer must be CAs");
        ensure!(anchor.p256 && issuer.p256, "both certificates must use ECDSA P-256");
        ensure!(issuer.issuer == anchor.subject, "the issuer is not signed by the trust anchor");
        ensure!(
            issuer.signed_by(&self.trust_anchor_pem)?,
            "the issuer's signature does not verify with the trust anchor"
        );
        for (name, cert) in [("trust anchor", &anchor), ("issuer", &issuer)] {
            if cert.not_after <= now {
                bail!("the {name} expired");
            }
        }
        Ok(())
    }
}

fn ca_params(cn: &str, days: u32, path_len: Option<u8>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    // A little slack for clocks that lag behind this machine's.
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(i64::from(days));
    params.use_authority_key_identifier_extension = true;
    params
}

fn issue(anchor: &Issuer<'_, impl rcgen::SigningKey>, days: u32) -> Result<(String, String)> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the issuer key")?;
    let cert = ca_params(ISSUER_CN, days, Some(0)).signed_by(&key, anchor).context("signing the issuer")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// What the xtask needs to know about a certificate.
#[derive(Debug)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_after: i64,
    pub is_ca: bool,
    pub p256: bool,
    der: Vec<u8>,
}

impl CertInfo {
    pub fn parse(pem_text: &str) -> Result<CertInfo> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).context("not a PEM certificate")?;
        let der = pem.contents.clone();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).context("not an X.509 certificate")?;
        let p256 = cert.public_key().algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok())
            == Some(x509_parser::oid_registry::OID_EC_P256);
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca),
            p256,
            der,
        })
    }

    /// Whether `ca_pem`'s key signed this certificate.
    fn signed_by(&self, ca_pem: &str) -> Result<bool> {
        let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).context("not a PEM certificate")?;
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_pem.contents).context("not an X.509 certificate")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&self.der).context("not an X.509 certificate")?;
        Ok(cert.verify_signature(Some(ca.public_key())).is_ok())
    }

    /// Days until expiry (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// Warnings for certificates that expire within [`WARN_DAYS`]: `(name, days left)`.
pub fn expiry_warnings(certs: &[(&str, &str)], now: i64) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for (name, pem) in certs {
        let info = CertInfo::parse(pem).with_context(|| format!("reading the {name}"))?;
        let days = info.days_left(now);
        if days < 0 {
            warnings.push(format!("the mesh {name} expired {} day(s) ago", -days));
        } else if days < WARN_DAYS {
            warnings.push(format!("the mesh {name} expires in {days} day(s) (under {WARN_DAYS})"));
        }
    }
    Ok(warnings)
}

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_meets_linkerds_requirements() {
        let id = Identity::generate(3650, 365).unwrap();
        id.verify(now()).unwrap();
        let anchor = CertInfo::parse(&id.trust_anchor_pem).unwrap();
        let issuer = CertInfo::parse(&id.issuer_pem).unwrap();
        assert_eq!(anchor.subject, format!("CN={ANCHOR_CN}"));
        assert_eq!(issuer.subject, format!("CN={ISSUER_CN}"));
        assert_eq!(issuer.issuer, anchor.subject);
        assert!((364..=365).contains(&issuer.days_left(now())));
        assert!((3649..=3650).contains(&anchor.days_left(now())));
        assert!(!format!("{id:?}").contains("PRIVATE"), "Debug never shows keys");
        assert_eq!(redact::apply(&id.issuer_key_pem).trim(), "***", "keys are registered as secrets");
    }

    #[test]
    fn rotation_keeps_the_anchor_and_signs_a_new_issuer() {
        let id = Identity::generate(3650, 365).unwrap();
        let rotated = id.rotate_issuer(90).unwrap();
        assert_eq!(rotated.trust_anchor_pem, id.trust_anchor_pem);
        assert_ne!(rotated.issuer_pem, id.issuer_pem);
        rotated.verify(now()).unwrap();
        // An issuer from another anchor does not verify.
        let other = Identity::generate(3650, 365).unwrap();
        let mixed = Identity { issuer_pem: other.issuer_pem.clone(), ..id.clone() };
        assert!(mixed.verify(now()).is_err());
    }

    #[test]
    fn expiry_within_60_days_is_a_warning() {
        let id = Identity::generate(3650, 45).unwrap();
        let w = expiry_warnings(&[("trust anchor", &id.trust_anchor_pem), ("issuer", &id.issuer_pem)], now()).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("the mesh issuer expires in 4"), "{w:?}");
        let later = now() + 50 * 86_400;
        let w = expiry_warnings(&[("issuer", &id.issuer_pem)], later).unwrap();
        assert!(w[0].contains("expired"), "{w:?}");
    }
}
