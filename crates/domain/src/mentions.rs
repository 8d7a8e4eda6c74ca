//! Mentions: who a message is addressed to, from `@username`s in its text
//! and an explicit list in the command.
//!
//! The handler resolves the usernames it finds ([`usernames`]) to user ids
//! and passes both lists in; [`resolve`] decides who the message mentions:
//! members only (a named non-member is just text, an explicit one is an
//! error), never the sender, each once, at most [`MAX_MENTIONS`].

use uuid::Uuid;

use crate::error::DomainError;

/// The most users one message may mention.
pub const MAX_MENTIONS: usize = 50;

/// The `@username`s of a text, lowercased, each once, in order of first
/// appearance. An `@` counts only at the start of a word (not inside an
/// e-mail address); a trailing `.` ends the sentence, not the name.
pub fn usernames(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if chars[i] != '@' || !starts_word {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < chars.len() && name_char(chars[end]) {
            end += 1;
        }
        let name: String = chars[start..end].iter().collect::<String>();
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if (3..=32).contains(&name.len()) && !out.contains(&name) {
            out.push(name);
        }
        i = end.max(start);
    }
    out
}

/// Who a new message by `actor` mentions: the `explicit` ids (each must be
/// a current member of the chat) and the ids its `@username`s resolved to
/// (`named`, kept only where they are members).
pub fn resolve(
    is_member: impl Fn(Uuid) -> bool,
    actor: Uuid,
    explicit: &[Uuid],
    named: &[Uuid],
) -> Result<Vec<Uuid>, DomainError> {
    if explicit.len() > MAX_MENTIONS {
        return Err(too_many());
    }
    if let Some(outsider) = explicit.iter().find(|u| !is_member(**u)) {
        return Err(DomainError::invalid(
            "mention_not_member",
            "mentions",
            format!("{outsider} is not a member of this chat"),
        ));
    }
    let mut out: Vec<Uuid> = Vec::new();
    let members = named.iter().filter(|u| is_member(**u));
    for user in explicit.iter().chain(members) {
        if *user != actor && !out.contains(user) {
            out.push(*user);
        }
    }
    if out.len() > MAX_MENTIONS {
        return Err(too_many());
    }
    Ok(out)
}

fn too_many() -> DomainError {
    DomainError::invalid(
        "too_many_mentions",
        "mentions",
        format!("a message mentions at most {MAX_MENTIONS} members"),
    )
}

#[cfg(test)]
mod tests {
    use super::usernames;

    #[test]
    fn usernames_start_words_and_end_before_punctuation() {
        assert_eq!(
            usernames("hi @Bob, ask @carol.b. and @bob again; mail x@dave.com @no"),
            ["bob", "carol.b"]
        );
        assert_eq!(usernames("(@alice) @@eve_1!"), ["alice", "eve_1"]);
        assert!(usernames("no mentions here @ all").is_empty());
    }
}
