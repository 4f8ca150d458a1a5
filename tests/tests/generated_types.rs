//! The generated types on real JSON: wire names, absent/null/value, open
//! enums, unions, flattened maps, recursion, formats.

use crm_runtime::Patch;
use integration_tests::types::{
    Cat, Deal, Formats, IdOrName, Names, NamesPatch, Pet, Record, RecordUpdate, Status, Tree,
    WithExtras,
};
use serde_json::{Value, json};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> (T, Value) {
    let typed: T = serde_json::from_value(value).expect("deserializes");
    let back = serde_json::to_value(&typed).expect("serializes");
    (typed, back)
}

#[test]
fn names_that_are_not_rust_keep_their_wire_names() {
    let wire = json!({"type": "t", "self": "s", "2fa_enabled": true, "+1": 3, "-1": 1, "add": "lower", "Add": "upper", "custom.cf_abc": "c", "": "empty"});
    let (names, back): (Names, Value) = round_trip(wire.clone());
    assert_eq!(names.type_, "t");
    assert_eq!(names.self_.as_deref(), Some("s"));
    assert_eq!(names._2fa_enabled, Some(true));
    assert_eq!((names.plus_1, names.minus_1), (Some(3), Some(1)));
    assert_eq!(
        (names.add.as_deref(), names.add_2.as_deref()),
        (Some("lower"), Some("upper"))
    );
    assert_eq!(names.custom_cf_abc.as_deref(), Some("c"));
    assert_eq!(names.field.as_deref(), Some("empty"));
    assert_eq!(back, wire);
}

#[test]
fn optional_fields_are_skipped_and_required_nullable_ones_sent_as_null() {
    let (record, back): (Record, Value) = round_trip(json!({"id": "r1", "note": null}));
    assert_eq!(record.note, None);
    assert_eq!(record.amount, None);
    assert_eq!(back, json!({"id": "r1", "note": null}));
    // A required field that is missing is an error, not a default.
    assert!(serde_json::from_value::<Record>(json!({"note": null})).is_err());
}

#[test]
fn partial_updates_have_three_states() {
    let update = RecordUpdate {
        amount: Patch::Value(5.0),
        note: Patch::Null,
        ..RecordUpdate::default()
    };
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        json!({"amount": 5.0, "note": null})
    );
    assert_eq!(
        serde_json::to_value(RecordUpdate::default()).unwrap(),
        json!({})
    );
    let read: RecordUpdate = serde_json::from_value(json!({"note": null})).unwrap();
    assert_eq!((read.note, read.amount), (Patch::Null, Patch::Absent));
    // `status` is not nullable in the spec: a null is refused, not sent on.
    assert!(serde_json::from_value::<RecordUpdate>(json!({"status": null})).is_err());
    // The PUT marked `x-partial-update` gets a three-state companion of a
    // type that is used elsewhere too.
    let patch = NamesPatch {
        type_: "t".into(),
        add: Patch::Null,
        ..default_names_patch()
    };
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        json!({"type": "t", "add": null})
    );
}

fn default_names_patch() -> NamesPatch {
    serde_json::from_value(json!({"type": ""})).unwrap()
}

#[test]
fn enums_accept_values_the_spec_does_not_list() {
    let statuses: Vec<Status> =
        serde_json::from_value(json!(["open", "in-progress", "unknown", "archived"])).unwrap();
    assert_eq!(
        statuses,
        [
            Status::Open,
            Status::InProgress,
            Status::Unknown2,
            Status::Unknown("archived".into())
        ]
    );
    assert_eq!(
        serde_json::to_value(&statuses).unwrap(),
        json!(["open", "in-progress", "unknown", "archived"])
    );
    assert_eq!(Status::from("2nd").to_string(), "2nd");
}

#[test]
fn tagged_unions_pick_by_tag_and_keep_unknown_tags() {
    let pets: Vec<Pet> = serde_json::from_value(json!([
        {"pet_type": "cat", "meows": true},
        {"pet_type": "dog", "barks": false},
        {"pet_type": "parrot", "talks": true},
    ]))
    .unwrap();
    assert_eq!(
        pets[0],
        Pet::Cat(Cat {
            pet_type: "cat".into(),
            meows: true
        })
    );
    assert!(matches!(pets[1], Pet::Dog(_)));
    assert_eq!(
        pets[2],
        Pet::Unknown(json!({"pet_type": "parrot", "talks": true}))
    );
    // The tag is written back as it came.
    assert_eq!(
        serde_json::to_value(&pets[0]).unwrap(),
        json!({"pet_type": "cat", "meows": true})
    );
    // A known tag with a body of the wrong shape is an error, not Unknown.
    assert!(serde_json::from_value::<Pet>(json!({"pet_type": "cat"})).is_err());
}

#[test]
fn untagged_unions_take_the_first_that_fits() {
    let values: Vec<IdOrName> = serde_json::from_value(json!([7, {"name": "x"}])).unwrap();
    assert_eq!(values[0], IdOrName::Integer(7));
    assert!(matches!(&values[1], IdOrName::IdOrNameVariant2(v) if v.name.as_deref() == Some("x")));
}

#[test]
fn all_of_is_merged_into_one_struct() {
    let (deal, back): (Deal, Value) = round_trip(
        json!({"title": "Big", "value": 5.5, "created_at": "2024-01-02T03:04:05+02:00"}),
    );
    assert_eq!(deal.title, "Big");
    assert_eq!(
        deal.created_at.map(|at| at.to_rfc3339()).as_deref(),
        Some("2024-01-02T03:04:05+02:00")
    );
    assert_eq!(back["created_at"], "2024-01-02T03:04:05+02:00");
}

#[test]
fn additional_properties_are_kept_in_a_flattened_map() {
    let wire = json!({"id": "x", "custom.cf_1": "a", "custom.cf_2": null});
    let (extras, back): (WithExtras, Value) = round_trip(wire.clone());
    assert_eq!(extras.additional_properties.len(), 2);
    assert_eq!(extras.additional_properties["custom.cf_2"], None);
    assert_eq!(back, wire);
}

#[test]
fn recursive_types_nest() {
    let (tree, back): (Tree, Value) = round_trip(
        json!({"value": "root", "parent": {"value": "up"}, "children": [{"value": "leaf", "children": []}]}),
    );
    assert_eq!(
        tree.parent.as_ref().map(|parent| parent.value.as_str()),
        Some("up")
    );
    assert_eq!(back["children"][0]["value"], "leaf");
}

#[test]
fn formats_are_typed() {
    let wire = json!({
        "created_at": "2013-02-20T05:30:12.123000+00:00", "day": "2024-02-29", "count": 7,
        "big": 9007199254740993_i64, "unsigned": 18446744073709551615_u64, "ratio": 0.5, "exact": 0.1,
        "id": "62f44730-dd91-461e-bd6a-aedd9e0ad79d", "anything": {"x": [1]},
    });
    let (formats, back): (Formats, Value) = round_trip(wire.clone());
    assert_eq!(formats.big, 9007199254740993);
    assert_eq!(formats.unsigned, Some(u64::MAX));
    assert_eq!(formats.day.to_string(), "2024-02-29");
    assert_eq!(
        formats.id.to_string(),
        "62f44730-dd91-461e-bd6a-aedd9e0ad79d"
    );
    assert_eq!(back["anything"], json!({"x": [1]}));
    assert!(serde_json::from_value::<Formats>(json!({"created_at": "yesterday"})).is_err());
}
