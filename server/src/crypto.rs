//! Credentials at rest: AES-256-GCM, a fresh 96-bit nonce per value, the
//! id of the sealing key stored beside each value, and associated data
//! that binds the value to its account, tenant and provider (a ciphertext
//! copied to another row does not decrypt). Tokens: random, shown once,
//! stored as SHA-256.
//!
//! Keys: a key ring, newest last; the newest seals, any opens. It comes from
//! `UNIFIED_SECRET_KEY` (base64 keys separated by commas) or from the key
//! file beside the database (one base64 key a line), which is re-read when
//! it changes, so `server keys rotate` can add a key while a server runs.
//! A key's id is a fingerprint of it (not secret, not enough to recover it).

use crate::db::Database;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The environment variable holding the keys (base64 of 32 bytes each,
/// separated by commas; the last one seals).
pub const KEY_ENV: &str = "UNIFIED_SECRET_KEY";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{0}")]
    Key(String),
    #[error("random numbers are unavailable: {0}")]
    Random(String),
    #[error("a stored secret could not be decrypted (wrong key, or the data was altered or moved)")]
    Decrypt,
    #[error(
        "a stored secret was sealed with key `{0}`, which is not in the key ring (UNIFIED_SECRET_KEY or the key file)"
    )]
    UnknownKey(String),
    #[error("encryption failed")]
    Encrypt,
}

/// The associated data of an account's sealed credentials: the account,
/// its tenant and its provider.
pub fn credentials_aad(account_id: &str, tenant: i64, provider: &str) -> Vec<u8> {
    format!("unified-crm credentials v1\0{account_id}\0{tenant}\0{provider}").into_bytes()
}

/// What rows sealed before key ids existed used as associated data: the
/// account id alone.
pub fn legacy_aad(account_id: &str) -> Vec<u8> {
    account_id.as_bytes().to_vec()
}

/// The id of a key: the first 16 hex digits of a SHA-256 of it.
pub fn key_id(key: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"unified-crm key id\0");
    hasher.update(key);
    hasher.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A sealed value and the id of the key that sealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// `nonce || ciphertext+tag`.
    pub blob: Vec<u8>,
}

struct Ring {
    /// Oldest first; the last one seals.
    keys: Vec<(String, Aes256Gcm)>,
    /// The list cursor key derived from the newest key.
    cursor_key: Option<[u8; 32]>,
    stamp: Option<FileStamp>,
}

/// The key list cursors are sealed with, derived from a credentials key:
/// SHA-256 over a label and the key. Every replica with the same newest
/// key derives the same cursor key; the cursor key tells nothing about
/// the credentials key.
pub fn cursor_key(key: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"unified-crm list cursor key v1\0");
    hasher.update(key);
    hasher.finalize().into()
}

impl Ring {
    fn new(keys: &[[u8; 32]], stamp: Option<FileStamp>) -> Self {
        Ring {
            keys: keys
                .iter()
                .map(|key| {
                    (
                        key_id(key),
                        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
                    )
                })
                .collect(),
            cursor_key: keys.last().map(cursor_key),
            stamp,
        }
    }

    fn get(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys
            .iter()
            .find(|(key_id, _)| key_id == id)
            .map(|(_, key)| key)
    }
}

/// What identifies a version of the key file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Fixed,
    Env,
    File(PathBuf),
}

/// The credentials key ring. `Debug` shows key ids only.
pub struct Cipher {
    source: Source,
    ring: RwLock<Ring>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("source", &self.source)
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

impl Cipher {
    /// One fixed key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self::from_keys(&[*key])
    }

    /// Fixed keys, oldest first; the last seals. None is an error at use.
    pub fn from_keys(keys: &[[u8; 32]]) -> Self {
        Cipher {
            source: Source::Fixed,
            ring: RwLock::new(Ring::new(keys, None)),
        }
    }

    /// The keys from `UNIFIED_SECRET_KEY` when set, else from the key file
    /// beside the database (`<database>.key`), created with one new key and
    /// mode 0600 on first start.
    pub fn load(database: &Path) -> Result<Self, CryptoError> {
        Self::load_for(&Database::Sqlite(database.to_path_buf()), None)
    }

    /// The keys of a server on `database`: from `UNIFIED_SECRET_KEY` when
    /// set; else from `key_file` (`--key-file`); else, for SQLite, from
    /// `<database>.key`. A missing key file is created (one new key, mode
    /// 0600) for SQLite only: replicas on PostgreSQL must share their
    /// keys, so one of them making its own would seal credentials the
    /// others cannot open.
    pub fn load_for(
        database: &Database,
        key_file_path: Option<&Path>,
    ) -> Result<Self, CryptoError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            let keys = decode_keys(&text, KEY_ENV)?;
            return Ok(Cipher {
                source: Source::Env,
                ring: RwLock::new(Ring::new(&keys, None)),
            });
        }
        let create = database.sqlite_path().is_some();
        let path = match (key_file_path, database.sqlite_path()) {
            (Some(path), _) => path.to_path_buf(),
            (None, Some(database)) => key_file(database),
            (None, None) => {
                return Err(CryptoError::Key(format!(
                    "with PostgreSQL every replica needs the same credentials keys: set {KEY_ENV} (base64 of 32 random bytes, e.g. `head -c 32 /dev/urandom | base64`) or give --key-file PATH (such keys, one a line), the same for every replica and command"
                )));
            }
        };
        if !path.exists() && !create {
            return Err(CryptoError::Key(format!(
                "the key file {} does not exist; with PostgreSQL it is not created (every replica must use the same keys): write one base64 key of 32 random bytes into it, e.g. `head -c 32 /dev/urandom | base64 > {}`, or set {KEY_ENV}",
                path.display(),
                path.display()
            )));
        }
        if !path.exists() {
            let mut key = [0u8; 32];
            fill(&mut key)?;
            match create_key_file(&path, &STANDARD.encode(key)) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "created a new credentials key file");
                }
                // Another process created it first: use that one.
                Err(_) if path.exists() => {}
                Err(error) => return Err(error),
            }
        }
        let (keys, stamp) = read_key_file(&path)?;
        Ok(Cipher {
            source: Source::File(path),
            ring: RwLock::new(Ring::new(&keys, stamp)),
        })
    }

    /// Whether the keys come from the key file (else from the environment
    /// or the caller).
    pub fn key_file(&self) -> Option<&Path> {
        match &self.source {
            Source::File(path) => Some(path),
            Source::Fixed | Source::Env => None,
        }
    }

    /// The ids of the ring's keys, oldest first.
    pub fn key_ids(&self) -> Vec<String> {
        self.read().keys.iter().map(|(id, _)| id.clone()).collect()
    }

    /// The list cursor key derived from the newest key (see
    /// [`cursor_key`]); `None` when the ring is empty.
    pub fn cursor_key(&self) -> Option<[u8; 32]> {
        self.read().cursor_key
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> Option<String> {
        self.refresh();
        self.read().keys.last().map(|(id, _)| id.clone())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Re-reads the key file if it changed. A file that no longer reads is
    /// logged and the keys in memory are kept.
    pub fn refresh(&self) {
        let Source::File(path) = &self.source else {
            return;
        };
        let now = stamp(path);
        if now.is_some() && now == self.read().stamp {
            return;
        }
        match read_key_file(path) {
            Ok((keys, stamp)) => {
                let mut ring = self
                    .ring
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                *ring = Ring::new(&keys, stamp);
                tracing::info!(keys = ring.keys.len(), "credentials key file re-read");
            }
            Err(error) => {
                tracing::warn!(%error, "the credentials key file changed but cannot be read; keeping the keys in memory");
            }
        }
    }

    /// Seals under the newest key.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CryptoError> {
        self.refresh();
        let ring = self.read();
        let (id, key) = ring
            .keys
            .last()
            .ok_or_else(|| CryptoError::Key("the key ring is empty".into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        fill(&mut nonce)?;
        let sealed = key
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(Sealed {
            key_id: id.clone(),
            blob,
        })
    }

    /// Opens a value sealed under key `key_id`; without a key id (a value
    /// sealed before key ids were recorded), each key is tried.
    pub fn open(
        &self,
        key_id: Option<&str>,
        blob: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let Some(id) = key_id else {
            let ring = self.read();
            return ring
                .keys
                .iter()
                .rev()
                .find_map(|(_, key)| decrypt(key, blob, aad).ok())
                .ok_or(CryptoError::Decrypt);
        };
        if self.read().get(id).is_none() {
            self.refresh();
        }
        let ring = self.read();
        let key = ring
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_owned()))?;
        decrypt(key, blob, aad)
    }
}

fn decrypt(key: &Aes256Gcm, stored: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if stored.len() < NONCE_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, sealed) = stored.split_at(NONCE_LEN);
    key.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map_err(|_| CryptoError::Decrypt)
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

/// Keys separated by commas or line breaks (blank lines and `#` comments
/// skipped), oldest first.
fn decode_keys(text: &str, source: &str) -> Result<Vec<[u8; 32]>, CryptoError> {
    let keys = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .enumerate()
        .map(|(index, line)| decode_key(line, &format!("{source} (key {})", index + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(CryptoError::Key(format!("{source} holds no key")));
    }
    Ok(keys)
}

fn read_key_file(path: &Path) -> Result<(Vec<[u8; 32]>, Option<FileStamp>), CryptoError> {
    let before = stamp(path);
    let text = std::fs::read_to_string(path).map_err(|error| {
        CryptoError::Key(format!(
            "cannot read the key file {}: {error}",
            path.display()
        ))
    })?;
    let keys = decode_keys(&text, &path.display().to_string())?;
    Ok((keys, before))
}

fn create_key_file(path: &Path, text: &str) -> Result<(), CryptoError> {
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
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            CryptoError::Key(format!(
                "cannot write the key file {}: {error}",
                path.display()
            ))
        })
}

/// Replaces the key file with `keys` (oldest first), atomically: a new
/// file (mode 0600) beside it, synced, then renamed over it.
pub fn write_key_file(path: &Path, keys: &[[u8; 32]]) -> Result<(), CryptoError> {
    let mut suffix = [0u8; 6];
    fill(&mut suffix)?;
    let mut name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", URL_SAFE_NO_PAD.encode(suffix)));
    let temporary = path.with_file_name(name);
    let text: String = keys
        .iter()
        .map(|key| format!("{}\n", STANDARD.encode(key)))
        .collect();
    create_key_file(&temporary, text.trim_end())?;
    std::fs::rename(&temporary, path).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        CryptoError::Key(format!(
            "cannot replace the key file {}: {error}",
            path.display()
        ))
    })
}

/// The keys of the key file, oldest first.
pub fn key_file_keys(path: &Path) -> Result<Vec<[u8; 32]>, CryptoError> {
    read_key_file(path).map(|(keys, _)| keys)
}

/// A new random key.
pub fn new_key() -> Result<[u8; 32], CryptoError> {
    let mut key = [0u8; 32];
    fill(&mut key)?;
    Ok(key)
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
        let aad = credentials_aad("row-1", 1, "close");
        let sealed = cipher.seal(b"secret", &aad).unwrap();
        assert_eq!(sealed.key_id, key_id(&[7; 32]));
        assert!(!sealed.blob.windows(6).any(|window| window == b"secret"));
        let open = |aad: &[u8]| cipher.open(Some(&sealed.key_id), &sealed.blob, aad);
        assert_eq!(open(&aad).unwrap(), b"secret");
        // Another row, tenant or provider: the value does not open.
        assert!(open(&credentials_aad("row-2", 1, "close")).is_err());
        assert!(open(&credentials_aad("row-1", 2, "close")).is_err());
        assert!(open(&credentials_aad("row-1", 1, "copper")).is_err());
        assert!(
            Cipher::from_key(&[8; 32])
                .open(Some(&sealed.key_id), &sealed.blob, &aad)
                .is_err()
        );
    }

    #[test]
    fn the_newest_key_seals_and_every_key_opens() {
        let old = Cipher::from_key(&[1; 32]);
        let sealed_old = old.seal(b"a", b"x").unwrap();
        let ring = Cipher::from_keys(&[[1; 32], [2; 32]]);
        let sealed_new = ring.seal(b"b", b"x").unwrap();
        assert_eq!(sealed_new.key_id, key_id(&[2; 32]));
        assert_eq!(
            ring.open(Some(&sealed_old.key_id), &sealed_old.blob, b"x")
                .unwrap(),
            b"a"
        );
        assert_eq!(
            ring.open(Some(&sealed_new.key_id), &sealed_new.blob, b"x")
                .unwrap(),
            b"b"
        );
        assert!(matches!(
            old.open(Some(&sealed_new.key_id), &sealed_new.blob, b"x"),
            Err(CryptoError::UnknownKey(_))
        ));
        // A value without a key id is tried with every key.
        assert_eq!(ring.open(None, &sealed_old.blob, b"x").unwrap(), b"a");
    }

    #[test]
    fn key_file_is_private_reused_and_re_read_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("unified.sqlite");
        let first = Cipher::load(&db).unwrap();
        let sealed = first.seal(b"x", b"").unwrap();
        let second = Cipher::load(&db).unwrap();
        assert_eq!(
            second
                .open(Some(&sealed.key_id), &sealed.blob, b"")
                .unwrap(),
            b"x"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A key added to the file is picked up by a running cipher.
        let mut keys = key_file_keys(&key_file(&db)).unwrap();
        keys.push([5; 32]);
        write_key_file(&key_file(&db), &keys).unwrap();
        let third = Cipher::from_key(&[5; 32]);
        let sealed_new = third.seal(b"y", b"").unwrap();
        assert_eq!(
            first
                .open(Some(&sealed_new.key_id), &sealed_new.blob, b"")
                .unwrap(),
            b"y"
        );
        assert_eq!(first.current_key_id().unwrap(), key_id(&[5; 32]));
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

    #[test]
    fn keys_decode_from_a_list() {
        let one = STANDARD.encode([1u8; 32]);
        let two = STANDARD.encode([2u8; 32]);
        let keys = decode_keys(&format!("# old\n{one}\n\n{two}\n"), "file").unwrap();
        assert_eq!(keys, vec![[1; 32], [2; 32]]);
        assert_eq!(
            decode_keys(&format!("{one}, {two}"), "env").unwrap().len(),
            2
        );
        assert!(decode_keys("", "env").is_err());
        assert!(decode_keys("bm90IDMyIGJ5dGVz", "env").is_err());
    }
}
