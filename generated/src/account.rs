//! An integrated account: one customer's connection to one CRM.

use crm_runtime::Secret;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The CRMs this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    Close,
    Copper,
}

impl Provider {
    pub const ALL: &'static [Provider] = &[Provider::Close, Provider::Copper];

    /// The key the unified spec uses (`x-supported-in: [close, copper]`).
    pub fn key(self) -> &'static str {
        match self {
            Provider::Close => "close",
            Provider::Copper => "copper",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Provider::ALL
            .iter()
            .copied()
            .find(|provider| provider.key() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Provider::ALL.iter().map(|p| p.key()).collect();
                format!(
                    "unknown provider `{text}`; known providers: {}",
                    known.join(", ")
                )
            })
    }
}

/// What each provider needs to authenticate. `Debug` shows no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Close: HTTP basic with the API key as user name and an empty password.
    Close { api_key: Secret },
    /// Copper: `X-PW-AccessToken` and `X-PW-UserEmail` headers.
    Copper {
        access_token: Secret,
        user_email: Secret,
    },
}

impl Credentials {
    pub fn provider(&self) -> Provider {
        match self {
            Credentials::Close { .. } => Provider::Close,
            Credentials::Copper { .. } => Provider::Copper,
        }
    }
}

#[derive(Clone, Debug)]
pub struct IntegratedAccount {
    pub id: Uuid,
    pub credentials: Credentials,
    /// Overrides the provider's public host (regional hosts, tests).
    pub base_url: Option<String>,
}

impl IntegratedAccount {
    pub fn new(id: Uuid, credentials: Credentials) -> Self {
        IntegratedAccount {
            id,
            credentials,
            base_url: None,
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    pub fn provider(&self) -> Provider {
        self.credentials.provider()
    }
}
