//! Which Web Push endpoints the server will call. An endpoint is a URL the
//! user hands us and we later request: only prefixes from
//! `PUSH_ENDPOINT_ALLOW` pass, compared on the parsed and re-serialized URL
//! (so `http://127.0.0.1:1@internal/` cannot pass for `http://127.0.0.1:`),
//! with no user info or fragment. Redirects are never followed (see
//! `send.rs`), so an allowed service cannot bounce us elsewhere.

use url::Url;

/// Longest endpoint accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// The endpoint as it will be called, if `allow` lets it through.
pub fn allowed(endpoint: &str, allow: &[String]) -> Option<Url> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return None;
    }
    let url = Url::parse(endpoint).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || url.host_str().is_none()
    {
        return None;
    }
    let normal = url.as_str();
    allow
        .iter()
        .any(|prefix| !prefix.is_empty() && normal.starts_with(prefix.as_str()))
        .then_some(url)
}

/// The origin a VAPID JWT names as its audience.
pub fn audience(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow() -> Vec<String> {
        vec![
            "https://fcm.googleapis.com/".into(),
            "http://127.0.0.1:".into(),
        ]
    }

    #[test]
    fn allowed_prefixes_pass_and_others_do_not() {
        assert!(allowed("https://fcm.googleapis.com/fcm/send/abc", &allow()).is_some());
        assert!(allowed("http://127.0.0.1:9000/push/1", &allow()).is_some());
        for bad in [
            "https://fcm.googleapis.com.evil.net/x",
            "http://127.0.0.1:1@169.254.169.254/latest",
            "http://user@127.0.0.1:9000/x",
            "http://127.0.0.1:9000/x#frag",
            "http://localhost:9000/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(allowed(bad, &allow()).is_none(), "{bad}");
        }
        let long = format!(
            "https://fcm.googleapis.com/{}",
            "a".repeat(MAX_ENDPOINT_LEN)
        );
        assert!(allowed(&long, &allow()).is_none());
    }

    #[test]
    fn the_audience_is_the_origin() {
        let u = allowed("https://fcm.googleapis.com/fcm/send/abc", &allow()).unwrap();
        assert_eq!(audience(&u), "https://fcm.googleapis.com");
    }
}
