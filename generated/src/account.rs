//! An integrated account: one customer's connection to one CRM. The
//! providers and their credentials types are generated (`registry`); an
//! account holds one provider's credentials, an optional API root and its
//! settings.

use crate::registry::{Credentials, Provider};
use crm_runtime::connection::{ConnectionError, Settings, read_settings};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct IntegratedAccount {
    pub id: Uuid,
    pub credentials: Credentials,
    /// Replaces the provider's public API root (regional hosts, sandboxes,
    /// tests); required by providers without one.
    pub base_url: Option<String>,
    /// The provider's per-account settings, defaults filled in.
    pub settings: Settings,
}

impl IntegratedAccount {
    pub fn new(id: Uuid, credentials: Credentials) -> Self {
        let provider = credentials.provider();
        IntegratedAccount {
            id,
            credentials,
            base_url: None,
            // No setting given: every declared default.
            settings: read_settings(provider.key(), provider.settings(), &Map::new())
                .unwrap_or_default(),
        }
    }

    /// An account from its parts as JSON (what the server stores and
    /// receives): every credential and setting key checked against what
    /// the provider declares, each problem named.
    pub fn from_json(
        id: Uuid,
        provider: Provider,
        credentials: &Map<String, Value>,
        settings: &Map<String, Value>,
    ) -> Result<Self, ConnectionError> {
        let credentials = Credentials::from_map(provider, credentials);
        let settings = read_settings(provider.key(), provider.settings(), settings);
        match (credentials, settings) {
            (Ok(credentials), Ok(settings)) => Ok(IntegratedAccount {
                id,
                credentials,
                base_url: None,
                settings,
            }),
            (credentials, settings) => {
                let mut problems = Vec::new();
                for error in [credentials.err(), settings.err()].into_iter().flatten() {
                    problems.extend(error.problems);
                }
                Err(ConnectionError { problems })
            }
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets the provider's settings from JSON (unknown keys and values
    /// outside a setting's set are refused).
    pub fn with_settings(mut self, settings: &Map<String, Value>) -> Result<Self, ConnectionError> {
        let provider = self.provider();
        self.settings = read_settings(provider.key(), provider.settings(), settings)?;
        Ok(self)
    }

    pub fn provider(&self) -> Provider {
        self.credentials.provider()
    }
}
