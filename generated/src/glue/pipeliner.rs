//! Pipeliner: UUID ids; every path under `/spaces/{space_id}` (the
//! non-secret `space_id` credential); `value` is `{base_value, currency_id,
//! value_foreign}` (`base_value` in the space's base currency,
//! `value_foreign` in `currency_id`, mapped to ISO codes through the
//! space's currencies); `status` an integer (1 open, 2 lost, 3 won;
//! read-only); `step_id` the stage; `owner_id` the owner; the account the
//! primary item of `account_relations`, contacts the items of
//! `contact_relations` (both URIs unless the list asks for them with
//! `expand`); `closing_date` a date; `created`/`modified` timestamps like
//! `2019-02-01 07:41:49.529970+00:00`; custom fields top-level `cf_...`
//! keys named by their `api_name`. Update is `PATCH`. Lists page with
//! `first`/`after` and `page_info`.

use crate::account::IntegratedAccount;
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::pipeliner::{
    AccountConnection, AccountRelationInput, AccountRelationItem, ContactRelationInput,
    ContactRelationItem, CurrencyList, FieldList, ListCurrenciesParams, ListFieldsParams,
    ClientList, ClientUser, ListClientsParams, ListOpportunitiesParams, ListPipelinesParams, ListStepsParams,
    Money, MoneyInput, Opportunity, OpportunityCreate, OpportunityUpdate, PageInfo, Relation,
    StepList, UnifiedMapping,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline, SortBy, Stage, User,
};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

const PROVIDER: &str = "pipeliner";
/// Pipeliner's largest page (`first`), for the account's lookups.
const MAX_PAGE: i32 = 100;
/// Relations named here come back as objects with `account_id` /
/// `contact_id` and `is_primary`; otherwise they are URIs.
const EXPAND_RELATIONS: &str = "account_relations,contact_relations";
/// The `api_name` prefix of custom fields.
const CUSTOM_PREFIX: &str = "cf_";
/// The entity whose field definitions are the opportunity's.
const OPPORTUNITY_ENTITY: &str = "Opportunity";
/// The most pages of users read: 20,000 users at 100 a page. A space has
/// far fewer; the cap only ends a walk whose cursor never ends.
const MAX_USER_PAGES: usize = 200;
/// Pipeliner's date form (`2019-02-01 07:41:49.529970+00:00`), in UTC.
const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S%.6f+00:00";

/// A currency of the space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency {
    pub id: Uuid,
    /// ISO 4217 code.
    pub code: String,
    /// The currency of `base_value`.
    pub is_base: bool,
    pub is_deleted: bool,
}

/// What mapping needs: custom field definitions (named by `api_name`),
/// opportunity pipeline steps (with their pipeline's id and name) and the
/// space's currencies.
#[derive(Debug, Default)]
pub struct Context {
    pub custom_fields: Vec<CustomFieldDefinition>,
    pub stages: Vec<Stage>,
    pub currencies: Vec<Currency>,
}

/// A filter instant in Pipeliner's date form, in UTC.
fn pipeliner_date_time(at: &DateTime<FixedOffset>) -> String {
    at.with_timezone(&Utc).format(DATE_TIME).to_string()
}

/// The unified status as Pipeliner's `status` (1 open, 2 lost, 3 won).
fn status_code(status: &str) -> Result<i64, MappingError> {
    match status {
        "open" => Ok(1),
        "lost" => Ok(2),
        "won" => Ok(3),
        other => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "Pipeliner opportunities are open, won or lost; none is abandoned",
        )),
    }
}

/// A user of the space: `name` is its display name (else the names it is
/// made of), `email` its login.
fn user_of(client: &ClientUser) -> User {
    let joined = [&client.first_name, &client.middle_name, &client.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = client
        .name
        .clone()
        .or_else(|| client.formatted_name.clone())
        .filter(|name| !name.trim().is_empty())
        .or_else(|| (!joined.is_empty()).then_some(joined));
    User {
        id: client.id.to_string(),
        name,
        email: client.email.clone().filter(|email| !email.is_empty()),
        remote_data: serde_json::to_value(client).unwrap_or(Value::Null),
    }
}

impl Context {
    fn currency(&self, id: Uuid) -> Option<&Currency> {
        self.currencies.iter().find(|currency| currency.id == id)
    }

    fn base_currency(&self) -> Option<&Currency> {
        self.currencies
            .iter()
            .find(|currency| currency.is_base && !currency.is_deleted)
    }
}

/// Pipeliner's glue.
pub struct Pipeliner;

/// The cursor of the page after this one, or `None` at the end: Pipeliner
/// sends an `end_cursor` on the last page too, so `has_next_page` decides.
fn next_cursor(page_info: Option<&PageInfo>, after: Option<&str>, records: usize) -> Option<String> {
    let page_info = page_info?;
    if records == 0 || page_info.has_next_page != Some(true) {
        return None;
    }
    page_info
        .end_cursor
        .clone()
        .filter(|cursor| !cursor.is_empty() && Some(cursor.as_str()) != after)
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

fn uuid(field: &str, id: &str) -> Result<Uuid, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Pipeliner ids are UUIDs"))
}

fn required(field: &str) -> MappingError {
    MappingError::new(
        PROVIDER,
        field,
        "null",
        "Pipeliner needs it to create an opportunity",
    )
}

/// The id at the end of a relation URI of `entity`
/// (`https://.../entities/Accounts/<uuid>`), or of the entity itself when
/// the relation came expanded.
fn relation_id(relation: &Relation, entity: &str) -> Option<Uuid> {
    match relation {
        Relation::String(uri) => {
            let (path, id) = uri.trim_end_matches('/').rsplit_once('/')?;
            path.ends_with(&format!("/entities/{entity}"))
                .then(|| id.parse().ok())
                .flatten()
        }
        Relation::Object(entity) => entity.get("id")?.as_str()?.parse().ok(),
    }
}

/// The primary account: from the expanded `account_relations` (what lists
/// ask for); where the relations are URIs (a get, or a write's answer: the
/// generated get sends no `expand`), from the `primary_account` URI, which
/// names the account resource itself.
fn primary_account(record: &Opportunity) -> Option<String> {
    let expanded: Vec<_> = record
        .account_relations
        .iter()
        .flatten()
        .filter_map(|item| match item {
            AccountRelationItem::AccountRelation(relation) => Some(relation),
            AccountRelationItem::String(_) => None,
        })
        .collect();
    if !expanded.is_empty() {
        return expanded
            .iter()
            .find(|relation| relation.is_primary == Some(true))
            .and_then(|relation| relation.account_id)
            .map(|id| id.to_string());
    }
    record
        .primary_account
        .as_ref()
        .and_then(|relation| relation_id(relation, "Accounts"))
        .map(|id| id.to_string())
}

/// The contacts, primary first, when the relations came expanded. As URIs
/// they name the relation records, not the contacts, so the contacts are
/// unknown (`None`) rather than guessed.
fn contacts(record: &Opportunity) -> Option<Vec<unified::OpportunityContact>> {
    let items = record.contact_relations.as_ref()?;
    let mut relations = Vec::with_capacity(items.len());
    for item in items {
        match item {
            ContactRelationItem::ContactRelation(relation) => relations.push(relation),
            ContactRelationItem::String(_) => return None,
        }
    }
    relations.sort_by_key(|relation| relation.is_primary != Some(true));
    Some(
        relations
            .iter()
            .filter_map(|relation| relation.contact_id)
            .map(|id| unified::OpportunityContact { id: id.to_string() })
            .collect(),
    )
}

/// The amount in the opportunity's own currency: `base_value` when that
/// is the base currency, `value_foreign` otherwise.
fn amount(money: &Money, context: &Context) -> Option<f64> {
    let in_base = match money.currency_id {
        None => true,
        Some(id) => context.currency(id).is_some_and(|currency| currency.is_base),
    };
    if in_base {
        money.base_value
    } else {
        money.value_foreign
    }
}

/// An amount as Pipeliner's `value`: in the base currency as
/// `base_value`, in another as `value_foreign` (Pipeliner converts the
/// other side). No currency means the base currency.
fn money(amount: f64, currency: Option<&str>, context: &Context) -> Result<MoneyInput, MappingError> {
    if !amount.is_finite() {
        return Err(MappingError::new(PROVIDER, "amount", amount, "is not a number"));
    }
    let currency = match currency {
        None => context.base_currency().ok_or_else(|| {
            MappingError::unknown_name(PROVIDER, "currency", "null", "the space has no base currency")
        })?,
        Some(code) => context
            .currencies
            .iter()
            .find(|currency| !currency.is_deleted && currency.code.eq_ignore_ascii_case(code))
            .ok_or_else(|| {
                MappingError::unknown_name(PROVIDER, "currency", code, "is not a currency of this Pipeliner space")
            })?,
    };
    Ok(if currency.is_base {
        MoneyInput {
            base_value: Some(amount),
            currency_id: currency.id,
            value_foreign: None,
        }
    } else {
        MoneyInput {
            base_value: None,
            currency_id: currency.id,
            value_foreign: Some(amount),
        }
    })
}

/// A unified stage as a step id: its id, or its name looked up in the
/// account's pipeline steps.
fn step_id(stage: &unified::OpportunityStage, context: &Context) -> Result<Uuid, MappingError> {
    match (&stage.id, &stage.name) {
        (Some(id), _) => uuid("stage.id", id),
        (None, Some(name)) => context
            .stages
            .iter()
            .find(|step| &step.name == name)
            .ok_or_else(|| MappingError::unknown_name(PROVIDER, "stage.name", name, "no pipeline step has this name"))
            .and_then(|step| uuid("stage.id", &step.id)),
        (None, None) => Err(MappingError::new(PROVIDER, "stage", "{}", "give the step's id or name")),
    }
}

fn account_relations(account: &unified::OpportunityAccount) -> Result<Vec<AccountRelationInput>, MappingError> {
    Ok(vec![AccountRelationInput {
        account_id: uuid("account.id", &account.id)?,
        is_primary: Some(true),
    }])
}

/// The first contact is the primary one.
fn contact_relations(contacts: &[unified::OpportunityContact]) -> Result<Vec<ContactRelationInput>, MappingError> {
    contacts
        .iter()
        .enumerate()
        .map(|(index, contact)| {
            Ok(ContactRelationInput {
                contact_id: uuid("contact.id", &contact.id)?,
                is_primary: Some(index == 0),
            })
        })
        .collect()
}

/// Unified custom fields (keyed by `api_name`) as top-level keys; a name
/// the account's definitions do not have is refused.
fn custom_keys(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, Value>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            context
                .custom_fields
                .iter()
                .find(|definition| &definition.name == name)
                .map(|definition| (definition.name.clone(), value.clone()))
                .ok_or_else(|| {
                    MappingError::unknown_name(
                        PROVIDER,
                        format!("custom_fields.{name}"),
                        value,
                        "no opportunity custom field has this api_name",
                    )
                })
        })
        .collect()
}

fn status(value: i64) -> unified::UnifiedOpportunityStatus {
    match value {
        1 => unified::UnifiedOpportunityStatus::Open,
        2 => unified::UnifiedOpportunityStatus::Lost,
        3 => unified::UnifiedOpportunityStatus::Won,
        // Kept as its number: clients accept statuses the unified set lacks.
        other => unified::UnifiedOpportunityStatus::Unknown(other.to_string()),
    }
}

/// A field every Pipeliner opportunity has: it can change, not be cleared.
fn not_null<T, U>(
    field: &str,
    value: &Patch<T>,
    convert: impl FnOnce(&T) -> Result<U, MappingError>,
) -> Result<Patch<U>, MappingError> {
    match value {
        Patch::Absent => Ok(Patch::Absent),
        Patch::Value(value) => Ok(Patch::Value(convert(value)?)),
        Patch::Null => Err(MappingError::new(
            PROVIDER,
            field,
            "null",
            "every Pipeliner opportunity has one; set another value",
        )),
    }
}

impl OpportunityMapping for Pipeliner {
    type Calls = AccountConnection;
    type Context = Context;

    /// The custom fields of the context, named by `api_name`.
    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    /// The opportunity pipeline steps, with their pipeline's id and name.
    fn stages(context: &Context) -> Vec<Stage> {
        context.stages.clone()
    }

    /// Every page of `GET /entities/Clients` (Pipeliner's users): the ids
    /// `owner_id` holds.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Pipeliner, error);
        let space = calls.credentials.space_id.as_str();
        let mut users = Vec::new();
        let mut after = None;
        for _ in 0..MAX_USER_PAGES {
            let params = ListClientsParams {
                first: Some(MAX_PAGE),
                after: after.clone(),
                ..Default::default()
            };
            let page = calls.client.list_clients(space, &params).await.map_err(failed)?.body;
            users.extend(Pipeliner.users_list(&page)?);
            after = next_cursor(page.page_info.as_ref(), after.as_deref(), page.data.len());
            if after.is_none() {
                break;
            }
        }
        Ok(users)
    }

    /// Every page of the opportunity field definitions, the steps and the
    /// currencies.
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Pipeliner, error);
        let space = calls.credentials.space_id.as_str();
        let mut context = Context::default();

        let mut after = None;
        loop {
            let params = ListFieldsParams {
                first: Some(MAX_PAGE),
                after: after.clone(),
                filter_entity_name: Some(OPPORTUNITY_ENTITY.into()),
                ..Default::default()
            };
            let page = calls.client.list_fields(space, &params).await.map_err(failed)?.body;
            context.custom_fields.extend(Pipeliner.custom_fields_list(&page)?);
            after = next_cursor(page.page_info.as_ref(), after.as_deref(), page.data.len());
            if after.is_none() {
                break;
            }
        }

        let mut pipelines = BTreeMap::new();
        let mut after = None;
        loop {
            let params = ListPipelinesParams {
                first: Some(MAX_PAGE),
                after: after.clone(),
                ..Default::default()
            };
            let page = calls.client.list_pipelines(space, &params).await.map_err(failed)?.body;
            pipelines.extend(
                page.data
                    .iter()
                    .map(|pipeline| (pipeline.id.to_string(), pipeline.name.clone())),
            );
            after = next_cursor(page.page_info.as_ref(), after.as_deref(), page.data.len());
            if after.is_none() {
                break;
            }
        }

        let mut after = None;
        loop {
            let params = ListStepsParams {
                first: Some(MAX_PAGE),
                after: after.clone(),
                ..Default::default()
            };
            let page = calls.client.list_steps(space, &params).await.map_err(failed)?.body;
            context.stages.extend(Pipeliner.stages_list(&page)?.into_iter().map(|mut stage| {
                if let Some(pipeline) = stage.pipeline.as_mut() {
                    pipeline.name = pipelines.get(&pipeline.id).cloned();
                }
                stage
            }));
            after = next_cursor(page.page_info.as_ref(), after.as_deref(), page.data.len());
            if after.is_none() {
                break;
            }
        }

        let mut after = None;
        loop {
            let params = ListCurrenciesParams {
                first: Some(MAX_PAGE),
                after: after.clone(),
                ..Default::default()
            };
            let page: CurrencyList = calls
                .client
                .list_currencies(space, &params)
                .await
                .map_err(failed)?
                .body;
            context
                .currencies
                .extend(page.data.iter().map(|currency| Currency {
                    id: currency.id,
                    code: currency.code.clone(),
                    is_base: currency.is_base == Some(true),
                    is_deleted: currency.is_deleted == Some(true),
                }));
            after = next_cursor(page.page_info.as_ref(), after.as_deref(), page.data.len());
            if after.is_none() {
                break;
            }
        }
        Ok(context)
    }

    /// Relations as objects with their ids, not URIs; the filters as the
    /// documented `filter[<api_name>]` / `filter-op[<api_name>]` pairs (all
    /// apply together), and a sort as `order-by` with the id breaking
    /// ties (Pipeliner's cursor holds the sort values, so paging follows
    /// the sort). Without `sort_by`, no `order-by`: Pipeliner's own order.
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<ListOpportunitiesParams, MappingError> {
        let filters = &query.filters;
        let order_by = filters.sort_by.map(|sort| match sort {
            SortBy::UpdatedAt => "modified,id",
            SortBy::CreatedAt => "created,id",
        });
        Ok(ListOpportunitiesParams {
            expand: Some(EXPAND_RELATIONS.into()),
            order_by: order_by.map(str::to_owned),
            filter_modified: filters.updated_after.as_ref().map(pipeliner_date_time),
            filter_op_modified: filters.updated_after.map(|_| "gt".to_owned()),
            filter_created: filters.created_after.as_ref().map(pipeliner_date_time),
            filter_op_created: filters.created_after.map(|_| "gt".to_owned()),
            filter_status: filters.status.as_deref().map(status_code).transpose()?,
            filter_owner_id: filters
                .owner_id
                .as_deref()
                .map(|id| uuid("owner_id", id))
                .transpose()?,
            ..Default::default()
        })
    }

    fn to_unified(record: &Opportunity, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let id = record.id.to_string();
        let custom_fields = record
            .additional_properties
            .iter()
            .filter(|(key, _)| key.starts_with(CUSTOM_PREFIX))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let currency = record
            .value
            .as_ref()
            .and_then(|money| money.currency_id)
            .and_then(|id| context.currency(id))
            .map(|currency| currency.code.clone());
        let stage = record.step_id.map(|step| {
            let step = step.to_string();
            let name = context
                .stages
                .iter()
                .find(|stage| stage.id == step)
                .map(|stage| stage.name.clone());
            unified::OpportunityStage { id: Some(step), name }
        });
        Ok(unified::Opportunity {
            name: Some(record.name.clone()),
            description: record.description.clone(),
            amount: record.value.as_ref().and_then(|money| amount(money, context)),
            currency,
            owner: record
                .owner_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: primary_account(record).map(|id| unified::OpportunityAccount { id }),
            contact: contacts(record),
            stage,
            status: record.status.map(status),
            custom_fields: Some(custom_fields),
            close_date: record.closing_date.map(midnight_utc),
            created_at: record.created,
            updated_at: record.modified,
            ..empty_opportunity(id)
        })
    }

    /// Pipeliner refuses a create without name, owner, step, closing date
    /// and value; the unified layer checks them before the call (the spec's
    /// `required`), so the errors here only guard the conversion.
    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let owner = body.owner.as_ref().ok_or_else(|| required("owner"))?;
        let stage = body.stage.as_ref().ok_or_else(|| required("stage"))?;
        let close_date = body.close_date.ok_or_else(|| required("close_date"))?;
        let amount = body.amount.ok_or_else(|| required("amount"))?;
        Ok(OpportunityCreate {
            name: body.name.clone().ok_or_else(|| required("name"))?,
            owner_id: uuid("owner.id", &owner.id)?,
            step_id: step_id(stage, context)?,
            closing_date: close_date.date_naive(),
            value: money(amount, body.currency.as_deref(), context)?,
            description: body.description.clone(),
            unit_id: None,
            oppty_type_id: None,
            ranking: None,
            created: body.created_at,
            account_relations: body.account.as_ref().map(account_relations).transpose()?,
            contact_relations: body
                .contact
                .as_deref()
                .map(contact_relations)
                .transpose()?,
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
        // `value` carries the amount and its currency together.
        let value = match (&body.amount, &body.currency) {
            (Patch::Value(amount), currency) => {
                if currency.is_null() {
                    return Err(MappingError::new(
                        PROVIDER,
                        "currency",
                        "null",
                        "every Pipeliner value has a currency; leave it out for the base currency",
                    ));
                }
                Patch::Value(money(*amount, currency.value().map(String::as_str), context)?)
            }
            (Patch::Null, _) => {
                return Err(MappingError::new(
                    PROVIDER,
                    "amount",
                    "null",
                    "every Pipeliner opportunity has a value; set 0 instead",
                ));
            }
            (Patch::Absent, Patch::Absent) => Patch::Absent,
            (Patch::Absent, currency) => {
                return Err(MappingError::new(
                    PROVIDER,
                    "currency",
                    currency.value().map_or("null", String::as_str),
                    "Pipeliner stores the currency with the amount: send both",
                ));
            }
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
            name: not_null("name", &body.name, |name| Ok(name.clone()))?,
            owner_id: not_null("owner", &body.owner, |owner| uuid("owner.id", &owner.id))?,
            step_id: not_null("stage", &body.stage, |stage| step_id(stage, context))?,
            closing_date: not_null("close_date", &body.close_date, |at| Ok(at.date_naive()))?,
            value,
            description: body.description.clone(),
            unit_id: Patch::Absent,
            oppty_type_id: Patch::Absent,
            ranking: Patch::Absent,
            // The list sent replaces the linked accounts and contacts; `null`
            // unlinks them all.
            account_relations: match &body.account {
                Patch::Absent => Patch::Absent,
                Patch::Null => Patch::Value(Vec::new()),
                Patch::Value(account) => Patch::Value(account_relations(account)?),
            },
            contact_relations: match &body.contact {
                Patch::Absent => Patch::Absent,
                Patch::Null => Patch::Value(Vec::new()),
                Patch::Value(contacts) => Patch::Value(contact_relations(contacts)?),
            },
            additional_properties,
        })
    }
}

impl UnifiedMapping for Pipeliner {
    /// Opportunity pipeline steps only: the list also holds lead-process
    /// and quote-process steps, which have no `pipeline_id`. The
    /// pipeline's name is not on the step: the context adds it.
    fn stages_list(&self, response: &StepList) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .data
            .iter()
            .filter_map(|step| {
                let pipeline = step.pipeline_id?;
                Some(Stage {
                    id: step.id.to_string(),
                    name: step.name.clone(),
                    pipeline: Some(Pipeline {
                        id: pipeline.to_string(),
                        name: None,
                    }),
                    remote_data: serde_json::to_value(step).unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// Custom fields only (`api_name` `cf_...`), named by `api_name`: the
    /// key they have on records; `name` is the label people see.
    fn custom_fields_list(
        &self,
        response: &FieldList,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .data
            .iter()
            .filter(|field| field.api_name.starts_with(CUSTOM_PREFIX))
            .filter(|field| {
                field
                    .entity_name
                    .as_deref()
                    .is_none_or(|entity| entity == OPPORTUNITY_ENTITY)
            })
            .map(|field| CustomFieldDefinition {
                id: field.id.to_string(),
                name: field.api_name.clone(),
                label: Some(field.name.clone()).filter(|label| !label.is_empty()),
                data_type: field.type_id.clone().unwrap_or_default(),
                // Dropdown options live in the field's data set (not fetched).
                options: Vec::new(),
                required: field.system_required == Some(true),
                read_only: field.system_readonly == Some(true),
                remote_data: serde_json::to_value(field).unwrap_or(Value::Null),
            })
            .collect())
    }

    /// The clients (users) of one page.
    fn users_list(&self, response: &ClientList) -> Result<Vec<User>, MappingError> {
        Ok(response.data.iter().map(user_of).collect())
    }
}
