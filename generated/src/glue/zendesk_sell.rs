//! Zendesk Sell: deals with integer ids (sent as JSON numbers: `owner_id`,
//! `contact_id`, `stage_id`); `value` a number when whole and a decimal
//! string otherwise (both read, a number written; at most two decimal
//! places); `currency` an ISO code; the status follows the `category` of
//! the deal's stage (`won`, `lost`, `unqualified`, any other open);
//! `organization_id` the account (read-only: Sell derives it from the
//! contact); one `contact_id` (required on create); `estimated_close_date`
//! a date; tags as strings; custom fields keyed by name. Bodies are wrapped
//! `{"data": ...}`, list items `items[].data`; every request carries a
//! `User-Agent` (the spec's constant scheme). Delete answers 204.
//!
//! List filters: `owner_id`, `organization_id` and `sort_by=updated_at:asc`
//! / `created_at:asc` (else `id:asc`); dates and status are refused by the
//! spec. Users from `GET /users` (every page); stages with their
//! pipeline's name (`GET /pipelines`, read with the context).

use crate::account::IntegratedAccount;
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::zendesk_sell::{
    AccountConnection, CollectionMeta, CustomFieldCollection, Deal, DealCreate,
    DealCreateRequest, DealUpdate, DealUpdateRequest, DealValue, ListDealsParams,
    ListPipelinesParams, ListStagesParams, ListUsersParams, StageCollection, UnifiedMapping,
    UserCollection,
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

const PROVIDER: &str = "zendesk_sell";
/// Sell's largest page, for the account's stages, pipelines and users.
const MAX_PAGE: i64 = 100;
/// At most this many pages of stages, pipelines or users (10,000 each):
/// a provider that kept announcing a next page would not loop forever.
const MAX_PAGES: i64 = 100;
/// Pages are stable over the id order (Sell's default, asked explicitly).
const STABLE_ORDER: &str = "id:asc";

/// A stage and the category that decides its deals' status.
#[derive(Clone, Debug, PartialEq)]
pub struct SellStage {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub pipeline_id: Option<i64>,
    /// The stage as Sell listed it.
    pub remote_data: Value,
}

/// What mapping needs: the account's stages (with their pipelines' names)
/// and deal custom fields.
#[derive(Debug, Default)]
pub struct Context {
    pub stages: Vec<SellStage>,
    /// Pipeline id to name.
    pub pipelines: BTreeMap<i64, String>,
    pub custom_fields: Vec<CustomFieldDefinition>,
}

impl Context {
    fn stage(&self, id: i64) -> Option<&SellStage> {
        self.stages.iter().find(|stage| stage.id == id)
    }

    fn custom_field_type(&self, name: &str) -> Option<&str> {
        self.custom_fields
            .iter()
            .find(|definition| definition.name == name)
            .map(|definition| definition.data_type.as_str())
    }
}

/// Zendesk Sell's glue.
pub struct ZendeskSell;

fn sell_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Zendesk Sell ids are integers"))
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// `value` as a number: Sell sends whole values as numbers and the others
/// as decimal strings (`"1499.99"`).
fn amount(value: &DealValue) -> Option<f64> {
    match value {
        DealValue::Number(number) => Some(*number),
        DealValue::String(text) => text.trim().parse().ok().filter(|n: &f64| n.is_finite()),
    }
}

/// An amount as Sell's `value`: a number, with at most two decimal places
/// (Sell stores cents; a finer amount would be rounded).
fn deal_value(amount: f64) -> Result<DealValue, MappingError> {
    let cents = (amount * 100.0).round();
    if !amount.is_finite() || (amount * 100.0 - cents).abs() > 1e-6 || cents.abs() > 9.0e15 {
        return Err(MappingError::new(
            PROVIDER,
            "amount",
            amount,
            "Zendesk Sell stores deal values with at most two decimal places",
        ));
    }
    Ok(DealValue::Number(amount))
}

/// The status of a deal in a stage of this category.
fn status(category: &str) -> unified::UnifiedOpportunityStatus {
    match category {
        "won" => unified::UnifiedOpportunityStatus::Won,
        "lost" => unified::UnifiedOpportunityStatus::Lost,
        // Kept: clients accept statuses the unified set lacks.
        "unqualified" => unified::UnifiedOpportunityStatus::Unknown("unqualified".into()),
        // `incoming`, `in_progress` and an account's own categories.
        _ => unified::UnifiedOpportunityStatus::Open,
    }
}

/// A unified stage as a stage id: its id, or its name looked up.
fn stage_id(stage: &unified::OpportunityStage, context: &Context) -> Result<i64, MappingError> {
    match (&stage.id, &stage.name) {
        (Some(id), _) => sell_id("stage.id", id),
        (None, Some(name)) => context
            .stages
            .iter()
            .find(|stage| &stage.name == name)
            .map(|stage| stage.id)
            .ok_or_else(|| MappingError::unknown_name(PROVIDER, "stage.name", name, "no stage has this name")),
        (None, None) => Err(MappingError::new(PROVIDER, "stage", "{}", "give the stage's id or name")),
    }
}

/// The one contact a deal has.
fn single_contact(contacts: &[unified::OpportunityContact]) -> Result<i64, MappingError> {
    match contacts {
        [only] => sell_id("contact.id", &only.id),
        other => Err(MappingError::new(
            PROVIDER,
            "contact",
            other.len(),
            "a Zendesk Sell deal has exactly one (primary) contact",
        )),
    }
}

fn tag_names(tags: &[unified::OpportunityTag]) -> Vec<String> {
    tags.iter()
        .filter_map(|tag| tag.name.clone().or_else(|| tag.id.clone()))
        .collect()
}

/// `4/27/2016` (how Sell shows `date` custom fields) or an ISO date.
fn custom_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%m/%d/%Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

/// A custom field value as the unified API shows it: choices by label,
/// dates ISO, numbers as numbers.
fn unified_custom_value(data_type: Option<&str>, value: &Value) -> Value {
    let label = |choice: &Value| choice.get("name").cloned().unwrap_or_else(|| choice.clone());
    match (data_type, value) {
        (Some("list"), Value::Object(_)) => label(value),
        (Some("multi_select_list"), Value::Array(choices)) => {
            Value::Array(choices.iter().map(label).collect())
        }
        (Some("date"), Value::String(text)) => custom_date(text)
            .map(|date| Value::String(date.format("%Y-%m-%d").to_string()))
            .unwrap_or_else(|| value.clone()),
        (Some("number"), Value::String(text)) => text
            .trim()
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| value.clone()),
        _ => value.clone(),
    }
}

/// Unified custom fields, by name, checked against the definitions; the
/// values are sent as given (`null` clears one).
fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, Value>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| match context.custom_field_type(name) {
            Some(_) => Ok((name.clone(), value.clone())),
            None => Err(MappingError::unknown_name(
                PROVIDER,
                format!("custom_fields.{name}"),
                value,
                "no deal custom field has this name",
            )),
        })
        .collect()
}

fn cannot_clear(field: &str, reason: &str) -> MappingError {
    MappingError::new(PROVIDER, field, "null", reason)
}

/// Whether a collection page says another follows
/// (`meta.links.next_page`, absent on the last page).
fn has_next_page(meta: Option<&CollectionMeta>) -> bool {
    meta.and_then(|meta| meta.links.as_ref())
        .and_then(|links| links.next_page.as_deref())
        .is_some_and(|next| !next.is_empty())
}

/// The item's JSON as Sell sent it (every member is kept by the generated
/// type's extra properties).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

impl OpportunityMapping for ZendeskSell {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    fn stages(context: &Context) -> Vec<Stage> {
        context
            .stages
            .iter()
            .map(|stage| Stage {
                id: stage.id.to_string(),
                name: stage.name.clone(),
                pipeline: stage.pipeline_id.map(|id| Pipeline {
                    id: id.to_string(),
                    name: context.pipelines.get(&id).cloned(),
                }),
                remote_data: stage.remote_data.clone(),
            })
            .collect()
    }

    /// `GET /users`, page after page while `meta.links.next_page` says
    /// another follows (and the page was not empty), at most `MAX_PAGES`.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::ZendeskSell, error);
        let mut users = Vec::new();
        for page in 1..=MAX_PAGES {
            let params = ListUsersParams {
                page: Some(page),
                per_page: Some(MAX_PAGE),
                sort_by: Some(STABLE_ORDER.into()),
                ..Default::default()
            };
            let body = calls.client.list_users(&params).await.map_err(failed)?.body;
            users.extend(ZendeskSell.users_list(&body)?);
            if body.items.is_empty() || !has_next_page(body.meta.as_ref()) {
                break;
            }
        }
        Ok(users)
    }

    /// Every page of stages and pipelines (a short page, an empty one or
    /// one without `next_page` is the last) and the deal custom field
    /// definitions.
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::ZendeskSell, error);
        let mut stages = Vec::new();
        for page in 1..=MAX_PAGES {
            let params = ListStagesParams {
                page: Some(page),
                per_page: Some(MAX_PAGE),
                ..Default::default()
            };
            let body = calls.client.list_stages(&params).await.map_err(failed)?.body;
            stages.extend(body.items.iter().map(|item| SellStage {
                id: item.data.id,
                name: item.data.name.clone(),
                category: item.data.category.clone(),
                pipeline_id: item.data.pipeline_id,
                remote_data: remote(&item.data),
            }));
            if (body.items.len() as i64) < MAX_PAGE || !has_next_page(body.meta.as_ref()) {
                break;
            }
        }
        let mut pipelines = BTreeMap::new();
        for page in 1..=MAX_PAGES {
            let params = ListPipelinesParams {
                page: Some(page),
                per_page: Some(MAX_PAGE),
                ..Default::default()
            };
            let body = calls
                .client
                .list_pipelines(&params)
                .await
                .map_err(failed)?
                .body;
            pipelines.extend(
                body.items
                    .iter()
                    .map(|item| (item.data.id, item.data.name.clone())),
            );
            if (body.items.len() as i64) < MAX_PAGE || !has_next_page(body.meta.as_ref()) {
                break;
            }
        }
        let fields = calls
            .client
            .list_deal_custom_fields()
            .await
            .map_err(failed)?
            .body;
        Ok(Context {
            stages,
            pipelines,
            custom_fields: ZendeskSell.custom_fields_list(&fields)?,
        })
    }

    /// The owner and the organization filter the list (`owner_id`,
    /// `organization_id`, together); `sort_by` orders it by one field,
    /// ascending (`updated_at:asc`, `created_at:asc`), else by id.
    fn list_input(query: &ListQuery, _context: &Context) -> Result<ListDealsParams, MappingError> {
        let filters = &query.filters;
        Ok(ListDealsParams {
            // The spec refuses both sorts: one field with no tie-break.
            sort_by: Some(STABLE_ORDER.into()),
            owner_id: filters
                .owner_id
                .as_deref()
                .map(|id| sell_id("owner_id", id))
                .transpose()?,
            organization_id: filters
                .account_id
                .as_deref()
                .map(|id| sell_id("account_id", id))
                .transpose()?,
            ..Default::default()
        })
    }

    fn to_unified(record: &Deal, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let stage = record.stage_id.and_then(|id| context.stage(id));
        let amount = record.value.as_ref().and_then(|value| {
            let number = amount(value);
            if number.is_none() {
                tracing::warn!(provider = PROVIDER, record = record.id, field = "value", "not a decimal number; amount is left empty");
            }
            number
        });
        let custom_fields = record
            .custom_fields
            .iter()
            .flatten()
            .map(|(name, value)| {
                (
                    name.clone(),
                    unified_custom_value(context.custom_field_type(name), value),
                )
            })
            .collect();
        Ok(unified::Opportunity {
            name: Some(record.name.clone()),
            amount,
            currency: record.currency.clone(),
            owner: record
                .owner_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: record
                .organization_id
                .map(|id| unified::OpportunityAccount { id: id.to_string() }),
            contact: record
                .contact_id
                .map(|id| vec![unified::OpportunityContact { id: id.to_string() }]),
            stage: record.stage_id.map(|id| unified::OpportunityStage {
                id: Some(id.to_string()),
                name: stage.map(|stage| stage.name.clone()),
            }),
            // A stage missing from the account's stages says nothing.
            status: stage.map(|stage| status(&stage.category)),
            tags: record.tags.as_ref().map(|tags| {
                tags.iter()
                    .map(|tag| unified::OpportunityTag {
                        id: Some(tag.clone()),
                        name: Some(tag.clone()),
                    })
                    .collect()
            }),
            custom_fields: Some(custom_fields),
            last_activity_at: record.last_activity_at,
            close_date: record.estimated_close_date.map(midnight_utc),
            created_at: record.created_at,
            updated_at: record.updated_at,
            ..empty_opportunity(record.id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<DealCreateRequest, MappingError> {
        let name = body.name.clone().ok_or_else(|| {
            MappingError::new(PROVIDER, "name", "null", "Zendesk Sell requires a deal name")
        })?;
        let contact = body.contact.as_deref().ok_or_else(|| {
            MappingError::new(PROVIDER, "contact", "null", "Zendesk Sell requires a deal's contact")
        })?;
        Ok(DealCreateRequest {
            data: DealCreate {
                name,
                contact_id: single_contact(contact)?,
                value: body.amount.map(deal_value).transpose()?,
                currency: body.currency.clone(),
                owner_id: body
                    .owner
                    .as_ref()
                    .map(|owner| sell_id("owner.id", &owner.id))
                    .transpose()?,
                stage_id: body
                    .stage
                    .as_ref()
                    .map(|stage| stage_id(stage, context))
                    .transpose()?,
                hot: None,
                source_id: None,
                loss_reason_id: None,
                unqualified_reason_id: None,
                estimated_close_date: body.close_date.map(|at| at.date_naive()),
                customized_win_likelihood: None,
                last_stage_change_at: None,
                added_at: None,
                tags: body.tags.as_deref().map(tag_names),
                custom_fields: body
                    .custom_fields
                    .as_ref()
                    .map(|fields| custom_values(fields, context))
                    .transpose()?,
                additional_properties: BTreeMap::new(),
            },
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<DealUpdateRequest, MappingError> {
        // The generated `DealUpdate` sits inside the `data` wrapper, where
        // fields are optional but not three-state: a `null` that clears a
        // field goes in as an extra member of the same name.
        let mut cleared = BTreeMap::new();
        let mut update = DealUpdate::default();
        match &body.name {
            Patch::Value(name) => update.name = Some(name.clone()),
            Patch::Null => return Err(cannot_clear("name", "every Zendesk Sell deal has a name")),
            Patch::Absent => {}
        }
        match &body.contact {
            Patch::Value(contacts) => update.contact_id = Some(single_contact(contacts)?),
            Patch::Null => {
                return Err(cannot_clear("contact", "every Zendesk Sell deal has a primary contact"));
            }
            Patch::Absent => {}
        }
        match body.amount {
            Patch::Value(amount) => update.value = Some(deal_value(amount)?),
            Patch::Null => return Err(cannot_clear("amount", "a Zendesk Sell deal's value cannot be cleared; set 0")),
            Patch::Absent => {}
        }
        match &body.currency {
            Patch::Value(currency) => update.currency = Some(currency.clone()),
            Patch::Null => return Err(cannot_clear("currency", "every Zendesk Sell deal has a currency")),
            Patch::Absent => {}
        }
        match &body.owner {
            Patch::Value(owner) => update.owner_id = Some(sell_id("owner.id", &owner.id)?),
            Patch::Null => {
                cleared.insert("owner_id".to_owned(), Value::Null);
            }
            Patch::Absent => {}
        }
        match &body.stage {
            Patch::Value(stage) => update.stage_id = Some(stage_id(stage, context)?),
            Patch::Null => return Err(cannot_clear("stage", "every Zendesk Sell deal is in a stage")),
            Patch::Absent => {}
        }
        match &body.close_date {
            Patch::Value(at) => update.estimated_close_date = Some(at.date_naive()),
            Patch::Null => {
                cleared.insert("estimated_close_date".to_owned(), Value::Null);
            }
            Patch::Absent => {}
        }
        match &body.tags {
            Patch::Value(tags) => update.tags = Some(tag_names(tags)),
            // Tags are replaced as a whole: none left.
            Patch::Null => update.tags = Some(Vec::new()),
            Patch::Absent => {}
        }
        match &body.custom_fields {
            Patch::Value(fields) => update.custom_fields = Some(custom_values(fields, context)?),
            Patch::Null => {
                return Err(cannot_clear(
                    "custom_fields",
                    "set a custom field to null to clear it; the map itself cannot be null",
                ));
            }
            Patch::Absent => {}
        }
        update.additional_properties = cleared;
        Ok(DealUpdateRequest { data: update })
    }
}

impl UnifiedMapping for ZendeskSell {
    fn stages_list(&self, response: &StageCollection) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .items
            .iter()
            .map(|item| Stage {
                id: item.data.id.to_string(),
                name: item.data.name.clone(),
                pipeline: item.data.pipeline_id.map(|id| Pipeline {
                    id: id.to_string(),
                    name: None,
                }),
                remote_data: remote(&item.data),
            })
            .collect())
    }

    /// Sell's definitions have a name (the key of `custom_fields`, also
    /// what people see) and a type; none is required or read-only through
    /// the API.
    fn custom_fields_list(
        &self,
        response: &CustomFieldCollection,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .items
            .iter()
            .map(|item| CustomFieldDefinition {
                id: item.data.id.to_string(),
                name: item.data.name.clone(),
                label: None,
                data_type: item.data.type_.clone(),
                options: item
                    .data
                    .choices
                    .iter()
                    .flatten()
                    .map(|choice| (choice.id.to_string(), choice.name.clone()))
                    .collect(),
                required: false,
                read_only: false,
                remote_data: remote(&item.data),
            })
            .collect())
    }

    fn users_list(&self, response: &UserCollection) -> Result<Vec<User>, MappingError> {
        Ok(response
            .items
            .iter()
            .map(|item| User {
                id: item.data.id.to_string(),
                name: item.data.name.clone(),
                email: item.data.email.clone(),
                remote_data: remote(&item.data),
            })
            .collect())
    }
}
