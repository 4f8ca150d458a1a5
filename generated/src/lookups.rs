//! The lookups of the unified API: what opportunities refer to. Custom
//! field definitions (whose names are the keys of `custom_fields`), stages
//! (the ids of `stage`) and users (the ids of `owner`), listed the way
//! opportunities are: `{result, next_cursor, result_count}`.
//!
//! A walk reads a snapshot: its first page fetches the list fresh from the
//! provider (custom fields and stages through the account's context, which
//! writes then resolve names against too), later pages read the same
//! snapshot, so offsets neither skip nor repeat. A provider whose spec
//! declares a lookup unsupported (`x-unified-unsupported`) answers
//! [`UnifiedError::Unsupported`] with the spec's reason, before any call.

use crate::account::IntegratedAccount;
use crate::connector::{LookupItems, lookup::CustomFields};
use crate::cursor;
use crate::error::UnifiedError;
use crate::opportunities::{UnifiedClient, UnifiedPage};
use crate::options::{ListOptions, ResponseFormat};
use crate::registry::opportunities;
use crate::render::{render_object, to_object};
use crate::unified::crm::{CustomField, CustomFieldOption, Stage, StagePipeline, User};
use crm_runtime::paging::Position;
use crm_runtime::support::FieldInfo;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Records per lookup page when the caller gives no `limit`.
const DEFAULT_LIMIT: usize = 100;

/// A lookup of the unified API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// `GET /unified/crm/fields`: custom field definitions.
    CustomFields,
    /// `GET /unified/crm/stages`.
    Stages,
    /// `GET /unified/crm/users`.
    Users,
}

impl Lookup {
    /// Its binding name in provider specs (`users.list`).
    pub fn binding(self) -> &'static str {
        match self {
            Lookup::CustomFields => "custom_fields.list",
            Lookup::Stages => "stages.list",
            Lookup::Users => "users.list",
        }
    }
}

/// One lookup record: the unified shape and the provider's record.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Item {
    record: Map<String, Value>,
    remote_data: Value,
}

fn items(list: LookupItems) -> Vec<Item> {
    match list {
        LookupItems::CustomFields(definitions) => {
            // Names as `custom_fields` keys them: `name (id)` where two
            // definitions share a name.
            let keys = CustomFields::new(definitions.clone());
            definitions
                .into_iter()
                .map(|definition| {
                    let field = CustomField {
                        name: keys.key_of(&definition.id),
                        label: definition.label,
                        type_: Some(definition.data_type).filter(|text| !text.is_empty()),
                        options: (!definition.options.is_empty()).then(|| {
                            definition
                                .options
                                .into_iter()
                                .map(|(id, label)| CustomFieldOption {
                                    id,
                                    label: Some(label),
                                })
                                .collect()
                        }),
                        required: Some(definition.required),
                        read_only: Some(definition.read_only),
                        remote_data: None,
                    };
                    Item {
                        record: to_object(&field),
                        remote_data: definition.remote_data,
                    }
                })
                .collect()
        }
        LookupItems::Stages(stages) => stages
            .into_iter()
            .map(|stage| Item {
                record: to_object(&Stage {
                    id: stage.id,
                    name: Some(stage.name),
                    pipeline: stage.pipeline.map(|pipeline| StagePipeline {
                        id: pipeline.id,
                        name: pipeline.name,
                    }),
                    remote_data: None,
                }),
                remote_data: stage.remote_data,
            })
            .collect(),
        LookupItems::Users(users) => users
            .into_iter()
            .map(|user| Item {
                record: to_object(&User {
                    id: user.id,
                    name: user.name,
                    email: user.email,
                    remote_data: None,
                }),
                remote_data: user.remote_data,
            })
            .collect(),
    }
}

fn fields_of(lookup: Lookup) -> &'static [FieldInfo] {
    match lookup {
        Lookup::CustomFields => CustomField::FIELDS,
        Lookup::Stages => Stage::FIELDS,
        Lookup::Users => User::FIELDS,
    }
}

/// One page of a lookup, before rendering.
struct LookupPage {
    lookup: Lookup,
    items: Vec<Item>,
    next_cursor: Option<String>,
}

impl UnifiedClient {
    /// One page of a lookup: the first page (no cursor) fetches the list
    /// fresh, later pages read the walk's snapshot.
    async fn lookup_page(
        &self,
        account: &IntegratedAccount,
        lookup: Lookup,
        options: &ListOptions,
    ) -> Result<LookupPage, UnifiedError> {
        let provider = account.provider();
        if !options.filters.is_empty() {
            let name = options.filters.names().first().copied().unwrap_or("filter");
            return Err(UnifiedError::invalid(
                name,
                "filters apply to opportunities, not to lookups",
            ));
        }
        if !options.request.remote_query.is_empty() {
            return Err(UnifiedError::invalid(
                "remote_query",
                "lookups read what the account has; remote_query applies to opportunities",
            ));
        }
        // A lookup cursor holds `<binding>@<offset>`: a cursor of another
        // list (opportunities, another lookup) is refused, not misread.
        let offset = match options.next_cursor.as_deref() {
            None => None,
            Some(text) => {
                let position = cursor::decode(self.cursor_key(), provider, account.id, text)?;
                let offset = match &position {
                    Position::Token(token) => token
                        .split_once('@')
                        .filter(|(binding, _)| *binding == lookup.binding())
                        .and_then(|(_, offset)| offset.parse::<usize>().ok()),
                    _ => None,
                };
                Some(offset.ok_or_else(|| {
                    UnifiedError::invalid(
                        "next_cursor",
                        "is not a cursor of this list; pass `next_cursor` from its previous page",
                    )
                })?)
            }
        };
        let fresh = offset.is_none();
        let key = (account.id, lookup);
        if fresh {
            self.snapshots().forget(key);
        }
        let snapshot: Arc<Vec<Item>> = self
            .snapshots()
            .get(key, async {
                let list = opportunities(provider)
                    .lookup(
                        self.env(account, &options.request, Map::new()),
                        lookup,
                        fresh,
                    )
                    .await?;
                Ok(items(list))
            })
            .await?;
        let start = offset.unwrap_or(0).min(snapshot.len());
        let limit = options.limit.map_or(DEFAULT_LIMIT, |limit| limit as usize);
        let end = start.saturating_add(limit).min(snapshot.len());
        let next_cursor = (end < snapshot.len()).then(|| {
            cursor::encode(
                self.cursor_key(),
                provider,
                account.id,
                &Position::Token(format!("{}@{end}", lookup.binding())),
            )
        });
        Ok(LookupPage {
            lookup,
            items: snapshot[start..end].to_vec(),
            next_cursor,
        })
    }

    /// `GET /unified/crm/fields|stages|users`: `{result, next_cursor,
    /// result_count}`, each item as `truto_response_format` asks (`raw`:
    /// the provider's record; `stream` is for opportunities only).
    pub async fn list_lookup(
        &self,
        account: &IntegratedAccount,
        lookup: Lookup,
        options: &ListOptions,
    ) -> Result<Value, UnifiedError> {
        if options.request.format == ResponseFormat::Stream {
            return Err(UnifiedError::invalid(
                "truto_response_format",
                "lookups are answered whole; use unified, raw or normalized",
            ));
        }
        let page = self.lookup_page(account, lookup, options).await?;
        let fields = fields_of(page.lookup);
        // The key the schema requires (a field's `name`, an `id`) stays,
        // whatever `truto_exclude_fields` says.
        let mut request = options.request.clone();
        let required = match lookup {
            Lookup::CustomFields => "name",
            Lookup::Stages | Lookup::Users => "id",
        };
        request.exclude_fields.retain(|field| field != required);
        let result: Vec<Value> = page
            .items
            .into_iter()
            .map(|item| {
                let remote_data = item.remote_data;
                render_object(item.record, fields, move || remote_data, &request)
            })
            .collect();
        Ok(json!({
            "result": result,
            "result_count": result.len(),
            "next_cursor": page.next_cursor,
        }))
    }

    async fn typed_lookup<T: serde::de::DeserializeOwned>(
        &self,
        account: &IntegratedAccount,
        lookup: Lookup,
        options: &ListOptions,
    ) -> Result<UnifiedPage<T>, UnifiedError> {
        let page = self.lookup_page(account, lookup, options).await?;
        let records = page
            .items
            .into_iter()
            .map(|item| {
                let mut record = item.record;
                if item.remote_data.is_object() {
                    record.insert("remote_data".into(), item.remote_data);
                }
                serde_json::from_value(Value::Object(record)).map_err(|error| {
                    UnifiedError::Internal {
                        message: format!(
                            "a {} record does not fit its type: {error}",
                            lookup.binding()
                        ),
                    }
                })
            })
            .collect::<Result<Vec<T>, UnifiedError>>()?;
        Ok(UnifiedPage {
            records,
            next_cursor: page.next_cursor,
        })
    }

    /// The account's custom field definitions, typed (`remote_data` the
    /// provider's definition).
    pub async fn list_custom_fields(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<UnifiedPage<CustomField>, UnifiedError> {
        self.typed_lookup(account, Lookup::CustomFields, options)
            .await
    }

    /// The account's stages, typed.
    pub async fn list_stages(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<UnifiedPage<Stage>, UnifiedError> {
        self.typed_lookup(account, Lookup::Stages, options).await
    }

    /// The account's users, typed.
    pub async fn list_users(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<UnifiedPage<User>, UnifiedError> {
        self.typed_lookup(account, Lookup::Users, options).await
    }
}
