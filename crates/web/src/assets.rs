//! The web client's files, compiled in. A file added under `assets/` is
//! served once it is listed here.

const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../assets/style.css"),
    ),
    (
        "main.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/main.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/api.js"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/live.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/dom.js"),
    ),
    (
        "chats.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/chats.js"),
    ),
    (
        "conversation.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/conversation.js"),
    ),
    (
        "kinds.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/kinds.js"),
    ),
    (
        "people.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/people.js"),
    ),
    (
        "notify.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/notify.js"),
    ),
    (
        "sw.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/sw.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

/// A file's content type and body.
pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, mime, body)| (*mime, *body))
}
