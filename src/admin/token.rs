//! The admin bearer token, kept as its SHA-256 digest (a leaf: the
//! configuration and the principals both hold it).

/// An admin bearer token, kept as its SHA-256 digest: the token itself is
/// hashed when it is read and never kept in memory. Its `Debug` output
/// shows neither.
///
/// ```
/// let t = redline::config::AdminToken::new("0123456789abcdef0123");
/// assert_eq!(format!("{t:?}"), "AdminToken(<redacted>)");
/// assert!(t.verify("0123456789abcdef0123"));
/// assert!(!t.verify("0123456789abcdef012"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// Hashes a token (the clear token is not kept).
    ///
    /// ```
    /// let t = redline::config::AdminToken::new("s3cret-s3cret-s3cret");
    /// assert!(t.verify("s3cret-s3cret-s3cret"));
    /// ```
    pub fn new(token: impl AsRef<str>) -> Self {
        Self(Self::digest_of(token.as_ref()))
    }

    /// A token given by its SHA-256 digest in hexadecimal (64 characters,
    /// as `printf %s "$TOKEN" | sha256sum` prints it); `None` otherwise.
    ///
    /// ```
    /// use redline::config::AdminToken;
    /// let hex = "4a3057fd3371720d01f5d351fecab0d7948fd22e15a5c2c2b92b0b2696d3eeca";
    /// assert!(AdminToken::from_sha256_hex(hex).unwrap().verify("s3cret-s3cret-s3cret"));
    /// assert!(AdminToken::from_sha256_hex("abc").is_none());
    /// ```
    pub fn from_sha256_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            *byte = u8::try_from(high * 16 + low).ok()?;
        }
        Some(Self(digest))
    }

    /// Whether `token` is this token, compared in constant time.
    ///
    /// ```
    /// let t = redline::config::AdminToken::new("s3cret-s3cret-s3cret");
    /// assert!(!t.verify("guess"));
    /// ```
    pub fn verify(&self, token: &str) -> bool {
        self.matches(&Self::digest_of(token)).into()
    }

    /// The SHA-256 digest of `token`.
    pub(crate) fn digest_of(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    /// Whether `digest` is this token's, in constant time.
    pub(crate) fn matches(&self, digest: &[u8; 32]) -> subtle::Choice {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(digest)
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}
