//! Close: opportunities have no name, so the unified `name` is Close's
//! `note` (and `description` is unsupported); `value` in integer cents,
//! `status_type` for the status and `status_id`/`status_label` for the
//! stage (a stage given by name is found among the account's statuses),
//! `lead_id` the account, `user_id` the owner, one `contact_id`,
//! `date_won` the close date, and custom fields as top-level
//! `custom.cf_...` keys (`null` unsets one). Lists are oldest first
//! (`_order_by=date_created`), the most stable order Close offers.
//!
//! List filters are Close's own query parameters, ANDed: `date_updated__gt`,
//! `date_created__gt`, `status_type`, `user_id`, `lead_id`, and
//! `_order_by=date_updated|date_created` (ascending). Users are `GET
//! /user/`, paged like every Close list.

use crate::account::IntegratedAccount;
use crate::connector::lookup::{CustomFields, stage_id};
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::close::{
    AccountConnection, CustomFieldList, ListOpportunitiesOrderBy, ListOpportunitiesParams,
    ListOpportunityCustomFieldsParams, ListUsersParams, Opportunity, OpportunityCreate,
    OpportunityStatusList, OpportunityUpdate, StatusType, UnifiedMapping, UserList,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline, Stage, User,
};
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "close";
const CUSTOM_PREFIX: &str = "custom.";
/// Close's largest page of custom field definitions and users.
const MAX_PAGE: i64 = 100;
/// The most pages of users read: 100,000 users, far past any
/// organization; a provider that kept saying `has_more` stops here.
const MAX_USER_PAGES: usize = 1000;

/// What mapping needs: the account's custom field definitions and its
/// opportunity statuses (Close's stages).
#[derive(Debug, Default)]
pub struct Context {
    pub custom_fields: CustomFields,
    pub stages: Vec<Stage>,
}

/// Close's glue.
pub struct Close;

/// The largest number of cents an `f64` holds exactly (2^53).
const MAX_CENTS: i128 = 1 << 53;

/// `500.00` is `50000` cents; a fraction of a cent cannot be stored. The
/// amount's shortest decimal form (what the caller wrote) decides, not
/// float arithmetic: `661136408.67` is 66113640867 cents exactly.
fn cents(field: &str, amount: f64) -> Result<i64, MappingError> {
    let refuse = |reason: &str| MappingError::new(PROVIDER, field, amount, reason.to_owned());
    if !amount.is_finite() {
        return Err(refuse("is not a number"));
    }
    // `{}` prints the shortest text that reads back as this f64; never
    // an exponent for values a CRM amount can take (below 1e16).
    let text = format!("{}", amount.abs());
    if text.contains('e') {
        return Err(refuse("is out of range for Close"));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if fraction.len() > 2 {
        return Err(refuse("Close stores amounts in whole cents"));
    }
    let digits = format!("{whole}{fraction:0<2}");
    let cents: i128 = digits
        .parse()
        .map_err(|_| refuse("is out of range for Close"))?;
    if cents > MAX_CENTS {
        return Err(refuse("is out of range for Close (at most 2^53 cents)"));
    }
    let cents = if amount < 0.0 { -cents } else { cents };
    i64::try_from(cents).map_err(|_| refuse("is out of range for Close"))
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// The one contact Close stores.
fn single_contact(
    contacts: &[unified::OpportunityContact],
) -> Result<Option<String>, MappingError> {
    match contacts {
        [] => Ok(None),
        [only] => Ok(Some(only.id.clone())),
        more => Err(MappingError::new(
            PROVIDER,
            "contact",
            more.len(),
            "Close stores one contact per opportunity",
        )),
    }
}

/// Unified custom fields (by name) as Close keys (`custom.<id>`).
fn custom_keys(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, Value>, MappingError> {
    let mut keys = BTreeMap::new();
    for (name, value) in fields {
        let definition = context.custom_fields.by_key(PROVIDER, name, value)?;
        keys.insert(format!("{CUSTOM_PREFIX}{}", definition.id), value.clone());
    }
    Ok(keys)
}

/// The Close status type a unified status filter names. Close's types are
/// `active`, `won` and `lost`: no Close opportunity is abandoned.
fn status_type(status: &str) -> Result<StatusType, MappingError> {
    match status {
        "open" => Ok(StatusType::Active),
        "won" => Ok(StatusType::Won),
        "lost" => Ok(StatusType::Lost),
        other => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "Close statuses are active (open), won or lost; no Close opportunity is abandoned",
        )),
    }
}

/// A typed provider item back as JSON (the item as read, its unknown
/// members kept by `additionalProperties`).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

impl OpportunityMapping for Close {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.definitions().to_vec()
    }

    /// Close's opportunity statuses, each with its pipeline's id (the
    /// statuses endpoint does not give the pipeline's name).
    fn stages(context: &Context) -> Vec<Stage> {
        context.stages.clone()
    }

    /// Every page of `GET /user/`: until `has_more` is false, a page comes
    /// back empty, or [`MAX_USER_PAGES`] were read.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let mut users = Vec::new();
        for _ in 0..MAX_USER_PAGES {
            let params = ListUsersParams {
                skip: Some(i64::try_from(users.len()).unwrap_or(i64::MAX)),
                limit: Some(MAX_PAGE),
                ..Default::default()
            };
            let response = calls
                .client
                .list_users(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Close, error))?;
            let page = Close.users_list(&response.body)?;
            let done = !response.body.has_more || page.is_empty();
            users.extend(page);
            if done {
                break;
            }
        }
        Ok(users)
    }

    /// Every page of the account's opportunity custom field definitions.
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let mut custom_fields = Vec::new();
        loop {
            let params = ListOpportunityCustomFieldsParams {
                skip: Some(custom_fields.len() as i64),
                limit: Some(MAX_PAGE),
                ..Default::default()
            };
            let response = calls
                .client
                .list_opportunity_custom_fields(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Close, error))?;
            let page = Close.custom_fields_list(&response.body)?;
            let done = !response.body.has_more || page.is_empty();
            custom_fields.extend(page);
            if done {
                let statuses = calls
                    .client
                    .list_opportunity_statuses(&Default::default())
                    .await
                    .map_err(|error| UnifiedError::from_client(Provider::Close, error))?;
                return Ok(Context {
                    custom_fields: CustomFields::new(custom_fields),
                    stages: Close.stages_list(&statuses.body)?,
                });
            }
        }
    }

    /// Oldest first: records created during a walk land at its end
    /// instead of shifting the pages already read (`sort_by=created_at` is
    /// this order; `sort_by=updated_at` is refused by the spec: changes
    /// would reorder the offsets). The filters are Close's own parameters,
    /// which Close ANDs.
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<ListOpportunitiesParams, MappingError> {
        let filters = &query.filters;
        Ok(ListOpportunitiesParams {
            order_by: Some(ListOpportunitiesOrderBy::DateCreated),
            date_updated_gt: filters.updated_after,
            date_created_gt: filters.created_after,
            status_type: filters.status.as_deref().map(status_type).transpose()?,
            user_id: filters.owner_id.clone(),
            lead_id: filters.account_id.clone(),
            ..ListOpportunitiesParams::default()
        })
    }

    fn to_unified(record: &Opportunity, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let mut custom_fields = BTreeMap::new();
        for (key, value) in &record.additional_properties {
            if let Some(id) = key.strip_prefix(CUSTOM_PREFIX) {
                custom_fields.insert(context.custom_fields.key_of(id), value.clone());
            }
        }
        let status = match &record.status_type {
            StatusType::Active => unified::UnifiedOpportunityStatus::Open,
            StatusType::Won => unified::UnifiedOpportunityStatus::Won,
            StatusType::Lost => unified::UnifiedOpportunityStatus::Lost,
            // Kept, lowercased: clients accept statuses the unified set lacks.
            StatusType::Unknown(other) => unified::UnifiedOpportunityStatus::Unknown(other.to_lowercase()),
        };
        Ok(unified::Opportunity {
            id: record.id.clone(),
            name: record.note.clone(),
            amount: record.value.map(|cents| cents as f64 / 100.0),
            currency: record.value_currency.clone(),
            owner: record
                .user_id
                .clone()
                .map(|id| unified::OpportunityOwner { id }),
            account: Some(unified::OpportunityAccount {
                id: record.lead_id.clone(),
            }),
            contact: record
                .contact_id
                .clone()
                .map(|id| vec![unified::OpportunityContact { id }]),
            stage: Some(unified::OpportunityStage {
                id: Some(record.status_id.clone()),
                name: Some(record.status_label.clone()),
            }),
            status: Some(status),
            custom_fields: Some(custom_fields),
            close_date: record.date_won.map(midnight_utc),
            created_at: Some(record.date_created),
            updated_at: Some(record.date_updated),
            ..empty_opportunity(record.id.clone())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let lead_id = body
            .account
            .as_ref()
            .map(|account| account.id.clone())
            .ok_or_else(|| {
                MappingError::new(
                    PROVIDER,
                    "account",
                    "null",
                    "Close needs the lead (account) of an opportunity",
                )
            })?;
        Ok(OpportunityCreate {
            lead_id,
            contact_id: single_contact(body.contact.as_deref().unwrap_or_default())?,
            user_id: body.owner.as_ref().map(|owner| owner.id.clone()),
            status_id: body
                .stage
                .as_ref()
                .map(|stage| {
                    stage_id(PROVIDER, &context.stages, stage.id.as_deref(), stage.name.as_deref())
                })
                .transpose()?,
            pipeline_id: None,
            value: body
                .amount
                .map(|amount| cents("amount", amount))
                .transpose()?,
            value_currency: body.currency.clone(),
            value_period: None,
            confidence: None,
            note: body.name.clone(),
            date_won: body.close_date.map(|at| at.date_naive()),
            additional_properties: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_keys(fields, context))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdate, MappingError> {
        let contact_id = match &body.contact {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(contacts) => single_contact(contacts)?.into(),
        };
        let additional_properties = match &body.custom_fields {
            Patch::Absent => BTreeMap::new(),
            Patch::Value(fields) => custom_keys(fields, context)?,
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "custom_fields",
                    "null",
                    "set a custom field to null to clear it; the map itself cannot be null",
                ));
            }
        };
        Ok(OpportunityUpdate {
            lead_id: match &body.account {
                Patch::Null => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "account",
                        "null",
                        "an opportunity's lead cannot be cleared in Close",
                    ));
                }
                other => other.clone().map(|account| account.id),
            },
            contact_id,
            user_id: body.owner.clone().map(|owner| owner.id),
            // Close moves an opportunity between stages by status id.
            status_id: match &body.stage {
                Patch::Value(stage) => Patch::Value(stage_id(
                    PROVIDER,
                    &context.stages,
                    stage.id.as_deref(),
                    stage.name.as_deref(),
                )?),
                Patch::Null => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "stage",
                        "null",
                        "every Close opportunity has a status; set another stage id",
                    ));
                }
                Patch::Absent => Patch::Absent,
            },
            value: match body.amount {
                Patch::Value(amount) => Patch::Value(cents("amount", amount)?),
                Patch::Null => Patch::Null,
                Patch::Absent => Patch::Absent,
            },
            value_currency: body.currency.clone(),
            value_period: Patch::Absent,
            confidence: Patch::Absent,
            note: body.name.clone(),
            date_won: body.close_date.clone().map(|at| at.date_naive()),
            additional_properties,
        })
    }
}

impl UnifiedMapping for Close {
    fn custom_fields_list(
        &self,
        response: &CustomFieldList,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .data
            .iter()
            .map(|field| CustomFieldDefinition {
                id: field.id.clone(),
                // Close has one name per field, the one people see.
                name: field.name.clone(),
                label: None,
                data_type: field.type_.clone(),
                options: field
                    .choices
                    .iter()
                    .flatten()
                    .map(|choice| (choice.clone(), choice.clone()))
                    .collect(),
                // Close documents no required or computed opportunity
                // custom fields (`editable_with_roles` limits who edits
                // one in the app, not what the API key may write).
                required: false,
                read_only: false,
                remote_data: remote(field),
            })
            .collect())
    }

    fn stages_list(&self, response: &OpportunityStatusList) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .data
            .iter()
            .map(|status| Stage {
                id: status.id.clone(),
                name: status.label.clone(),
                pipeline: status.pipeline_id.clone().map(|id| Pipeline { id, name: None }),
                remote_data: remote(status),
            })
            .collect())
    }

    fn users_list(&self, response: &UserList) -> Result<Vec<User>, MappingError> {
        Ok(response
            .data
            .iter()
            .map(|user| {
                let name = [user.first_name.as_deref(), user.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                User {
                    id: user.id.clone(),
                    name: Some(name).filter(|name| !name.is_empty()),
                    email: user.email.clone(),
                    remote_data: remote(user),
                }
            })
            .collect())
    }
}

/// Not API: the mapping step of a Close `get`, for
/// `cargo bench -p unified-crm --bench mapping` (`cargo xtask bench`).
/// Exactly what the server does between the provider's body and its own:
/// the bytes parsed to JSON, `Adapter::record` (lenient decode, the glue's
/// `to_unified`, the raw record kept), `crate::render::render`, written.
#[doc(hidden)]
pub struct MappingBench {
    account: IntegratedAccount,
    http: crm_runtime::reexports::reqwest::Client,
    retry: crm_runtime::RetryPolicy,
    contexts: crate::connector::ContextCache,
    context: Context,
}

impl MappingBench {
    /// `custom_fields`: a Close custom field list body (the account's
    /// context, fetched once per account in the server).
    pub fn new(custom_fields: &[u8]) -> Result<Self, serde_json::Error> {
        use crate::providers::close::AccountCredentials;
        let list: CustomFieldList = serde_json::from_slice(custom_fields)?;
        let custom_fields = Close
            .custom_fields_list(&list)
            .map_err(serde::de::Error::custom)?;
        Ok(MappingBench {
            account: IntegratedAccount::new(
                uuid::Uuid::nil(),
                crate::Credentials::Close(AccountCredentials {
                    api_key: crm_runtime::Secret::new(String::from("bench")),
                }),
            ),
            http: crm_runtime::reexports::reqwest::Client::new(),
            retry: crm_runtime::RetryPolicy::default(),
            contexts: crate::connector::ContextCache::new(crate::connector::DEFAULT_CONTEXT_TTL),
            context: Context {
                custom_fields: CustomFields::new(custom_fields),
                stages: Vec::new(),
            },
        })
    }

    /// One provider record (bytes) to the unified answer (bytes).
    pub fn map(
        &self,
        raw: &[u8],
        options: &crate::RequestOptions,
    ) -> Result<Vec<u8>, serde_json::Error> {
        let raw: Value = serde_json::from_slice(raw)?;
        let env = crate::connector::Env {
            account: &self.account,
            http: &self.http,
            retry: &self.retry,
            contexts: &self.contexts,
            extra_query: Vec::new(),
            extra_body: serde_json::Map::new(),
        };
        let record = crate::connector::Adapter::<Close>::record(&env, raw, &self.context);
        serde_json::to_vec(&crate::render::render_owned(record, options))
    }
}
