//! The registry of projections: every one, in a fixed order, and the ones a
//! command-line argument names. Apart from the trait (`projection.rs`), so
//! the projections depend on the trait and only this file on them.

use std::sync::Arc;

use crate::chats::ChatsProjection;
use crate::error::{ProjectorError, Result};
use crate::media::MediaProjection;
use crate::messages::MessagesProjection;
use crate::projection::Projection;
use crate::users::UsersProjection;

/// Every projection, in a fixed order: users, chats, messages, media.
pub fn all_projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(UsersProjection),
        Arc::new(ChatsProjection),
        Arc::new(MessagesProjection),
        Arc::new(MediaProjection),
    ]
}

/// The projections a command-line argument names: one name, or `"all"`.
pub fn projection_by_name(name: &str) -> Result<Vec<Arc<dyn Projection>>> {
    let all = all_projections();
    if name == "all" {
        return Ok(all);
    }
    let one: Vec<_> = all.into_iter().filter(|p| p.name() == name).collect();
    if one.is_empty() {
        Err(ProjectorError::UnknownProjection(name.to_owned()))
    } else {
        Ok(one)
    }
}
