//! Credentials at rest: AES-256-GCM, a fresh 96-bit nonce per value, the
//! row's identity as associated data (a ciphertext moved to another row
//! does not decrypt). Tokens: random, shown once, stored as SHA-256.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable holding the key (base64 of 32 bytes).
pub const KEY_ENV: &str = "UNIFIED_SECRET_KEY";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{0}")]
    Key(String),
    #[error("random numbers are unavailable: {0}")]
    Random(String),
    #[error("a stored secret could not be decrypted (wrong key, or the data was altered)")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// The credentials cipher. `Debug` shows no key.
#[derive(Clone)]
pub struct Cipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Cipher {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// The key from `UNIFIED_SECRET_KEY` when set, else from the key file
    /// beside the database (`<database>.key`), created with mode 0600 on
    /// first start.
    pub fn load(database: &Path) -> Result<Self, CryptoError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return decode_key(&text, KEY_ENV).map(|key| Self::from_key(&key));
        }
        let path = key_file(database);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                decode_key(&text, &path.display().to_string()).map(|key| Self::from_key(&key))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                fill(&mut key)?;
                write_key_file(&path, &STANDARD.encode(key))?;
                tracing::info!(path = %path.display(), "created a new credentials key file");
                Ok(Self::from_key(&key))
            }
            Err(error) => Err(CryptoError::Key(format!(
                "cannot read the key file {}: {error}",
                path.display()
            ))),
        }
    }

    /// `nonce || ciphertext+tag`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill(&mut nonce)?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn decrypt(&self, stored: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if stored.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Where the key file of `database` lives.
pub fn key_file(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_else(|| "unified.sqlite".into());
    name.push(".key");
    database.with_file_name(name)
}

fn decode_key(text: &str, source: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| CryptoError::Key(format!("{source} is not base64")))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        CryptoError::Key(format!(
            "{source} must hold 32 bytes (base64), it holds {}",
            bytes.len()
        ))
    })
}

fn write_key_file(path: &Path, text: &str) -> Result<(), CryptoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|error| {
        CryptoError::Key(format!(
            "cannot create the key file {}: {error}",
            path.display()
        ))
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            CryptoError::Key(format!(
                "cannot write the key file {}: {error}",
                path.display()
            ))
        })
}

pub fn fill(buffer: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buffer).map_err(|error| CryptoError::Random(error.to_string()))
}

/// A new API token: 32 random bytes, URL-safe base64, with a prefix that
/// makes it recognisable (e.g. by secret scanners).
pub fn new_token() -> Result<String, CryptoError> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    Ok(format!("ucrm_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let cipher = Cipher::from_key(&[7; 32]);
        let sealed = cipher.encrypt(b"secret", b"row-1").unwrap();
        assert!(!sealed.windows(6).any(|window| window == b"secret"));
        assert_eq!(cipher.decrypt(&sealed, b"row-1").unwrap(), b"secret");
        assert!(cipher.decrypt(&sealed, b"row-2").is_err());
        assert!(
            Cipher::from_key(&[8; 32])
                .decrypt(&sealed, b"row-1")
                .is_err()
        );
    }

    #[test]
    fn key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("unified.sqlite");
        let first = Cipher::load(&db).unwrap();
        let sealed = first.encrypt(b"x", b"").unwrap();
        let second = Cipher::load(&db).unwrap();
        assert_eq!(second.decrypt(&sealed, b"").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
