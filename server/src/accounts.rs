//! `/integrated-accounts`: a tenant's connections to its CRMs. Credentials
//! are checked per provider, sealed before they are stored and never
//! answered back.

use crate::AppState;
use crate::auth::Tenant;
use crate::db::{AccountRow, now};
use crate::errors::ApiError;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crm_runtime::connection::{ConnectionError, CredentialField};
use crm_runtime::reexports::reqwest::Url;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use unified_crm::{Credentials, IntegratedAccount, Provider};
use uuid::Uuid;

/// The credential fields a provider needs, all strings, all required, as
/// its spec declares them. The served OpenAPI document is built from this
/// too.
pub fn credential_fields(provider: Provider) -> &'static [CredentialField] {
    provider.credential_fields()
}

/// A refused credentials or settings object: 400 naming every key.
fn connection_error(error: ConnectionError) -> ApiError {
    let mut api = ApiError::bad_request(error.first_key(), &error);
    api.message = error.to_string();
    api.fields = error.problems.into_iter().map(|(key, _)| key).collect();
    api
}

fn credentials_from(provider: Provider, map: &Map<String, Value>) -> Result<Credentials, ApiError> {
    Credentials::from_map(provider, map).map_err(connection_error)
}

/// The sealed form of an account's secrets and settings:
/// `{"credentials": {...}, "settings": {...}}`.
fn credentials_json(credentials: &Credentials, settings: &Map<String, Value>) -> Value {
    json!({"credentials": credentials.to_map(), "settings": settings})
}

fn public(row: &AccountRow) -> Value {
    json!({
        "id": row.id,
        "provider": row.provider,
        "base_url": row.base_url,
        "created_at": row.created_at,
    })
}

/// Parses a JSON request body; malformed JSON is a 400, an oversized body
/// was already refused with 413.
pub fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request("body", format!("is not JSON: {error}")))
}

fn check_base_url(text: &str) -> Result<String, ApiError> {
    let url = Url::parse(text)
        .map_err(|error| ApiError::bad_request("base_url", format!("is not a URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::bad_request(
            "base_url",
            "must be an http or https URL",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::bad_request(
            "base_url",
            "must not carry credentials; put them in `credentials`",
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
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
        Some(Value::Object(map)) => credentials_from(provider, map)?,
        Some(_) => return Err(ApiError::bad_request("credentials", "must be an object")),
        None => return Err(ApiError::bad_request("credentials", "is required")),
    };
    let settings = match body.get("settings") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(ApiError::bad_request("settings", "must be an object")),
    };
    let account = IntegratedAccount::new(Uuid::nil(), credentials.clone())
        .with_settings(&settings)
        .map_err(connection_error)?;
    let settings = account.settings.to_map(provider.settings());
    let base_url = match body.get("base_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(check_base_url(text)?),
        Some(_) => return Err(ApiError::bad_request("base_url", "must be a string")),
    };
    if base_url.is_none() && provider.default_base_url().is_none() {
        return Err(ApiError::bad_request(
            "base_url",
            format!("is required by {provider}: its API root is specific to each account"),
        ));
    }
    let id = Uuid::new_v4().to_string();
    let plaintext = serde_json::to_vec(&credentials_json(&credentials, &settings))
        .map_err(|error| ApiError::internal("credentials encoding failed", error))?;
    let sealed = state
        .cipher
        .encrypt(&plaintext, id.as_bytes())
        .map_err(|error| ApiError::internal("credentials encryption failed", error))?;
    let row = AccountRow {
        id,
        provider: provider.key().to_owned(),
        base_url,
        credentials: sealed,
        created_at: now(),
    };
    state
        .db
        .insert_account(tenant.0, row.clone())
        .await
        .map_err(|error| ApiError::internal("storing the account failed", error))?;
    tracing::info!(account = %row.id, provider = %row.provider, "integrated account created");
    Ok((StatusCode::CREATED, axum::Json(public(&row))).into_response())
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
        state.client.forget_account(uuid);
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
    let provider: Provider = row
        .provider
        .parse()
        .map_err(|message: String| ApiError::internal("stored provider is unknown", message))?;
    let plaintext = state
        .cipher
        .decrypt(&row.credentials, row.id.as_bytes())
        .map_err(|error| ApiError::internal("credentials decryption failed", error))?;
    let sealed = match serde_json::from_slice::<Value>(&plaintext) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(ApiError::internal(
                "stored credentials",
                "are not a JSON object",
            ));
        }
    };
    // `{credentials, settings}`; accounts stored before settings existed
    // sealed the credentials object alone.
    let (credentials, settings) = match (sealed.get("credentials"), sealed.get("settings")) {
        (Some(Value::Object(credentials)), Some(Value::Object(settings))) => {
            (credentials.clone(), settings.clone())
        }
        _ => (sealed, Map::new()),
    };
    let account = IntegratedAccount::from_json(id, provider, &credentials, &settings)
        .map_err(|error| ApiError::internal("stored credentials are incomplete", error))?;
    Ok(match row.base_url {
        Some(base_url) => account.with_base_url(base_url),
        None => account,
    })
}
