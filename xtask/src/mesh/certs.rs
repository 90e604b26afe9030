//! Linkerd's trust anchor, generated in Rust (rcgen), never by shelling out to openssl.
//!
//! Linkerd's requirements (linkerd.io "Generating your own mTLS root certificates"; linkerd2
//! pkg/issuercerts): every certificate ECDSA P-256; the trust anchor a self-signed CA
//! (`root.linkerd.cluster.local`); the issuer a CA (`identity.linkerd.cluster.local`) signed by it.
//! The xtask makes and keeps the anchor; cert-manager issues and renews the issuer from it in the
//! cluster (k8s/mesh/identity-issuer.yaml). `linkerd check` warns when either expires within 60 days.

use anyhow::{bail, ensure, Context as _, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use yasna::models::ObjectIdentifier;
use yasna::tags::TAG_UTCTIME;
use yasna::{ASN1Result, BERReader, Tag};

use crate::redact;

pub const ANCHOR_CN: &str = "root.linkerd.cluster.local";
/// The issuer's name Linkerd's identity controller requires: `identity.<namespace>.<trust domain>`.
pub const ISSUER_CN: &str = "identity.linkerd.cluster.local";
/// `linkerd check` warns this long before expiry; so do `doctor` and `validate`.
pub const WARN_DAYS: i64 = 60;

/// The mesh identity the xtask keeps: the trust anchor and its private key (PEM). (Identities stored
/// before cert-manager issued the issuer also hold an issuer and its key: they are not read.)
#[derive(Serialize, Deserialize, Clone)]
pub struct Identity {
    pub trust_anchor_pem: String,
    pub trust_anchor_key_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity { keys: *** }")
    }
}

impl Identity {
    /// A new trust anchor.
    pub fn generate(anchor_days: u32) -> Result<Identity> {
        let anchor_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the trust anchor key")?;
        let anchor = CertifiedIssuer::self_signed(ca_params(ANCHOR_CN, anchor_days), anchor_key)
            .context("signing the trust anchor")?;
        let identity = Identity { trust_anchor_pem: anchor.pem(), trust_anchor_key_pem: anchor.key().serialize_pem() };
        identity.register_secrets();
        Ok(identity)
    }

    /// Parses the JSON kept in Secrets Manager; the key is registered as a secret at once.
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
    }

    /// The checks Linkerd makes of a trust anchor, done before anything is installed: an ECDSA P-256
    /// CA that signed itself, with the key that goes with it, not expired.
    pub fn verify(&self, now: i64) -> Result<()> {
        let anchor = CertInfo::parse(&self.trust_anchor_pem).context("trust anchor")?;
        ensure!(anchor.is_ca, "the trust anchor must be a CA");
        ensure!(anchor.p256, "the trust anchor must use ECDSA P-256");
        ensure!(anchor.signed_by(&self.trust_anchor_pem)?, "the trust anchor is not self-signed");
        let key = KeyPair::from_pem(&self.trust_anchor_key_pem).context("reading the trust anchor key")?;
        ensure!(key.public_key_raw() == anchor.public_key.as_slice(), "the stored key is not the trust anchor's");
        if anchor.not_after <= now {
            bail!("the trust anchor expired");
        }
        Ok(())
    }
}

fn ca_params(cn: &str, days: u32) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    // A little slack for clocks that lag behind this machine's.
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(i64::from(days));
    params.use_authority_key_identifier_extension = true;
    params
}

/// What the xtask needs to know about a certificate, read from its DER with yasna (the DER library rcgen
/// itself writes certificates with) along RFC 5280 §4.1's structure.
#[derive(Debug)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_after: i64,
    pub is_ca: bool,
    pub p256: bool,
    /// The DER of the subject and issuer Names: RFC 5280 §7.1 chains by comparing these.
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    /// The uncompressed EC point (or other key bits) from subjectPublicKeyInfo.
    public_key: Vec<u8>,
    /// What the signature covers (tbsCertificate's DER), with which algorithm, and the signature itself.
    tbs: Vec<u8>,
    signature_alg: ObjectIdentifier,
    signature: Vec<u8>,
}

// RFC 5758 §3.2 (ecdsa-with-SHA256/384), RFC 5480 §2.1.1 (id-ecPublicKey, secp256r1), RFC 5280 §4.2.1.
const ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];
const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const SECP256R1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];

impl CertInfo {
    pub fn parse(pem_text: &str) -> Result<CertInfo> {
        let pem = pem::parse(pem_text).ok().filter(|p| p.tag() == "CERTIFICATE").context("not a PEM certificate")?;
        Self::from_der(pem.contents()).map_err(|e| anyhow::anyhow!("not an X.509 certificate ({e})"))
    }

    fn from_der(der: &[u8]) -> ASN1Result<CertInfo> {
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
        let (tbs, signature_alg, signature) = yasna::parse_der(der, |r| {
            r.read_sequence(|r| {
                let tbs = r.next().read_der()?;
                let alg = r.next().read_sequence(|r| {
                    let oid = r.next().read_oid()?;
                    r.read_optional(|r| r.read_der())?;
                    Ok(oid)
                })?;
                Ok((tbs, alg, r.next().read_bitvec_bytes()?.0))
            })
        })?;
        let mut info = yasna::parse_der(&tbs, |r| {
            r.read_sequence(|r| {
                r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_i64()))?; // version
                r.next().read_der()?; // serialNumber
                r.next().read_der()?; // signature (repeated outside tbsCertificate)
                let issuer_der = r.next().read_der()?;
                let not_after = r.next().read_sequence(|r| {
                    read_time(r.next())?;
                    read_time(r.next())
                })?;
                let subject_der = r.next().read_der()?;
                let (p256, public_key) = r.next().read_sequence(|r| {
                    let (alg, params) =
                        r.next().read_sequence(|r| Ok((r.next().read_oid()?, r.read_optional(|r| r.read_der())?)))?;
                    let curve = params.and_then(|p| yasna::parse_der(&p, |r| r.read_oid()).ok());
                    let p256 = alg.components() == EC_PUBLIC_KEY && curve.is_some_and(|c| c.components() == SECP256R1);
                    Ok((p256, r.next().read_bitvec_bytes()?.0))
                })?;
                let mut is_ca = false;
                // issuerUniqueID [1], subjectUniqueID [2], extensions [3] EXPLICIT.
                while let Some(field) = r.read_optional(|r| r.read_tagged_der())? {
                    if field.tag() != Tag::context(3) {
                        continue;
                    }
                    yasna::parse_der(field.value(), |r| {
                        r.read_sequence_of(|r| {
                            r.read_sequence(|r| {
                                let id = r.next().read_oid()?;
                                r.read_default(false, |r| r.read_bool())?; // critical
                                let value = r.next().read_bytes()?;
                                if id.components() == BASIC_CONSTRAINTS {
                                    is_ca = yasna::parse_der(&value, |r| {
                                        r.read_sequence(|r| {
                                            let ca = r.read_default(false, |r| r.read_bool())?;
                                            r.read_optional(|r| r.read_u64())?; // pathLenConstraint
                                            Ok(ca)
                                        })
                                    })?;
                                }
                                Ok(())
                            })
                        })
                    })?;
                }
                Ok(CertInfo {
                    subject: String::new(),
                    issuer: String::new(),
                    not_after,
                    is_ca,
                    p256,
                    subject_der,
                    issuer_der,
                    public_key,
                    tbs: Vec::new(),
                    signature_alg: ObjectIdentifier::from_slice(&[]),
                    signature: Vec::new(),
                })
            })
        })?;
        info.subject = name_string(&info.subject_der)?;
        info.issuer = name_string(&info.issuer_der)?;
        (info.tbs, info.signature_alg, info.signature) = (tbs, signature_alg, signature);
        Ok(info)
    }

    /// Whether `ca_pem` names this certificate's issuer and its key signed it (ECDSA P-256, as Linkerd
    /// requires; any other algorithm does not verify).
    fn signed_by(&self, ca_pem: &str) -> Result<bool> {
        use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA384_ASN1};
        let ca = CertInfo::parse(ca_pem)?;
        let alg = match self.signature_alg.components() {
            a if a == ECDSA_SHA256 => &ECDSA_P256_SHA256_ASN1,
            a if a == ECDSA_SHA384 => &ECDSA_P256_SHA384_ASN1,
            _ => return Ok(false),
        };
        Ok(ca.p256
            && self.issuer_der == ca.subject_der
            && UnparsedPublicKey::new(alg, &ca.public_key).verify(&self.tbs, &self.signature).is_ok())
    }

    /// Days until expiry (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// Validity times: UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn read_time(r: BERReader<'_, '_>) -> ASN1Result<i64> {
    Ok(if r.lookahead_tag()? == TAG_UTCTIME {
        r.read_utctime()?.datetime().unix_timestamp()
    } else {
        r.read_generalized_time()?.datetime().unix_timestamp()
    })
}

/// A Name in RFC 4514's form for the attributes the xtask's certificates use (`CN=…`, RDNs joined by
/// ", "), other attribute types by their dotted OID.
fn name_string(der: &[u8]) -> ASN1Result<String> {
    let mut parts = Vec::new();
    yasna::parse_der(der, |r| {
        r.read_sequence_of(|r| {
            r.read_set_of(|r| {
                r.read_sequence(|r| {
                    let oid = r.next().read_oid()?;
                    let value = r.next().read_tagged_der()?;
                    let key = match oid.components().as_slice() {
                        [2, 5, 4, 3] => "CN".to_string(),
                        [2, 5, 4, 6] => "C".to_string(),
                        [2, 5, 4, 7] => "L".to_string(),
                        [2, 5, 4, 8] => "ST".to_string(),
                        [2, 5, 4, 10] => "O".to_string(),
                        [2, 5, 4, 11] => "OU".to_string(),
                        _ => oid.to_string(),
                    };
                    parts.push(format!("{key}={}", String::from_utf8_lossy(value.value())));
                    Ok(())
                })
            })
        })
    })?;
    Ok(parts.join(", "))
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
        let id = Identity::generate(3650).unwrap();
        id.verify(now()).unwrap();
        let anchor = CertInfo::parse(&id.trust_anchor_pem).unwrap();
        assert_eq!(anchor.subject, format!("CN={ANCHOR_CN}"));
        assert_eq!(anchor.issuer, anchor.subject, "self-signed");
        assert!(anchor.is_ca && anchor.p256);
        assert!((3649..=3650).contains(&anchor.days_left(now())));
        assert!(!format!("{id:?}").contains("PRIVATE"), "Debug never shows keys");
        assert_eq!(redact::apply(&id.trust_anchor_key_pem).trim(), "***", "keys are registered as secrets");
    }

    #[test]
    fn an_anchor_with_another_key_or_signer_does_not_verify() {
        let id = Identity::generate(3650).unwrap();
        let other = Identity::generate(3650).unwrap();
        let mixed = Identity { trust_anchor_key_pem: other.trust_anchor_key_pem.clone(), ..id.clone() };
        assert!(mixed.verify(now()).unwrap_err().to_string().contains("not the trust anchor's"));
        // An identity stored before cert-manager issued the issuer still reads (its issuer is not used).
        let old = format!(
            r#"{{"trust_anchor_pem":{},"trust_anchor_key_pem":{},"issuer_pem":"x","issuer_key_pem":"y"}}"#,
            serde_json::to_string(&id.trust_anchor_pem).unwrap(),
            serde_json::to_string(&id.trust_anchor_key_pem).unwrap()
        );
        Identity::from_json(&old).unwrap().verify(now()).unwrap();
    }

    #[test]
    fn expiry_within_60_days_is_a_warning() {
        let short = Identity::generate(45).unwrap();
        let long = Identity::generate(3650).unwrap();
        let w =
            expiry_warnings(&[("trust anchor", &long.trust_anchor_pem), ("issuer", &short.trust_anchor_pem)], now())
                .unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("the mesh issuer expires in 4"), "{w:?}");
        let later = now() + 50 * 86_400;
        let w = expiry_warnings(&[("issuer", &short.trust_anchor_pem)], later).unwrap();
        assert!(w[0].contains("expired"), "{w:?}");
    }

    #[test]
    fn what_is_not_a_certificate_is_an_error() {
        assert!(CertInfo::parse("hello").unwrap_err().to_string().contains("not a PEM certificate"));
        let key = Identity::generate(3650).unwrap().trust_anchor_key_pem;
        assert!(CertInfo::parse(&key).is_err(), "a key is not a certificate");
        let garbage = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(CertInfo::parse(garbage).unwrap_err().to_string().contains("not an X.509 certificate"));
    }
}
