//! `/integrated-accounts`: a tenant's connections to its CRMs. Credentials
//! are checked per provider, sealed before they are stored and never
//! answered back; `base_url` is checked against the outbound allow-list
//! (`outbound`).

use crate::AppState;
use crate::auth::Tenant;
use crate::crypto::{credentials_aad, legacy_aad};
use crate::db::{AccountChange, AccountRow, now};
use crate::errors::ApiError;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crm_runtime::connection::{ConnectionError, CredentialField, SettingField, read_settings};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use unified_crm::{Credentials, IntegratedAccount, Provider};
use uuid::Uuid;

/// The credential fields a provider needs, all strings, all required, as
/// its spec declares them (`x-unified-connection`). The served OpenAPI
/// document is built from this too.
pub fn credential_fields(provider: Provider) -> &'static [CredentialField] {
    provider.credential_fields()
}

/// The non-secret per-account options a provider takes, from its spec.
pub fn setting_fields(provider: Provider) -> &'static [SettingField] {
    provider.settings()
}

/// A refused credentials or settings object: 400 naming every key.
fn connection_error(error: ConnectionError) -> ApiError {
    let mut api = ApiError::bad_request(error.first_key(), &error);
    api.message = error.to_string();
    api.fields = error.problems.into_iter().map(|(key, _)| key).collect();
    api
}

/// Every credential is sent in an HTTP header (or as HTTP Basic): it must
/// be a valid header value, and printable ASCII without surrounding blanks
/// (a value the runtime could not send would otherwise be skipped).
fn check_header_value(name: &str, value: &str) -> Result<(), ApiError> {
    let field = format!("credentials.{name}");
    if value.trim() != value {
        return Err(ApiError::bad_request(
            &field,
            "must not start or end with blanks",
        ));
    }
    let printable = value.bytes().all(|byte| (0x20..0x7f).contains(&byte));
    if !printable || axum::http::HeaderValue::from_str(value).is_err() {
        return Err(ApiError::bad_request(
            &field,
            "is not a valid HTTP header value (printable ASCII only, no control characters or line breaks)",
        ));
    }
    Ok(())
}

fn credentials_from(provider: Provider, map: &Map<String, Value>) -> Result<Credentials, ApiError> {
    // Every key named (missing, unknown, not a string, not sendable).
    let credentials = Credentials::from_map(provider, map).map_err(connection_error)?;
    for (name, value) in map {
        if let Value::String(text) = value {
            check_header_value(name, text)?;
        }
    }
    Ok(credentials)
}

/// The stored form of credentials (sealed afterwards).
fn credentials_json(credentials: &Credentials) -> Value {
    Value::Object(credentials.to_map())
}

fn public(row: &AccountRow) -> Value {
    let settings = serde_json::from_str::<Value>(&row.settings)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    json!({
        "id": row.id,
        "provider": row.provider,
        "base_url": row.base_url,
        "settings": settings,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// Parses a JSON request body; malformed JSON is a 400, an oversized body
/// was already refused with 413.
pub fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request("body", format!("is not JSON: {error}")))
}

/// `base_url` of a create or an update: `null` (the provider's public
/// host) or a URL the outbound policy allows for `provider`.
fn base_url_from(
    state: &AppState,
    provider: Provider,
    value: &Value,
) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => state
            .outbound
            .check_base_url(provider, text)
            .map(Some)
            .map_err(|why| ApiError::bad_request("base_url", why)),
        _ => Err(ApiError::bad_request("base_url", "must be a string")),
    }
}

/// `settings` of a create or an update: an object of the provider's
/// settings (stored as JSON text).
fn settings_from(provider: Provider, value: &Value) -> Result<String, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request("settings", "must be an object"));
    };
    let settings =
        read_settings(provider.key(), setting_fields(provider), map).map_err(connection_error)?;
    Ok(Value::Object(settings.to_map(setting_fields(provider))).to_string())
}

fn credentials_field(provider: Provider, value: &Value) -> Result<Credentials, ApiError> {
    match value {
        Value::Object(map) => credentials_from(provider, map),
        _ => Err(ApiError::bad_request("credentials", "must be an object")),
    }
}

/// Seals an account's credentials, bound to the account, its tenant and
/// its provider.
fn seal(
    state: &AppState,
    id: &str,
    tenant: Tenant,
    provider: Provider,
    credentials: &Credentials,
) -> Result<(String, Vec<u8>), ApiError> {
    let plaintext = serde_json::to_vec(&credentials_json(credentials))
        .map_err(|error| ApiError::internal("credentials encoding failed", error))?;
    let sealed = state
        .cipher
        .seal(&plaintext, &credentials_aad(id, tenant.0, provider.key()))
        .map_err(|error| ApiError::internal("credentials encryption failed", error))?;
    Ok((sealed.key_id, sealed.blob))
}

/// `POST /integrated-accounts`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Value::Object(body) = json_body(&body)? else {
        return Err(ApiError::bad_request("body", "must be a JSON object"));
    };
    for key in body.keys() {
        if !matches!(
            key.as_str(),
            "provider" | "credentials" | "base_url" | "settings"
        ) {
            return Err(ApiError::bad_request(
                key,
                "is not a field of an integrated account",
            ));
        }
    }
    let provider: Provider = match body.get("provider") {
        Some(Value::String(text)) => text
            .parse()
            .map_err(|message: String| ApiError::bad_request("provider", message))?,
        Some(_) => return Err(ApiError::bad_request("provider", "must be a string")),
        None => return Err(ApiError::bad_request("provider", "is required")),
    };
    let credentials = match body.get("credentials") {
        Some(value) => credentials_field(provider, value)?,
        None => return Err(ApiError::bad_request("credentials", "is required")),
    };
    let base_url = match body.get("base_url") {
        Some(value) => base_url_from(&state, provider, value)?,
        None => None,
    };
    if base_url.is_none() && provider.default_base_url().is_none() {
        return Err(ApiError::bad_request(
            "base_url",
            format!("is required by {provider}: its API root is specific to each account"),
        ));
    }
    let settings = match body.get("settings") {
        Some(value) => settings_from(provider, value)?,
        None => "{}".to_owned(),
    };
    let id = Uuid::new_v4().to_string();
    let (key_id, sealed) = seal(&state, &id, tenant, provider, &credentials)?;
    let row = AccountRow {
        id,
        tenant_id: tenant.0,
        provider: provider.key().to_owned(),
        base_url,
        credentials: sealed,
        key_id: Some(key_id),
        settings,
        created_at: now(),
        updated_at: None,
        revision: 0,
    };
    state
        .db
        .insert_account(row.clone())
        .await
        .map_err(|error| ApiError::internal("storing the account failed", error))?;
    tracing::info!(account = %row.id, provider = %row.provider, "integrated account created");
    Ok((StatusCode::CREATED, axum::Json(public(&row))).into_response())
}

/// `PATCH /integrated-accounts/{id}`: new credentials (all of them), a new
/// `base_url` (`null`: the provider's public host) or new settings, each
/// checked as on create. The account's cached mapping context is dropped.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let row = find(&state, tenant, &id).await?;
    let provider: Provider = row
        .provider
        .parse()
        .map_err(|message: String| ApiError::internal("stored provider is unknown", message))?;
    let Value::Object(body) = json_body(&body)? else {
        return Err(ApiError::bad_request("body", "must be a JSON object"));
    };
    let mut change = AccountChange {
        base_url: None,
        sealed: None,
        settings: None,
    };
    for (key, value) in &body {
        match key.as_str() {
            "credentials" => {
                let credentials = credentials_field(provider, value)?;
                change.sealed = Some(seal(&state, &row.id, tenant, provider, &credentials)?);
            }
            "base_url" => change.base_url = Some(base_url_from(&state, provider, value)?),
            "settings" => change.settings = Some(settings_from(provider, value)?),
            "provider" if value.as_str() == Some(provider.key()) => {}
            "provider" => {
                return Err(ApiError::bad_request(
                    "provider",
                    "cannot be changed; create another account",
                ));
            }
            _ => {
                return Err(ApiError::bad_request(
                    key,
                    "is not a field of an integrated account that can be changed",
                ));
            }
        }
    }
    let updated = state
        .db
        .update_account(tenant.0, row.id.clone(), change)
        .await
        .map_err(|error| ApiError::internal("updating the account failed", error))?
        .ok_or_else(|| not_found(&row.id))?;
    if let Ok(uuid) = Uuid::parse_str(&row.id) {
        state.saw_revision(uuid, updated.revision);
        state.client.forget_account(uuid);
    }
    tracing::info!(account = %row.id, "integrated account updated");
    Ok(axum::Json(public(&updated)).into_response())
}

/// `GET /integrated-accounts`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
) -> Result<Response, ApiError> {
    let rows = state
        .db
        .accounts(tenant.0)
        .await
        .map_err(|error| ApiError::internal("listing accounts failed", error))?;
    let result: Vec<Value> = rows.iter().map(public).collect();
    Ok(axum::Json(json!({"result": result, "result_count": result.len()})).into_response())
}

/// `GET /integrated-accounts/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = find(&state, tenant, &id).await?;
    Ok(axum::Json(public(&row)).into_response())
}

/// `DELETE /integrated-accounts/{id}`: 204.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = canonical_id(&id)?;
    let deleted = state
        .db
        .delete_account(tenant.0, id.clone())
        .await
        .map_err(|error| ApiError::internal("deleting the account failed", error))?;
    if !deleted {
        return Err(not_found(&id));
    }
    if let Ok(uuid) = uuid::Uuid::parse_str(&id) {
        state.forget_account(uuid);
    }
    tracing::info!(account = %id, "integrated account deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("integrated account `{id}` not found"))
}

/// Ids are UUIDs; anything else cannot exist (404, not 400, so an id never
/// tells more than "not yours").
fn canonical_id(id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id)
        .map(|uuid| uuid.to_string())
        .map_err(|_| not_found(id))
}

async fn find(state: &AppState, tenant: Tenant, id: &str) -> Result<AccountRow, ApiError> {
    let id = canonical_id(id)?;
    state
        .db
        .account(tenant.0, id.clone())
        .await
        .map_err(|error| ApiError::internal("reading the account failed", error))?
        .ok_or_else(|| not_found(&id))
}

/// The tenant's account `id`, ready for `UnifiedClient`: 404 when it is
/// missing or another tenant's.
pub async fn load(
    state: &AppState,
    tenant: Tenant,
    id: Uuid,
) -> Result<IntegratedAccount, ApiError> {
    let row = find(state, tenant, &id.to_string()).await?;
    // Changed since this server last used it (maybe by another replica):
    // its cached context is dropped before the call.
    state.saw_revision(id, row.revision);
    let provider: Provider = row
        .provider
        .parse()
        .map_err(|message: String| ApiError::internal("stored provider is unknown", message))?;
    let aad = match &row.key_id {
        Some(_) => credentials_aad(&row.id, row.tenant_id, provider.key()),
        None => legacy_aad(&row.id),
    };
    let plaintext = state
        .cipher
        .open(row.key_id.as_deref(), &row.credentials, &aad)
        .map_err(|error| ApiError::internal("credentials decryption failed", error))?;
    let map = match serde_json::from_slice::<Value>(&plaintext) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(ApiError::internal(
                "stored credentials",
                "are not a JSON object",
            ));
        }
    };
    let credentials = credentials_from(provider, &map)
        .map_err(|error| ApiError::internal("stored credentials are invalid", error.message))?;
    let settings = match serde_json::from_str::<Value>(&row.settings) {
        Ok(Value::Object(settings)) => settings,
        _ => Map::new(),
    };
    let account = IntegratedAccount::new(id, credentials)
        .with_settings(&settings)
        .map_err(|error| ApiError::internal("stored settings are invalid", error))?;
    Ok(match row.base_url {
        Some(base_url) => {
            // Checked again: the operator's allow-list may have changed
            // since the account was stored.
            let base_url = state
                .outbound
                .check_base_url(provider, &base_url)
                .map_err(|why| {
                    let mut error = ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "{provider}: the account's base_url is not allowed by this server's outbound policy ({why}); change it with PATCH /integrated-accounts/{}",
                            row.id
                        ),
                    );
                    error.fields.push("base_url".into());
                    error
                })?;
            account.with_base_url(base_url)
        }
        None => account,
    })
}
