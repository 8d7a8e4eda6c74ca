//! Upcasting: stored events are never rewritten; an event written under an
//! older schema is converted on read, one version step at a time.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

type UpcastFn = Arc<dyn Fn(Value) -> Value + Send + Sync>;

/// A registry of `(event type, from version) -> payload at from version + 1`.
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(String, u16), UpcastFn>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcasters")
            .field("steps", &self.steps.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register the step that turns `event_type` at `from_version` into
    /// `from_version + 1`.
    pub fn register(
        mut self,
        event_type: &str,
        from_version: u16,
        step: impl Fn(Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.to_owned(), from_version), Arc::new(step));
        self
    }

    /// Apply every registered step in turn; returns the payload and the
    /// version it ends at.
    pub fn upcast(&self, event_type: &str, mut version: u16, mut payload: Value) -> (u16, Value) {
        if self.steps.is_empty() {
            return (version, payload);
        }
        while let Some(step) = self.steps.get(&(event_type.to_owned(), version)) {
            payload = step(payload);
            version += 1;
        }
        (version, payload)
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_apply_in_order_until_none_is_left() {
        let up = Upcasters::new()
            .register("Renamed", 1, |mut v| {
                if let Some(o) = v.as_object_mut()
                    && let Some(x) = o.remove("old")
                {
                    o.insert("new".into(), x);
                }
                v
            })
            .register("Renamed", 2, |mut v| {
                v["extra"] = json!(true);
                v
            });
        let (ver, payload) = up.upcast("Renamed", 1, json!({"old": 5}));
        assert_eq!(ver, 3);
        assert_eq!(payload, json!({"new": 5, "extra": true}));
        assert_eq!(up.upcast("Other", 1, json!(1)), (1, json!(1)));
    }
}
