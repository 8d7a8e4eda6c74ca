//! Seeding shared by the benchmarks: users written straight to the event
//! store (registration's password hashing is not what they measure).

use anyhow::anyhow;
use chat_domain::{Aggregate, Policy, User, UserAction, UserCommand, user_stream};
use chat_store::{EventStore, ExpectedVersion, Metadata, typed};
use time::OffsetDateTime;
use uuid::Uuid;

/// Register a user named `{prefix}_{i}_{id tail}`; returns its id.
pub async fn register_user(store: &dyn EventStore, prefix: &str, i: usize) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let cmd = UserCommand {
        actor: id,
        at: OffsetDateTime::now_utc(),
        action: UserAction::Register {
            username: format!("{prefix}_{i}_{}", &id.simple().to_string()[24..]),
            display_name: None,
        },
    };
    let events = User::default()
        .decide(&cmd, &Policy::default())
        .map_err(|e| anyhow!(e.to_string()))?;
    let new = events
        .iter()
        .map(|e| typed::encode(e, &Metadata::default(), cmd.at))
        .collect::<Result<Vec<_>, _>>()?;
    store
        .append(&user_stream(id), ExpectedVersion::NoStream, new)
        .await?;
    Ok(id)
}
