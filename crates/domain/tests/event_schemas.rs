//! The JSON Schemas in `docs/events/` are a contract with the analysts who
//! read every stored event from Kafka. This test keeps them in step with the
//! code:
//!
//! * the `<Type>.schema.json` files are exactly the `ChatEvent` and
//!   `UserEvent` variants, whose names come from serde itself, so a new
//!   variant fails here until it has examples and a schema;
//! * examples of every variant (every `Option` `Some`, every `Option` `None`,
//!   every value of every nested enum) validate against their schema, alone
//!   and inside an envelope, plain and redacted as the Kafka publisher does;
//! * each schema lists exactly the fields the code serializes and requires
//!   exactly those that cannot be null;
//! * the validator (the subset of draft 2020-12 the schemas use, below)
//!   rejects what it should, and refuses keywords it does not understand.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chat_domain::push::PushPreview;
use chat_domain::{
    AcceptRequestsFrom, ChatEvent, DomainEvent, ForwardRef, LastSeenVisibility, MediaDeleteReason,
    MediaRef, MessageKind, ReplyRef, UserEvent, chat_stream, user_stream,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const ENVELOPE: &str = "envelope.schema.json";
const COMMON: &str = "common.schema.json";
/// Event types whose text the Kafka publisher redacts.
const TEXT_EVENTS: [&str; 2] = ["MessageSent", "MessageEdited"];
/// Fields added after their event's first version, serialized only when not
/// empty (`skip_serializing_if`), so older events read unchanged: optional
/// in the schema, never null.
const OMITTED_WHEN_EMPTY: [(&str, &str); 6] = [
    ("SettingsChanged", "push_preview"),
    ("MembersAdded", "invite"),
    ("ChannelSubscribed", "invite"),
    ("MessageSent", "mentions"),
    ("MessageSent", "poll"),
    ("MessageSent", "location"),
];

// ---------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------

const T0: OffsetDateTime = datetime!(2026-11-21 18:00:00.123456 UTC);
const T1: OffsetDateTime = datetime!(2026-11-21 20:00:00 +02:00);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_f1d2_0000_7000_8000_0000_0000_0000 + n)
}

fn media(kind: MessageKind, full: bool) -> MediaRef {
    MediaRef {
        media_id: id(70),
        owner_id: id(1),
        kind,
        mime: "application/octet-stream".into(),
        size: 12_345,
        width: full.then_some(640),
        height: full.then_some(480),
        duration_ms: full.then_some(1_500),
        sha256: "ab".repeat(32),
    }
}

/// Every chat event type at least twice: all `Option`s `Some`, all `None`,
/// and every `MessageKind`.
fn chat_examples() -> Vec<ChatEvent> {
    let (chat, msg) = (id(100), id(200));
    let mut v = Vec::new();
    for (at, a, b, seq) in [(T0, id(1), id(2), 1), (T1, id(3), id(4), u64::MAX)] {
        v.extend([
            ChatEvent::DirectChatRequested {
                chat_id: chat,
                requester_id: a,
                recipient_id: b,
                at,
            },
            ChatEvent::ChatRequestAccepted {
                chat_id: chat,
                requester_id: a,
                recipient_id: b,
                at,
            },
            ChatEvent::ChatRequestRejected {
                chat_id: chat,
                requester_id: a,
                recipient_id: b,
                at,
            },
            ChatEvent::DirectChatBlocked {
                chat_id: chat,
                by: a,
                at,
            },
            ChatEvent::DirectChatUnblocked {
                chat_id: chat,
                by: a,
                at,
            },
            ChatEvent::MembersAdded {
                chat_id: chat,
                user_ids: if seq == 1 { vec![a, b] } else { vec![] },
                by: a,
                joined_seq: seq - 1,
                at,
                invite: None,
            },
            ChatEvent::MemberRemoved {
                chat_id: chat,
                user_id: b,
                by: a,
                at,
            },
            ChatEvent::MemberLeft {
                chat_id: chat,
                user_id: a,
                at,
            },
            ChatEvent::ChannelCreated {
                chat_id: chat,
                owner_id: a,
                title: "news".into(),
                description: (seq == 1).then(|| "daily".into()),
                public: seq == 1,
                at,
            },
            ChatEvent::ChannelSubscribed {
                chat_id: chat,
                user_id: b,
                last_seq: seq,
                at,
                invite: (seq == 1).then(|| "ab".repeat(32)),
            },
            ChatEvent::ChannelUnsubscribed {
                chat_id: chat,
                user_id: b,
                at,
            },
            ChatEvent::AdminDemoted {
                chat_id: chat,
                user_id: b,
                by: a,
                at,
            },
            ChatEvent::MemberRoleChanged {
                chat_id: chat,
                user_id: b,
                role: if seq == 1 {
                    chat_domain::Role::Moderator
                } else {
                    chat_domain::Role::Admin
                },
                by: a,
                at,
            },
            ChatEvent::MemberRoleChanged {
                chat_id: chat,
                user_id: b,
                role: chat_domain::Role::Member,
                by: a,
                at,
            },
            ChatEvent::MemberBanned {
                chat_id: chat,
                user_id: b,
                by: a,
                until: (seq == 1).then_some(T1),
                reason: (seq == 1).then(|| "spam 🚫".to_owned()),
                at,
            },
            ChatEvent::MemberUnbanned {
                chat_id: chat,
                user_id: b,
                by: a,
                at,
            },
            ChatEvent::InviteCreated {
                chat_id: chat,
                code_hash: "ab".repeat(32),
                by: a,
                max_uses: (seq == 1).then_some(10),
                expires_at: (seq == 1).then_some(T1),
                at,
            },
            ChatEvent::InviteRevoked {
                chat_id: chat,
                code_hash: "cd".repeat(32),
                by: a,
                at,
            },
            ChatEvent::MembersAdded {
                chat_id: chat,
                user_ids: vec![b],
                by: b,
                joined_seq: 3,
                at,
                invite: Some("ef".repeat(32)),
            },
            ChatEvent::OwnershipTransferred {
                chat_id: chat,
                previous_owner_id: a,
                new_owner_id: b,
                at,
            },
            ChatEvent::GroupClosed { chat_id: chat, at },
            ChatEvent::MessageEdited {
                chat_id: chat,
                message_id: msg,
                seq,
                editor_id: a,
                text: "édité ✓".into(),
                at,
            },
            ChatEvent::MessageDeleted {
                chat_id: chat,
                message_id: msg,
                seq,
                by: b,
                sender_id: a,
                at,
            },
            ChatEvent::ReactionAdded {
                chat_id: chat,
                message_id: msg,
                seq,
                user_id: b,
                emoji: "👍".into(),
                at,
            },
            ChatEvent::ReactionRemoved {
                chat_id: chat,
                message_id: msg,
                seq,
                user_id: b,
                emoji: "👍".into(),
                at,
            },
            ChatEvent::MessagePinned {
                chat_id: chat,
                message_id: msg,
                seq,
                by: a,
                at,
            },
            ChatEvent::MessageUnpinned {
                chat_id: chat,
                message_id: msg,
                seq,
                by: a,
                at,
            },
            ChatEvent::ReadMarkerMoved {
                chat_id: chat,
                user_id: b,
                up_to_seq: seq,
                at,
            },
            ChatEvent::DeliveryMarkerMoved {
                chat_id: chat,
                user_id: b,
                up_to_seq: seq,
                at,
            },
            ChatEvent::PollVoted {
                chat_id: chat,
                message_id: msg,
                seq,
                user_id: b,
                option_ids: if seq == 1 { vec![0, 2] } else { vec![] },
                anonymous: seq == 1,
                at,
            },
            ChatEvent::PollClosed {
                chat_id: chat,
                message_id: msg,
                seq,
                by: a,
                at,
            },
        ]);
    }
    for full in [true, false] {
        let some = |s: &str| full.then(|| s.to_owned());
        v.extend([
            ChatEvent::GroupCreated {
                chat_id: chat,
                owner_id: id(1),
                title: "Team".into(),
                description: some("All of us"),
                member_ids: vec![id(1), id(2), id(3)],
                at: T0,
            },
            ChatEvent::GroupInfoUpdated {
                chat_id: chat,
                by: id(1),
                title: "Team 2".into(),
                description: some("Still all of us"),
                avatar_url: some("https://cdn.example/a.png"),
                at: T1,
            },
            ChatEvent::AdminPromoted {
                chat_id: chat,
                user_id: id(2),
                by: full.then_some(id(1)),
                at: T0,
            },
        ]);
    }
    // Every Option `Some`, including the media's.
    v.push(ChatEvent::MessageSent {
        chat_id: chat,
        message_id: msg,
        client_msg_id: "c-1".into(),
        seq: 9,
        sender_id: id(1),
        kind: MessageKind::Image,
        text: Some("look 👀".into()),
        media: Some(media(MessageKind::Image, true)),
        reply_to: Some(ReplyRef {
            message_id: id(201),
            seq: 3,
            sender_id: id(2),
        }),
        forward_of: Some(ForwardRef {
            chat_id: id(101),
            message_id: id(202),
            original_sender_id: id(3),
            original_sent_at: T1,
        }),
        at: T0,
        mentions: vec![id(2), id(3)],
        poll: None,
        location: None,
    });
    // Every Option `None`.
    v.push(ChatEvent::MessageSent {
        chat_id: chat,
        message_id: msg,
        client_msg_id: String::new(),
        seq: 1,
        sender_id: id(1),
        kind: MessageKind::Text,
        text: None,
        media: None,
        reply_to: None,
        forward_of: None,
        at: T1,
        mentions: Vec::new(),
        poll: None,
        location: None,
    });
    // A poll and a location (with and without a place name).
    let poll = chat_domain::poll::PollSpec {
        question: "Lunch?".into(),
        options: vec!["Pizza".into(), "Sushi 🍣".into()],
        multiple: true,
        anonymous: false,
    }
    .validate()
    .expect("a valid poll");
    for (kind, poll, location) in [
        (MessageKind::Poll, Some(poll), None),
        (
            MessageKind::Location,
            None,
            Some(chat_domain::poll::Location {
                lat: 48.8584,
                lon: -2.2945,
                name: Some("Tour Eiffel".into()),
            }),
        ),
        (
            MessageKind::Location,
            None,
            Some(chat_domain::poll::Location {
                lat: -90.0,
                lon: 180.0,
                name: None,
            }),
        ),
    ] {
        v.push(ChatEvent::MessageSent {
            chat_id: chat,
            message_id: msg,
            client_msg_id: "c-2".into(),
            seq: 2,
            sender_id: id(1),
            kind,
            text: None,
            media: None,
            reply_to: None,
            forward_of: None,
            at: T0,
            mentions: Vec::new(),
            poll,
            location,
        });
    }
    // The other kinds, with the media's Options `None`.
    for (n, kind) in [
        MessageKind::Video,
        MessageKind::Audio,
        MessageKind::Voice,
        MessageKind::File,
    ]
    .into_iter()
    .enumerate()
    {
        v.push(ChatEvent::MessageSent {
            chat_id: chat,
            message_id: id(300 + n as u128),
            client_msg_id: format!("c-{n}"),
            seq: 10 + n as u64,
            sender_id: id(2),
            kind,
            text: None,
            media: Some(media(kind, false)),
            reply_to: None,
            forward_of: None,
            at: T0,
            mentions: Vec::new(),
            poll: None,
            location: None,
        });
    }
    v
}

/// Every user event type at least twice: all `Option`s `Some`, all `None`,
/// and every settings value.
fn user_examples() -> Vec<UserEvent> {
    let user = id(1);
    let mut v = Vec::new();
    for (at, other, seq) in [(T0, id(2), 1), (T1, id(3), u64::MAX)] {
        v.extend([
            UserEvent::UserRegistered {
                user_id: user,
                username: "alice".into(),
                display_name: "Alice Ö".into(),
                at,
            },
            UserEvent::UserBlocked {
                user_id: user,
                blocked_user_id: other,
                at,
            },
            UserEvent::UserUnblocked {
                user_id: user,
                blocked_user_id: other,
                at,
            },
            UserEvent::ChatUnmuted {
                user_id: user,
                chat_id: id(100),
                at,
            },
            UserEvent::ChatArchived {
                user_id: user,
                chat_id: id(100),
                at,
            },
            UserEvent::ChatUnarchived {
                user_id: user,
                chat_id: id(100),
                at,
            },
            UserEvent::ChatCleared {
                user_id: user,
                chat_id: id(100),
                up_to_seq: seq - 1,
                at,
            },
            UserEvent::MessageHiddenForMe {
                user_id: user,
                chat_id: id(100),
                message_id: id(200),
                seq,
                at,
            },
            UserEvent::MediaDeleted {
                user_id: user,
                media_id: id(70),
                reason: if seq == 1 {
                    MediaDeleteReason::Unattached
                } else {
                    MediaDeleteReason::Unreferenced
                },
                at,
            },
            UserEvent::StatusChanged {
                user_id: user,
                status: if seq == 1 {
                    chat_domain::user::status::Availability::Online
                } else {
                    chat_domain::user::status::Availability::Away
                },
                text: None,
                expires_at: None,
                at,
            },
            UserEvent::StatusChanged {
                user_id: user,
                status: if seq == 1 {
                    chat_domain::user::status::Availability::Dnd
                } else {
                    chat_domain::user::status::Availability::Invisible
                },
                text: (seq == 1).then(|| "In a meeting 📅".to_owned()),
                expires_at: (seq == 1).then_some(T1),
                at,
            },
            UserEvent::MediaDeleted {
                user_id: user,
                media_id: id(71),
                reason: MediaDeleteReason::ByOwner,
                at,
            },
            UserEvent::UserErased { user_id: user, at },
        ]);
        for (kind, full) in [(MessageKind::Image, true), (MessageKind::File, false)] {
            v.push(UserEvent::MediaUploaded {
                user_id: user,
                media: media(kind, full),
                file_name: full.then(|| "photo.png".to_owned()),
                at,
            });
        }
    }
    for full in [true, false] {
        let some = |s: &str| full.then(|| s.to_owned());
        v.extend([
            UserEvent::ProfileUpdated {
                user_id: user,
                display_name: "Alice".into(),
                avatar_url: some("https://cdn.example/alice.png"),
                bio: some("hi"),
                at: T0,
            },
            UserEvent::ChatMuted {
                user_id: user,
                chat_id: id(100),
                until: full.then_some(T1),
                at: T0,
            },
        ]);
    }
    for (read_receipts, last_seen_visible_to, accept_requests_from, push_preview) in [
        (
            true,
            LastSeenVisibility::Everyone,
            AcceptRequestsFrom::Everyone,
            PushPreview::Full,
        ),
        (
            false,
            LastSeenVisibility::Contacts,
            AcceptRequestsFrom::Nobody,
            PushPreview::SenderOnly,
        ),
        (
            false,
            LastSeenVisibility::Nobody,
            AcceptRequestsFrom::Everyone,
            PushPreview::Nothing,
        ),
    ] {
        v.push(UserEvent::SettingsChanged {
            user_id: user,
            read_receipts,
            last_seen_visible_to,
            accept_requests_from,
            push_preview,
            at: T1,
        });
    }
    v
}

/// One example in all the shapes the schemas must accept.
struct Example {
    event_type: &'static str,
    schema_version: u16,
    payload: Value,
    /// The envelope as stored / published without redaction.
    envelope: Value,
    /// The envelope as the Kafka publisher sends it with `KAFKA_REDACT_BODIES=true`.
    redacted: Value,
}

fn examples() -> Vec<Example> {
    let chat = chat_examples().into_iter().map(|e| {
        round_trips(&e);
        example(&e, chat_stream(e.chat_id()), e.at())
    });
    let user = user_examples().into_iter().map(|e| {
        round_trips(&e);
        let at = serde_json::to_value(&e).unwrap()["at"].clone();
        example(&e, user_stream(e.user_id()), parse_at(&at))
    });
    chat.chain(user)
        .enumerate()
        .map(|(n, mut ex)| {
            // Half the envelopes with every metadata field, half with none.
            if n % 2 == 0 {
                for env in [&mut ex.envelope, &mut ex.redacted] {
                    env["metadata"] = json!({
                        "actor": id(1),
                        "command_id": "c-1",
                        "correlation_id": "req-1",
                        "causation_id": "evt-1",
                        "tenant": "acme",
                    });
                }
            }
            for env in [&mut ex.envelope, &mut ex.redacted] {
                env["position"] = json!(n + 1);
            }
            ex
        })
        .collect()
}

fn parse_at(v: &Value) -> OffsetDateTime {
    serde_json::from_value::<Wrap>(json!({ "at": v }))
        .unwrap()
        .at
}

#[derive(serde::Deserialize)]
struct Wrap {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

fn round_trips<E>(e: &E)
where
    E: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let back: E = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
    assert_eq!(&back, e, "serde round trip");
}

fn example<E: DomainEvent + serde::Serialize>(
    e: &E,
    stream: String,
    occurred_at: OffsetDateTime,
) -> Example {
    let payload = serde_json::to_value(e).unwrap();
    assert_eq!(
        payload["type"],
        e.event_type(),
        "the serialized `type` tag must equal DomainEvent::event_type"
    );
    let time = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut envelope = json!({
        "position": 1,
        "event_id": id(999),
        "stream": stream,
        "version": 7,
        "type": e.event_type(),
        "schema_version": e.schema_version(),
        "occurred_at": time(occurred_at),
        "recorded_at": time(occurred_at + time::Duration::milliseconds(2)),
        "payload": payload,
        "metadata": {},
    });
    if let Some(subject) = e.subject() {
        envelope["subject"] = json!(subject);
    }
    let redacted = redact(envelope.clone());
    Example {
        event_type: e.event_type(),
        schema_version: e.schema_version(),
        payload,
        envelope,
        redacted,
    }
}

/// What the Kafka publisher does with `KAFKA_REDACT_BODIES=true` (see
/// `redact` in crates/projector/src/kafka/record.rs). The hash here is a
/// stand-in: the schema only checks its shape.
fn redact(mut envelope: Value) -> Value {
    if !TEXT_EVENTS.contains(&envelope["type"].as_str().unwrap()) {
        return envelope;
    }
    let payload = envelope["payload"].as_object_mut().unwrap();
    if let Some(text) = payload.get("text").and_then(Value::as_str) {
        let length = text.chars().count();
        payload.insert(
            "text_redacted".into(),
            json!({ "length": length, "sha256": "0f".repeat(32) }),
        );
    }
    payload.insert("text".into(), Value::Null);
    envelope["redacted"] = json!(true);
    envelope
}

// ---------------------------------------------------------------------------
// Schema files and variant names
// ---------------------------------------------------------------------------

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events")
}

/// `<Type>.schema.json` for version 1, `<Type>.v<N>.schema.json` after.
fn schema_file(event_type: &str, schema_version: u16) -> String {
    match schema_version {
        1 => format!("{event_type}.schema.json"),
        n => format!("{event_type}.v{n}.schema.json"),
    }
}

/// The variant names serde knows for `T`, from the error it gives for an
/// unknown one; derived from the enum itself, so new variants show up here.
fn serde_variants<T: DeserializeOwned + std::fmt::Debug>(probe: Value) -> BTreeSet<String> {
    let err = serde_json::from_value::<T>(probe)
        .expect_err("the probe is not a variant")
        .to_string();
    let list = err
        .split_once("expected one of ")
        .or_else(|| err.split_once("expected "))
        .unwrap_or_else(|| panic!("unexpected serde error: {err}"))
        .1;
    // serde writes `a`, "`a` or `b`" or "one of `a`, `b`, `c`".
    list.split(", ")
        .flat_map(|s| s.split(" or "))
        .map(|s| s.trim().trim_matches('`').to_owned())
        .collect()
}

fn chat_types() -> BTreeSet<String> {
    serde_variants::<ChatEvent>(json!({ "type": "__probe__" }))
}

fn user_types() -> BTreeSet<String> {
    serde_variants::<UserEvent>(json!({ "type": "__probe__" }))
}

fn all_types() -> BTreeSet<String> {
    let (chat, user) = (chat_types(), user_types());
    assert!(chat.is_disjoint(&user), "a type name in both streams");
    chat.union(&user).cloned().collect()
}

// ---------------------------------------------------------------------------
// The validator: the part of JSON Schema 2020-12 the schemas use. Any other
// keyword is a test failure, so no schema constraint goes unchecked.
// ---------------------------------------------------------------------------

struct Schemas {
    /// File name -> parsed schema.
    docs: BTreeMap<String, Value>,
    /// Enum (as JSON text) -> the values instances have taken.
    enum_values_seen: RefCell<BTreeMap<String, BTreeSet<String>>>,
}

impl Schemas {
    fn load() -> Self {
        let mut docs = BTreeMap::new();
        for entry in std::fs::read_dir(schema_dir()).expect("docs/events exists") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.ends_with(".json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let doc: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
                docs.insert(name, doc);
            }
        }
        Self {
            docs,
            enum_values_seen: RefCell::default(),
        }
    }

    /// The per-type schema files, without `envelope` and `common`.
    fn event_files(&self) -> BTreeSet<&str> {
        self.docs
            .keys()
            .map(String::as_str)
            .filter(|f| *f != ENVELOPE && *f != COMMON)
            .collect()
    }

    fn doc(&self, file: &str) -> &Value {
        self.docs
            .get(file)
            .unwrap_or_else(|| panic!("docs/events/{file} is missing"))
    }

    /// Validate `instance` against schema file `file`; the errors, if any.
    fn validate(&self, file: &str, instance: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(file, self.doc(file), instance, "$", &mut errors);
        errors
    }

    fn is_valid(&self, file: &str, schema: &Value, instance: &Value) -> bool {
        let mut errors = Vec::new();
        self.check(file, schema, instance, "$", &mut errors);
        errors.is_empty()
    }

    /// Resolve a `$ref` made in `base`: `#/$defs/X`, `other.json#/$defs/X`
    /// or `other.json`. Returns the file the target lives in and the target.
    fn resolve(&self, base: &str, reference: &str) -> (&str, &Value) {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file.is_empty() { base } else { file };
        let (name, doc) = self
            .docs
            .get_key_value(file)
            .unwrap_or_else(|| panic!("{base}: $ref {reference}: no file {file}"));
        let target = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{base}: $ref {reference}: no {pointer} in {file}"));
        (name, target)
    }

    fn check(&self, file: &str, schema: &Value, inst: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = schema
            .as_object()
            .unwrap_or_else(|| panic!("{file}: a schema at {at} is not an object"));
        for (keyword, arg) in schema {
            match keyword.as_str() {
                "$schema" | "$id" | "title" | "description" | "$comment" | "$defs" => {}
                "then" => {} // applied with "if"
                "$ref" => {
                    let (target_file, target) = self.resolve(file, arg.as_str().unwrap());
                    self.check(target_file, target, inst, at, errors);
                }
                "type" => {
                    let ok = match arg {
                        Value::String(t) => has_type(t, inst),
                        Value::Array(ts) => ts.iter().any(|t| has_type(t.as_str().unwrap(), inst)),
                        _ => panic!("{file}: bad `type` {arg}"),
                    };
                    if !ok {
                        errors.push(format!("{at}: {inst} is not of type {arg}"));
                    }
                }
                "const" => {
                    if inst != arg {
                        errors.push(format!("{at}: {inst} is not {arg}"));
                    }
                }
                "enum" => {
                    if arg.as_array().unwrap().contains(inst) {
                        self.enum_values_seen
                            .borrow_mut()
                            .entry(arg.to_string())
                            .or_default()
                            .insert(inst.to_string());
                    } else {
                        errors.push(format!("{at}: {inst} is not one of {arg}"));
                    }
                }
                "required" => {
                    if let Some(obj) = inst.as_object() {
                        for name in arg.as_array().unwrap() {
                            if !obj.contains_key(name.as_str().unwrap()) {
                                errors.push(format!("{at}: missing required property {name}"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(obj) = inst.as_object() {
                        for (name, sub) in arg.as_object().unwrap() {
                            if let Some(value) = obj.get(name) {
                                self.check(file, sub, value, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    assert_eq!(
                        arg,
                        &json!(false),
                        "{file}: only `additionalProperties: false`"
                    );
                    if let Some(obj) = inst.as_object() {
                        let known = schema.get("properties").and_then(Value::as_object);
                        for name in obj.keys() {
                            if !known.is_some_and(|k| k.contains_key(name)) {
                                errors.push(format!("{at}: unknown property {name:?}"));
                            }
                        }
                    }
                }
                "items" => {
                    if let Some(items) = inst.as_array() {
                        for (i, item) in items.iter().enumerate() {
                            self.check(file, arg, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                "format" => {
                    if let Some(s) = inst.as_str() {
                        let ok = match arg.as_str().unwrap() {
                            "uuid" => is_uuid(s),
                            "date-time" => is_date_time(s),
                            other => panic!("{file}: unsupported format {other}"),
                        };
                        if !ok {
                            errors.push(format!("{at}: {s:?} is not a {arg}"));
                        }
                    }
                }
                "pattern" => {
                    if let Some(s) = inst.as_str()
                        && !matches_pattern(arg.as_str().unwrap(), s)
                    {
                        errors.push(format!("{at}: {s:?} does not match {arg}"));
                    }
                }
                "minimum" | "maximum" => {
                    if let (Some(n), Some(bound)) = (inst.as_f64(), arg.as_f64()) {
                        let ok = if keyword == "minimum" {
                            n >= bound
                        } else {
                            n <= bound
                        };
                        if !ok {
                            errors.push(format!("{at}: {inst} is out of {keyword} {arg}"));
                        }
                    }
                }
                "anyOf" => {
                    let branches = arg.as_array().unwrap();
                    if !branches.iter().any(|s| self.is_valid(file, s, inst)) {
                        errors.push(format!("{at}: {inst} matches no branch of anyOf"));
                    }
                }
                "allOf" => {
                    for sub in arg.as_array().unwrap() {
                        self.check(file, sub, inst, at, errors);
                    }
                }
                "if" => {
                    if self.is_valid(file, arg, inst)
                        && let Some(then) = schema.get("then")
                    {
                        self.check(file, then, inst, at, errors);
                    }
                }
                other => panic!(
                    "{file}: the test's validator does not support `{other}`; \
                     extend it in crates/domain/tests/event_schemas.rs or drop the keyword"
                ),
            }
        }
    }

    /// Every `enum` in every schema file.
    fn all_enums(&self) -> BTreeSet<String> {
        fn walk(v: &Value, out: &mut BTreeSet<String>) {
            match v {
                Value::Object(map) => {
                    for (k, sub) in map {
                        if k == "enum" {
                            out.insert(sub.to_string());
                        }
                        walk(sub, out);
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        let mut out = BTreeSet::new();
        self.docs.values().for_each(|d| walk(d, &mut out));
        out
    }
}

fn has_type(t: &str, inst: &Value) -> bool {
    match t {
        "null" => inst.is_null(),
        "boolean" => inst.is_boolean(),
        "object" => inst.is_object(),
        "array" => inst.is_array(),
        "string" => inst.is_string(),
        "number" => inst.is_number(),
        "integer" => {
            inst.is_u64() || inst.is_i64() || inst.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        other => panic!("unknown JSON type {other}"),
    }
}

fn is_hex(s: &str, len: usize, lowercase_only: bool) -> bool {
    s.len() == len
        && s.bytes().all(|b| {
            b.is_ascii_digit()
                || (b'a'..=b'f').contains(&b)
                || (!lowercase_only && (b'A'..=b'F').contains(&b))
        })
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| is_hex(g, n, false))
}

/// RFC 3339 by shape: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_date_time(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return false;
    }
    let (date, rest) = s.split_at(10);
    let date_ok = date.split('-').map(|p| p.len()).eq([4, 2, 2]) && date.split('-').all(digits);
    if !date_ok || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let rest = &rest[1..];
    let (clock, offset) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, "00:00")
    } else if rest.len() > 6 && matches!(rest.as_bytes()[rest.len() - 6], b'+' | b'-') {
        (&rest[..rest.len() - 6], &rest[rest.len() - 5..])
    } else {
        return false;
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let hhmm = |p: &str, n: usize| {
        p.split(':').count() == n && p.split(':').all(|x| x.len() == 2 && digits(x))
    };
    hhmm(hms, 3) && digits(frac) && hhmm(offset, 2)
}

/// The validator understands the few patterns the schemas use: a stream name
/// (`^(chat|user)-<uuid>$`, `^chat-<uuid>$`, `^user-<uuid>$`) and a lowercase
/// hex SHA-256 (`^[0-9a-f]{64}$`). Anything else fails the test.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    if pattern == "^[0-9a-f]{64}$" {
        return is_hex(s, 64, true);
    }
    let prefixes = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix(&format!("-{UUID}$")))
        .unwrap_or_else(|| panic!("the test's validator does not understand pattern {pattern}"));
    let prefixes = prefixes.trim_start_matches('(').trim_end_matches(')');
    s.split_once('-').is_some_and(|(prefix, uuid)| {
        prefixes.split('|').any(|p| p == prefix)
            && is_uuid(uuid)
            && uuid.bytes().all(|b| !b.is_ascii_uppercase())
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn there_is_one_schema_file_per_event_type_and_no_other() {
    let schemas = Schemas::load();
    assert!(schemas.docs.contains_key(ENVELOPE));
    assert!(schemas.docs.contains_key(COMMON));
    let types = all_types();
    assert!(types.contains("MessageSent") && types.contains("UserRegistered"));

    // The current version of every type has its file ...
    let examples = examples();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for ex in &examples {
        expected.insert(schema_file(ex.event_type, ex.schema_version));
    }
    for file in &expected {
        assert!(
            schemas.docs.contains_key(file),
            "docs/events/{file} is missing"
        );
    }
    // ... and every file is about an existing type (older versions included).
    let file_types: BTreeSet<String> = schemas
        .event_files()
        .iter()
        .map(|f| {
            let t = f
                .strip_suffix(".schema.json")
                .unwrap_or_else(|| panic!("docs/events/{f}: only *.schema.json files belong here"));
            t.split_once(".v").map_or(t, |(t, _)| t).to_owned()
        })
        .collect();
    let stale: Vec<_> = file_types.difference(&types).collect();
    let missing: Vec<_> = types.difference(&file_types).collect();
    assert!(
        stale.is_empty(),
        "schemas for event types that no longer exist: {stale:?}"
    );
    assert!(
        missing.is_empty(),
        "event types without a schema: {missing:?}"
    );

    // Every file names itself, and its type.
    for file in schemas.event_files() {
        let doc = schemas.doc(file);
        let t = file.split('.').next().unwrap();
        assert_eq!(
            doc["$id"],
            format!("https://chat.example/events/{file}"),
            "{file}"
        );
        assert_eq!(
            doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{file}"
        );
        assert_eq!(doc["title"], t, "{file}");
        assert_eq!(doc["properties"]["type"]["const"], t, "{file}");
        assert_eq!(doc["additionalProperties"], false, "{file}");
        assert!(
            doc["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{file}"
        );
    }

    // The envelope knows every type and checks each payload against its schema.
    let envelope = schemas.doc(ENVELOPE);
    let listed: BTreeSet<String> = envelope["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, types, "envelope.schema.json: properties.type.enum");
    let dispatched: BTreeSet<String> = envelope["allOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let t = c["if"]["properties"]["type"]["const"].as_str().unwrap();
            assert_eq!(
                c["then"]["properties"]["payload"]["$ref"],
                schema_file(t, 1),
                "envelope.schema.json: the payload of {t}"
            );
            t.to_owned()
        })
        .collect();
    assert_eq!(
        dispatched, types,
        "envelope.schema.json: allOf dispatch by type"
    );
}

#[test]
fn every_example_validates_against_its_schema() {
    let schemas = Schemas::load();
    let examples = examples();

    let covered: BTreeSet<String> = examples.iter().map(|e| e.event_type.to_owned()).collect();
    assert_eq!(
        covered,
        all_types(),
        "every event type needs examples in this test"
    );
    for t in all_types() {
        let n = examples.iter().filter(|e| e.event_type == t).count();
        assert!(
            n >= 2,
            "{t}: {n} example(s); write one with every Option Some and one with every Option None"
        );
    }

    let mut failures = Vec::new();
    for ex in &examples {
        let file = schema_file(ex.event_type, ex.schema_version);
        for (what, schema, instance) in [
            ("payload", file.as_str(), &ex.payload),
            ("envelope", ENVELOPE, &ex.envelope),
            ("redacted envelope", ENVELOPE, &ex.redacted),
        ] {
            for err in schemas.validate(schema, instance) {
                failures.push(format!(
                    "{} {what} vs {schema}: {err}\n  {instance}",
                    ex.event_type
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "schema drift:\n{}",
        failures.join("\n")
    );

    // The redacted examples really exercise `text_redacted`.
    assert!(
        examples
            .iter()
            .any(|e| e.redacted["payload"]["text_redacted"]["length"] == 6),
        "a redacted MessageSent/MessageEdited example"
    );

    // The nested enums in the schemas are exactly the code's ...
    let common = &schemas.doc(COMMON)["$defs"];
    for (name, variants) in [
        (
            "MessageKind",
            serde_variants::<MessageKind>(json!("__probe__")),
        ),
        (
            "LastSeenVisibility",
            serde_variants::<LastSeenVisibility>(json!("__probe__")),
        ),
        (
            "AcceptRequestsFrom",
            serde_variants::<AcceptRequestsFrom>(json!("__probe__")),
        ),
    ] {
        let listed: BTreeSet<String> = common[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("common.schema.json: $defs/{name}/enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, variants, "common.schema.json: $defs/{name}");
    }
    // ... and the examples use every value of every enum.
    let seen = schemas.enum_values_seen.borrow();
    for e in schemas.all_enums() {
        let values: BTreeSet<String> = serde_json::from_str::<Vec<Value>>(&e)
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        let unused: Vec<_> = values
            .difference(seen.get(&e).unwrap_or(&BTreeSet::new()))
            .cloned()
            .collect();
        assert!(unused.is_empty(), "no example uses {unused:?} of enum {e}");
    }
}

/// `additionalProperties: false` catches a field added in code; this catches
/// one removed (or renamed) in code but still in the schema, and a `required`
/// list that disagrees with which fields are `Option`s.
#[test]
fn schemas_list_exactly_the_serialized_fields() {
    let schemas = Schemas::load();
    let mut fields: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // (type, field, is null) for every example.
    let mut nulls: BTreeSet<(&str, String, bool)> = BTreeSet::new();
    for ex in examples() {
        let payload = ex.payload.as_object().unwrap();
        fields
            .entry(ex.event_type)
            .or_default()
            .extend(payload.keys().cloned());
        for (k, v) in payload {
            nulls.insert((ex.event_type, k.clone(), v.is_null()));
        }
    }
    for (t, serialized) in fields {
        let file = schema_file(t, 1);
        let doc = schemas.doc(&file);
        let props = doc["properties"].as_object().unwrap();
        let mut documented: BTreeSet<String> = props.keys().cloned().collect();
        if TEXT_EVENTS.contains(&t) {
            assert!(documented.remove("text_redacted"), "{file}: text_redacted");
        } else {
            assert!(
                !documented.contains("text_redacted"),
                "{file}: text_redacted"
            );
        }
        assert_eq!(
            documented, serialized,
            "{file}: properties vs the serialized fields"
        );

        let required: BTreeSet<String> = doc["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let non_nullable: BTreeSet<String> = serialized
            .iter()
            .filter(|f| !schemas.is_valid(&file, &props[f.as_str()], &Value::Null))
            .cloned()
            .collect();
        // The exceptions: MessageEdited's text is a String, but a redacted
        // topic nulls it, so the schema admits null while requiring it;
        // fields added later are left out when empty, never null.
        let expected: BTreeSet<String> = if t == "MessageEdited" {
            non_nullable
                .into_iter()
                .chain(["text".to_owned()])
                .collect()
        } else {
            non_nullable
                .into_iter()
                .filter(|f| !OMITTED_WHEN_EMPTY.contains(&(t, f.as_str())))
                .collect()
        };
        assert_eq!(
            required, expected,
            "{file}: required = the non-Option fields"
        );

        // Every optional field appears both set and null in the examples
        // (or, left out when empty, both set and absent).
        for f in serialized.difference(&required) {
            if OMITTED_WHEN_EMPTY.contains(&(t, f.as_str())) {
                let absent = examples()
                    .iter()
                    .any(|ex| ex.event_type == t && ex.payload.get(f.as_str()).is_none());
                assert!(absent, "{t}: no example without `{f}`");
                continue;
            }
            for null in [false, true] {
                assert!(
                    nulls.contains(&(t, f.clone(), null)),
                    "{t}: no example with `{f}` {}",
                    if null { "None" } else { "Some" }
                );
            }
        }
    }
}

#[test]
fn the_validator_rejects_drift() {
    let schemas = Schemas::load();
    let ex = examples()
        .into_iter()
        .find(|e| e.event_type == "MessageSent" && !e.payload["media"].is_null())
        .unwrap();
    let file = "MessageSent.schema.json";
    assert!(schemas.validate(file, &ex.payload).is_empty());
    assert!(schemas.validate(ENVELOPE, &ex.envelope).is_empty());

    let rejects = |schema: &str, what: &str, mutate: &dyn Fn(&mut Value), expect: &str| {
        let mut v = if schema == ENVELOPE {
            ex.envelope.clone()
        } else {
            ex.payload.clone()
        };
        mutate(&mut v);
        let errors = schemas.validate(schema, &v);
        assert!(
            errors.iter().any(|e| e.contains(expect)),
            "{what}: expected an error containing {expect:?}, got {errors:?}"
        );
    };
    rejects(
        file,
        "a string where an integer is required",
        &|v| v["seq"] = json!("9"),
        "is not of type",
    );
    rejects(
        file,
        "an unknown property",
        &|v| v["colour"] = json!("red"),
        "unknown property \"colour\"",
    );
    rejects(
        file,
        "a missing required field",
        &|v| {
            v.as_object_mut().unwrap().remove("chat_id");
        },
        "missing required property \"chat_id\"",
    );
    rejects(
        file,
        "a wrong type tag",
        &|v| v["type"] = json!("MessageEdited"),
        "is not \"MessageSent\"",
    );
    rejects(
        file,
        "a seq below 1",
        &|v| v["seq"] = json!(0),
        "out of minimum",
    );
    rejects(
        file,
        "a fractional seq",
        &|v| v["seq"] = json!(1.5),
        "is not of type",
    );
    rejects(
        file,
        "a malformed uuid",
        &|v| v["sender_id"] = json!("not-a-uuid"),
        "is not a \"uuid\"",
    );
    rejects(
        file,
        "a malformed time",
        &|v| v["at"] = json!("2026-11-21 18:00"),
        "is not a \"date-time\"",
    );
    rejects(
        file,
        "an unknown kind",
        &|v| v["kind"] = json!("sticker"),
        "is not one of",
    );
    rejects(
        file,
        "a nested wrong type",
        &|v| v["media"]["width"] = json!(-1),
        "matches no branch",
    );
    rejects(
        file,
        "a nested unknown property",
        &|v| v["reply_to"]["x"] = json!(1),
        "matches no branch",
    );
    rejects(
        file,
        "a null required field",
        &|v| v["client_msg_id"] = Value::Null,
        "is not of type",
    );
    rejects(
        file,
        "a bad redaction hash",
        &|v| v["text_redacted"] = json!({"length": 1, "sha256": "XYZ"}),
        "does not match",
    );
    rejects(
        ENVELOPE,
        "a payload of another type",
        &|v| v["payload"]["type"] = json!("MessageEdited"),
        "is not \"MessageSent\"",
    );
    rejects(
        ENVELOPE,
        "a chat event on a user stream",
        &|v| v["stream"] = json!(format!("user-{}", id(1))),
        "does not match",
    );
    rejects(
        ENVELOPE,
        "a bad payload field",
        &|v| v["payload"]["seq"] = json!("9"),
        "$.payload.seq",
    );
    rejects(
        ENVELOPE,
        "an unknown metadata field",
        &|v| v["metadata"]["who"] = json!("me"),
        "unknown property \"who\"",
    );
    rejects(
        ENVELOPE,
        "a position of 0",
        &|v| v["position"] = json!(0),
        "out of minimum",
    );
    rejects(
        ENVELOPE,
        "a redacted flag of false",
        &|v| v["redacted"] = json!(false),
        "is not true",
    );

    // Shapes, directly.
    assert!(is_date_time("2026-11-21T18:00:00Z"));
    assert!(is_date_time("2026-11-21T20:00:00.5+02:00"));
    assert!(!is_date_time("2026-11-21T20:00:00"));
    assert!(!is_date_time("2026-11-21T20:00:00+0200"));
    assert!(is_uuid(&id(1).to_string()));
    assert!(!is_uuid("0190f1d2-0000-7000-8000-00000000000"));
}
