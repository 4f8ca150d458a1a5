//! Capsule: integer ids; every body wrapped in the resource's name
//! (`{"opportunity": {...}}`); `value: {amount, currency}` in major units;
//! `expectedCloseOn` a date; `party` the account and `owner` the owner;
//! `lastContactedAt` the last activity; tags `{id, name}`; custom fields
//! `fields[{definition{id, name}, value}]` (number values as strings),
//! written by definition id. Tags and custom fields come only with
//! `embed=tags,fields` (set here on lists; on get, create and update by the
//! spec's `embedTagsFields` constant).
//!
//! The stage is the `milestone`, and there is no status field: the status
//! is the milestone's, from the account's milestones (`complete`,
//! `probability`): not complete is open, complete at 100 won, complete at 0
//! lost. Any other complete milestone (an "On Hold" at 25) is none of the
//! unified statuses: its name, lowercased, is the status. Contacts are
//! Capsule's additional parties, linked after a create through their own
//! endpoint. Lists page by `page`/`perPage`; only a `Link: rel="next"`
//! header says another page follows.
//!
//! The opportunity list filters by last change only (`since`: the unified
//! `updated_at[gt]`); the spec declares the other filters unsupported.
//! Users are `GET /users?embed=party` (one unpaged list; a user's email is
//! on its party); stages are the milestones, each with its pipeline.

use crate::account::IntegratedAccount;
use crate::connector::{AfterWrite, OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::capsule::{
    AccountConnection, FieldDefinitionList, FieldValue, FieldValueWrite, IdRef,
    ListMilestonesParams, ListOpportunitiesParams, ListOpportunityFieldDefinitionsParams,
    ListUsersParams, Milestone, MilestoneList, NestedMilestone, Opportunity, OpportunityCreate,
    OpportunityCreateRequest, OpportunityUpdate, OpportunityUpdateRequest, OpportunityValue,
    TagWrite, UnifiedMapping, UserList,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline, Stage, User,
};
use crm_runtime::paging::has_next_link;
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "capsule";
/// Capsule's largest page (`perPage`).
const MAX_PAGE: i64 = 100;
/// What lists ask Capsule to add to each record.
const LIST_EMBED: [&str; 2] = ["tags", "fields"];
/// The user's party whole: its email addresses are the user's.
const USERS_EMBED: &str = "party";
/// Decimals of an amount Capsule is assumed to keep: its docs do not say,
/// and its web app takes cents. More would be rounded out of sight.
const AMOUNT_DECIMALS: i32 = 2;

/// What mapping needs: the account's opportunity custom field definitions
/// and its milestones (for the status).
#[derive(Debug, Default)]
pub struct Context {
    pub custom_fields: Vec<CustomFieldDefinition>,
    pub milestones: Vec<Milestone>,
}

/// Capsule's glue.
pub struct Capsule;

fn capsule_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Capsule ids are integers"))
}

fn midnight_utc(date: chrono::NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// A milestone as a unified stage, with the pipeline it belongs to.
fn stage_of(milestone: &Milestone) -> Stage {
    Stage {
        id: milestone.id.to_string(),
        name: milestone.name.clone(),
        pipeline: milestone.pipeline.as_ref().map(|pipeline| Pipeline {
            id: pipeline.id.to_string(),
            name: pipeline.name.clone(),
        }),
        remote_data: remote(milestone),
    }
}

/// The status of an opportunity at a milestone.
fn status_at(complete: bool, probability: i64, name: &str) -> unified::UnifiedOpportunityStatus {
    match (complete, probability) {
        (false, _) => unified::UnifiedOpportunityStatus::Open,
        (true, 100) => unified::UnifiedOpportunityStatus::Won,
        (true, 0) => unified::UnifiedOpportunityStatus::Lost,
        // A closing milestone that is neither won nor lost: kept, by its
        // name, so clients see it is closed but not which way.
        (true, _) => unified::UnifiedOpportunityStatus::Unknown(name.to_lowercase()),
    }
}

/// The status from the record's milestone: from the milestone itself when
/// Capsule embedded it whole, otherwise from the account's milestones.
fn status_of(
    milestone: &NestedMilestone,
    context: &Context,
) -> Option<unified::UnifiedOpportunityStatus> {
    if let (Some(complete), Some(probability)) = (milestone.complete, milestone.probability) {
        let name = milestone.name.as_deref().unwrap_or_default();
        return Some(status_at(complete, probability, name));
    }
    let known = context
        .milestones
        .iter()
        .find(|candidate| candidate.id == milestone.id);
    if known.is_none() {
        // `GET /milestones` lists the oldest active pipeline's milestones
        // only; a milestone of another pipeline has no known status.
        tracing::warn!(
            provider = PROVIDER,
            milestone = milestone.id,
            "a milestone outside the account's known milestones: status left empty"
        );
    }
    known.map(|known| status_at(known.complete, known.probability, &known.name))
}

/// A custom field value as the unified API gives it: Capsule returns
/// number fields as strings (`"25"`), which become numbers.
fn unified_value(value: &Value, definition: Option<&CustomFieldDefinition>) -> Value {
    match (value, definition) {
        (Value::String(text), Some(definition)) if definition.data_type == "number" => {
            serde_json::from_str::<serde_json::Number>(text)
                .map(Value::Number)
                .unwrap_or_else(|_| value.clone())
        }
        _ => value.clone(),
    }
}

fn custom_fields_of(fields: &[FieldValue], context: &Context) -> BTreeMap<String, Value> {
    fields
        .iter()
        .map(|field| {
            let id = field.definition.id.to_string();
            let definition = context
                .custom_fields
                .iter()
                .find(|definition| definition.id == id);
            let name = definition
                .map(|definition| definition.name.clone())
                .or_else(|| field.definition.name.clone())
                .unwrap_or(id);
            let value = field
                .value
                .as_ref()
                .map_or(Value::Null, |value| unified_value(value, definition));
            (name, value)
        })
        .collect()
}

/// Unified custom fields (by name) as Capsule's `fields` (by definition).
/// `clearing`: whether a `null` is sent (an update clears the field) or
/// left out (a create has nothing to clear).
fn field_writes(
    fields: &BTreeMap<String, Value>,
    context: &Context,
    clearing: bool,
) -> Result<Vec<FieldValueWrite>, MappingError> {
    let mut writes = Vec::new();
    for (name, value) in fields {
        let field = format!("custom_fields.{name}");
        let definition = context
            .custom_fields
            .iter()
            .find(|definition| &definition.name == name || &definition.id == name)
            .ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    &field,
                    value,
                    "no opportunity custom field has this name",
                )
            })?;
        if value.is_null() {
            if !clearing {
                continue;
            }
            if definition.data_type == "boolean" {
                return Err(MappingError::new(
                    PROVIDER,
                    field,
                    "null",
                    "Capsule cannot empty a boolean field; set it to false",
                ));
            }
        }
        writes.push(FieldValueWrite {
            definition: Some(IdRef {
                id: capsule_id(&field, &definition.id)?,
            }),
            value: Some(value.clone()),
            ..FieldValueWrite::default()
        });
    }
    Ok(writes)
}

/// An amount Capsule keeps exactly.
fn amount(value: f64) -> Result<f64, MappingError> {
    let scaled = value * 10f64.powi(AMOUNT_DECIMALS);
    if !value.is_finite() || (scaled - scaled.round()).abs() > 1e-6 {
        return Err(MappingError::new(
            PROVIDER,
            "amount",
            value,
            format!("Capsule keeps amounts to {AMOUNT_DECIMALS} decimals"),
        ));
    }
    Ok(value)
}

/// The milestone of a unified stage: by id, or by name among the
/// account's milestones.
fn milestone_of(
    stage: &unified::OpportunityStage,
    context: &Context,
) -> Result<IdRef, MappingError> {
    if let Some(id) = &stage.id {
        return Ok(IdRef {
            id: capsule_id("stage.id", id)?,
        });
    }
    let Some(name) = &stage.name else {
        return Err(MappingError::new(
            PROVIDER,
            "stage",
            "{}",
            "a stage needs its milestone id or name",
        ));
    };
    context
        .milestones
        .iter()
        .find(|milestone| milestone.name.eq_ignore_ascii_case(name))
        .map(|milestone| IdRef { id: milestone.id })
        .ok_or_else(|| {
            MappingError::unknown_name(
                PROVIDER,
                "stage.name",
                name,
                "no milestone of the account has this name",
            )
        })
}

/// Tags to add: by id (an existing tag) or by name (created if new).
fn tag_writes(tags: &[unified::OpportunityTag]) -> Result<Vec<TagWrite>, MappingError> {
    tags.iter()
        .map(|tag| match (&tag.id, &tag.name) {
            (Some(id), _) => Ok(TagWrite {
                id: Some(capsule_id("tags.id", id)?),
                ..TagWrite::default()
            }),
            (None, Some(name)) => Ok(TagWrite {
                name: Some(name.clone()),
                ..TagWrite::default()
            }),
            (None, None) => Err(MappingError::new(
                PROVIDER,
                "tags",
                "{}",
                "a tag needs its id or name",
            )),
        })
        .collect()
}

/// The parties to link as additional contacts after a create: the
/// contacts other than the opportunity's own party (Capsule refuses to
/// link that one twice).
fn additional_parties(body: &unified::OpportunityCreate) -> Result<Vec<i64>, MappingError> {
    let party = body.account.as_ref().map(|account| account.id.as_str());
    let mut parties = Vec::new();
    for contact in body.contact.iter().flatten() {
        if Some(contact.id.as_str()) == party {
            continue;
        }
        let id = capsule_id("contact.id", &contact.id)?;
        if !parties.contains(&id) {
            parties.push(id);
        }
    }
    Ok(parties)
}

/// A typed provider item back as JSON (its unknown members kept by
/// `additionalProperties`).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

impl OpportunityMapping for Capsule {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    /// The milestones the context holds (those of the account's oldest
    /// active pipeline: `GET /milestones`), each with its pipeline.
    fn stages(context: &Context) -> Vec<Stage> {
        context.milestones.iter().map(stage_of).collect()
    }

    /// `GET /users?embed=party`: Capsule answers every user at once (the
    /// list documents no paging).
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let params = ListUsersParams {
            embed: Some(vec![USERS_EMBED.to_owned()]),
        };
        let response = calls
            .client
            .list_users(&params)
            .await
            .map_err(|error| UnifiedError::from_client(Provider::Capsule, error))?;
        Ok(Capsule.users_list(&response.body)?)
    }

    /// Every page of the opportunity custom field definitions and of the
    /// milestones (each list ends where no `Link: rel="next"` follows).
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let mut custom_fields = Vec::new();
        for page in 1.. {
            let params = ListOpportunityFieldDefinitionsParams {
                page: Some(page),
                per_page: Some(MAX_PAGE),
            };
            let response = calls
                .client
                .list_opportunity_field_definitions(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Capsule, error))?;
            let definitions = Capsule.custom_fields_list(&response.body)?;
            let last = definitions.is_empty() || !has_next_link(&response.headers);
            custom_fields.extend(definitions);
            if last {
                break;
            }
        }
        let mut milestones = Vec::new();
        for page in 1.. {
            let params = ListMilestonesParams {
                page: Some(page),
                per_page: Some(MAX_PAGE),
            };
            let response = calls
                .client
                .list_milestones(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Capsule, error))?;
            let last = response.body.milestones.is_empty() || !has_next_link(&response.headers);
            milestones.extend(response.body.milestones);
            if last {
                break;
            }
        }
        Ok(Context {
            custom_fields,
            milestones,
        })
    }

    /// `updated_at[gt]` is `since` ("changed after this date"); the other
    /// filters never reach here (the spec declares them unsupported).
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<ListOpportunitiesParams, MappingError> {
        Ok(ListOpportunitiesParams {
            embed: Some(LIST_EMBED.iter().map(|embed| (*embed).to_owned()).collect()),
            since: query.filters.updated_after,
            ..ListOpportunitiesParams::default()
        })
    }

    fn to_unified(
        record: &Opportunity,
        context: &Context,
    ) -> Result<unified::Opportunity, MappingError> {
        Ok(unified::Opportunity {
            name: Some(record.name.clone()),
            description: record.description.clone(),
            amount: record.value.as_ref().map(|value| value.amount),
            currency: record
                .value
                .as_ref()
                .and_then(|value| value.currency.clone()),
            owner: record
                .owner
                .as_ref()
                .map(|owner| unified::OpportunityOwner {
                    id: owner.id.to_string(),
                }),
            account: record
                .party
                .as_ref()
                .map(|party| unified::OpportunityAccount {
                    id: party.id.to_string(),
                }),
            stage: record
                .milestone
                .as_ref()
                .map(|milestone| unified::OpportunityStage {
                    id: Some(milestone.id.to_string()),
                    name: milestone.name.clone().or_else(|| {
                        context
                            .milestones
                            .iter()
                            .find(|known| known.id == milestone.id)
                            .map(|known| known.name.clone())
                    }),
                }),
            status: record
                .milestone
                .as_ref()
                .and_then(|milestone| status_of(milestone, context)),
            tags: record.tags.as_ref().map(|tags| {
                tags.iter()
                    .map(|tag| unified::OpportunityTag {
                        id: Some(tag.id.to_string()),
                        name: Some(tag.name.clone()),
                    })
                    .collect()
            }),
            custom_fields: record
                .fields
                .as_deref()
                .map(|fields| custom_fields_of(fields, context)),
            last_activity_at: record.last_contacted_at,
            close_date: record.expected_close_on.map(midnight_utc),
            created_at: record.created_at,
            updated_at: record.updated_at,
            ..empty_opportunity(record.id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreateRequest, MappingError> {
        let name = body.name.clone().ok_or_else(|| {
            MappingError::new(PROVIDER, "name", "null", "Capsule requires a name")
        })?;
        let party = body.account.as_ref().ok_or_else(|| {
            MappingError::new(
                PROVIDER,
                "account",
                "null",
                "Capsule requires the party (account) of an opportunity",
            )
        })?;
        let stage = body.stage.as_ref().ok_or_else(|| {
            MappingError::new(
                PROVIDER,
                "stage",
                "null",
                "Capsule requires the milestone (stage) of an opportunity",
            )
        })?;
        // Checked now: a bad contact id found after the create would leave
        // the opportunity behind an error.
        additional_parties(body)?;
        let value = match (body.amount, &body.currency) {
            (Some(value), currency) => Some(OpportunityValue {
                amount: amount(value)?,
                currency: currency.clone(),
            }),
            (None, Some(currency)) => {
                return Err(MappingError::new(
                    PROVIDER,
                    "currency",
                    currency,
                    "Capsule keeps a currency only with an amount",
                ));
            }
            (None, None) => None,
        };
        Ok(OpportunityCreateRequest {
            opportunity: OpportunityCreate {
                name,
                description: body.description.clone(),
                party: IdRef {
                    id: capsule_id("account.id", &party.id)?,
                },
                milestone: milestone_of(stage, context)?,
                owner: body
                    .owner
                    .as_ref()
                    .map(|owner| capsule_id("owner.id", &owner.id).map(|id| IdRef { id }))
                    .transpose()?,
                team: None,
                value,
                expected_close_on: body.close_date.map(|at| at.date_naive()),
                probability: None,
                duration_basis: None,
                duration: None,
                lost_reason: None,
                tags: body.tags.as_deref().map(tag_writes).transpose()?,
                fields: body
                    .custom_fields
                    .as_ref()
                    .map(|fields| field_writes(fields, context, false))
                    .transpose()?,
                tracks: None,
            },
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdateRequest, MappingError> {
        let mut update = OpportunityUpdate::default();
        // The typed fields can be left out or set, not sent as `null`
        // (see the spec's `OpportunityUpdate`): a clear goes here.
        let mut clear = |key: &str| {
            update
                .additional_properties
                .insert(key.to_owned(), Value::Null);
        };
        let cannot_clear =
            |field: &str, reason: &str| Err(MappingError::new(PROVIDER, field, "null", reason));
        let mut name = None;
        match &body.name {
            Patch::Value(value) => name = Some(value.clone()),
            Patch::Null => return cannot_clear("name", "every Capsule opportunity has a name"),
            Patch::Absent => {}
        }
        let mut description = None;
        match &body.description {
            Patch::Value(value) => description = Some(value.clone()),
            Patch::Null => clear("description"),
            Patch::Absent => {}
        }
        let mut owner = None;
        match &body.owner {
            Patch::Value(value) => {
                owner = Some(IdRef {
                    id: capsule_id("owner.id", &value.id)?,
                })
            }
            // Capsule accepts it when a team owns the opportunity.
            Patch::Null => clear("owner"),
            Patch::Absent => {}
        }
        let mut expected_close_on = None;
        match &body.close_date {
            Patch::Value(at) => expected_close_on = Some(at.date_naive()),
            Patch::Null => clear("expectedCloseOn"),
            Patch::Absent => {}
        }
        // `value` holds both: an amount with or without its currency, or
        // nothing.
        let mut value = None;
        match (&body.amount, &body.currency) {
            (Patch::Absent, Patch::Absent) => {}
            (Patch::Value(new), Patch::Value(currency)) => {
                value = Some(OpportunityValue {
                    amount: amount(*new)?,
                    currency: Some(currency.clone()),
                })
            }
            // Left out, `currency` stays what it was.
            (Patch::Value(new), Patch::Absent) => {
                value = Some(OpportunityValue {
                    amount: amount(*new)?,
                    currency: None,
                })
            }
            (Patch::Null, Patch::Absent | Patch::Null) => clear("value"),
            (Patch::Value(_), Patch::Null) => {
                return cannot_clear("currency", "Capsule keeps a currency with every amount");
            }
            (Patch::Null | Patch::Absent, Patch::Value(currency)) => {
                return Err(MappingError::new(
                    PROVIDER,
                    "currency",
                    currency,
                    "Capsule keeps a currency only with an amount: send the amount too",
                ));
            }
            (Patch::Absent, Patch::Null) => {
                return cannot_clear(
                    "currency",
                    "Capsule keeps a currency with every amount: clear the amount",
                );
            }
        }
        let party = match &body.account {
            Patch::Value(account) => Some(IdRef {
                id: capsule_id("account.id", &account.id)?,
            }),
            Patch::Null => {
                return cannot_clear("account", "every Capsule opportunity has a party");
            }
            Patch::Absent => None,
        };
        let milestone = match &body.stage {
            Patch::Value(stage) => Some(milestone_of(stage, context)?),
            Patch::Null => {
                return cannot_clear("stage", "every Capsule opportunity is at a milestone");
            }
            Patch::Absent => None,
        };
        let fields = match &body.custom_fields {
            Patch::Value(fields) => Some(field_writes(fields, context, true)?),
            Patch::Null => {
                return cannot_clear(
                    "custom_fields",
                    "set a custom field to null to clear it; the map itself cannot be null",
                );
            }
            Patch::Absent => None,
        };
        Ok(OpportunityUpdateRequest {
            opportunity: OpportunityUpdate {
                name,
                description,
                party,
                milestone,
                owner,
                value,
                expected_close_on,
                fields,
                ..update
            },
        })
    }

    /// Links each contact as an additional party. The opportunity's record
    /// does not list them, so it need not be read again.
    async fn after_create(
        calls: &AccountConnection,
        id: &i64,
        body: &unified::OpportunityCreate,
        _context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        for party in additional_parties(body)? {
            if let Err(error) = calls
                .client
                .add_opportunity_additional_party(id, &party)
                .await
            {
                // The opportunity exists: say which, or a retry duplicates it.
                tracing::warn!(
                    provider = PROVIDER,
                    opportunity = id,
                    party,
                    "created the opportunity but could not link a contact to it"
                );
                return Err(UnifiedError::from_client(Provider::Capsule, error));
            }
        }
        Ok(AfterWrite::Nothing)
    }
}

impl UnifiedMapping for Capsule {
    fn custom_fields_list(
        &self,
        response: &FieldDefinitionList,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .definitions
            .iter()
            .map(|definition| CustomFieldDefinition {
                id: definition.id.to_string(),
                // Capsule's one name for a field, the one people see.
                name: definition.name.clone(),
                label: None,
                data_type: definition.type_.clone(),
                // A list option is its own label and value.
                options: definition
                    .options
                    .iter()
                    .flatten()
                    .map(|option| (option.clone(), option.clone()))
                    .collect(),
                // `important` only highlights a missing value; Capsule
                // requires none and computes none.
                required: false,
                read_only: false,
                remote_data: remote(definition),
            })
            .collect())
    }

    fn stages_list(&self, response: &MilestoneList) -> Result<Vec<Stage>, MappingError> {
        Ok(response.milestones.iter().map(stage_of).collect())
    }

    /// A user's name is Capsule's `name`; its email the first address of
    /// its party (present with `embed=party`).
    fn users_list(&self, response: &UserList) -> Result<Vec<User>, MappingError> {
        Ok(response
            .users
            .iter()
            .map(|user| User {
                id: user.id.to_string(),
                name: user.name.clone().or_else(|| user.username.clone()),
                email: user.party.as_ref().and_then(|party| {
                    party
                        .email_addresses
                        .iter()
                        .flatten()
                        .find_map(|email| email.address.clone())
                }),
                remote_data: remote(user),
            })
            .collect())
    }
}
