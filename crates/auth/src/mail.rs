//! Account mail (address verification, password reset) over SMTP with
//! `lettre`, or written to the log when `SMTP_URL` is unset (development
//! only: the log then holds the codes).
//!
//! A mail is sent after the request has been answered, so how long the
//! answer takes says nothing about whether an account (or an address)
//! exists; a refused or unreachable server is tried again a few times.

use std::time::Duration;

use chat_common::config::Secret;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Attempts per mail, a few seconds apart.
const ATTEMPTS: u32 = 4;

/// Where account mail goes.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`, or a
    /// plain `smtp://127.0.0.1:1025` (a local catcher). Unset: logged.
    pub smtp_url: Option<Secret>,
    /// The `From:` of every mail.
    pub from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "chat <no-reply@localhost>".to_owned(),
        }
    }
}

/// One mail to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends account mail. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("MAIL_FROM {:?}: {e}", config.from))?;
        let smtp = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            ),
            None => {
                tracing::warn!("SMTP_URL is not set: account mail is written to the log");
                None
            }
        };
        Ok(Mailer { from, smtp })
    }

    /// Send `mail` in the background (see the module's note).
    pub fn send(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move { mailer.deliver(mail).await });
    }

    async fn deliver(&self, mail: Mail) {
        let Some(smtp) = &self.smtp else {
            tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "mail (SMTP_URL unset)");
            return;
        };
        let message = match self.message(&mail) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build a mail");
                return;
            }
        };
        for attempt in 1..=ATTEMPTS {
            match smtp.send(message.clone()).await {
                Ok(_) => return,
                Err(e) if e.is_permanent() => {
                    tracing::warn!(error = %e, "the SMTP server refused a mail");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "cannot send a mail yet");
                    tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
                }
            }
        }
        tracing::error!(subject = %mail.subject, "a mail was given up");
    }

    fn message(&self, mail: &Mail) -> Result<Message, String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("{e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string())
    }
}

/// The addresses taken, as the API documents them ([`valid_address`]
/// checks exactly this): a dot-atom local part, a host name of at least two
/// labels ending in letters. Quoted local parts and IP literals, which
/// nobody signs up with, are left out.
pub const ADDRESS_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$";

/// Whether `address` matches [`ADDRESS_PATTERN`] in at most 254 characters
/// (and lettre takes it).
pub fn valid_address(address: &str) -> bool {
    let atom = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c))
    };
    let label = |s: &str| {
        (1..=63).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels.last().copied().unwrap_or("");
    address.len() <= 254
        && local.split('.').all(atom)
        && labels.len() >= 2
        && labels.iter().all(|l| label(l))
        && (2..=63).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && address.parse::<lettre::Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_any_mail_is_made() {
        assert!(valid_address("ana@example.org"));
        assert!(valid_address("a.b+tag@mail-1.example.co"));
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "Ana <ana@example.org>",
            "a b@c.d",
            "a..b@x.org",
            "a@x",
            "a@-x.org",
            "a@x.o1",
            "a@b@x.org",
            "\"a\"@x.org",
            "a@[127.0.0.1]",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
        assert!(!valid_address(&format!("{}@example.org", "a".repeat(250))));
    }
}
