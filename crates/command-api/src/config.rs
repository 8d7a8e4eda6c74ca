//! The command side's settings as CLI flags / environment variables, shared
//! by `chat serve` and `chat command-api`.

use chat_common::auth::{ExternalIssuer, ExternalKey, JwtConfig};
use chat_common::config::{Secret, check_secret};
use chat_domain::Policy;

use clap::Args;

use crate::CommandConfig;
use crate::idempotency::IdempotencyConfig;
use crate::ratelimit::{RateLimitConfig, Rule};
use chat_auth::AuthConfig;

#[derive(Debug, Clone, Args)]
pub struct CommandArgs {
    /// `dev` accepts secrets that are short or documented placeholders;
    /// any other value refuses to start with them.
    #[arg(long = "chat-env", env = "CHAT_ENV", default_value = "production")]
    pub chat_env: String,
    /// Shorthand for `CHAT_ENV=dev`.
    #[arg(long)]
    pub dev: bool,
    /// HS256 key for the tokens we issue. Unset: a random key per start
    /// (development only: tokens die with the process).
    #[arg(long, env = "JWT_SECRET")]
    pub jwt_secret: Option<Secret>,
    /// Accept tokens from this external issuer too (`iss` claim).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` the external issuer's tokens must carry.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "chat")]
    pub jwt_audience: String,
    /// The external issuer's RS256/ES256 public key (PEM). Unset: the
    /// external issuer signs with HS256 and JWT_SECRET.
    #[arg(long, env = "JWT_PUBLIC_KEY_PEM")]
    pub jwt_public_key_pem: Option<String>,
    /// The external issuer's roles that grant ours: `theirs=ours,…` (e.g.
    /// `chat-auditors=auditor`). Unset: its roles grant nothing.
    #[arg(long, env = "JWT_ROLE_MAP")]
    pub jwt_role_map: Option<String>,
    /// Where account mail goes: `smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, or a local `smtp://127.0.0.1:1025`.
    /// Unset: mail is written to the log (development only).
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<Secret>,
    /// Seals secrets at rest (TOTP): at least 32 bytes. Unset: derived
    /// from JWT_SECRET.
    #[arg(long, env = "MASTER_KEY")]
    pub master_key: Option<Secret>,
    /// The master key before a rotation, until what it sealed is resealed.
    #[arg(long, env = "MASTER_KEY_PREVIOUS")]
    pub master_key_previous: Option<Secret>,
    /// The `From:` of account mail.
    #[arg(long, env = "MAIL_FROM", default_value = "chat <no-reply@localhost>")]
    pub mail_from: String,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,
    /// Redis for rate limits (and, later, presence); unset = in process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Messages per second per user (sustained).
    #[arg(long, env = "RATE_MESSAGES_PER_SEC", default_value_t = 10.0)]
    pub rate_messages_per_sec: f64,
    /// Messages a user may send in a burst.
    #[arg(long, env = "RATE_MESSAGES_BURST", default_value_t = 30)]
    pub rate_messages_burst: u32,
    /// Other commands per second per user (reactions, edits, pins, …).
    #[arg(long, env = "RATE_COMMANDS_PER_SEC", default_value_t = 20.0)]
    pub rate_commands_per_sec: f64,
    /// Other commands a user may send in a burst.
    #[arg(long, env = "RATE_COMMANDS_BURST", default_value_t = 60)]
    pub rate_commands_burst: u32,
    /// Auth requests per second per client IP.
    #[arg(long, env = "RATE_AUTH_PER_SEC", default_value_t = 1.0)]
    pub rate_auth_per_sec: f64,
    /// Auth requests a client IP may make in a burst.
    #[arg(long, env = "RATE_AUTH_BURST", default_value_t = 10)]
    pub rate_auth_burst: u32,
    /// Login attempts per second per account (from any address).
    #[arg(long, env = "RATE_LOGIN_PER_SEC", default_value_t = 0.1)]
    pub rate_login_per_sec: f64,
    /// Login attempts an account may see in a burst.
    #[arg(long, env = "RATE_LOGIN_BURST", default_value_t = 10)]
    pub rate_login_burst: u32,
    /// Proxies (addresses or networks, comma-separated) whose
    /// `X-Forwarded-For` names the client for the per-IP limits.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// How long an Idempotency-Key answer is replayed, in hours.
    #[arg(long, env = "IDEMPOTENCY_RETENTION_HOURS", default_value_t = 24)]
    pub idempotency_retention_hours: i64,
    /// How long after sending a message its author may edit it, in seconds.
    #[arg(long, env = "EDIT_WINDOW_SECS", default_value_t = 900)]
    pub edit_window_secs: i64,
    /// Most members a group may have (3 to 10,000); checked on create, add
    /// and join.
    #[arg(long, env = "MAX_GROUP_MEMBERS", default_value_t = 256)]
    pub max_group_members: usize,
    /// Longest message text, in characters.
    #[arg(long, env = "MAX_TEXT_CHARS", default_value_t = 4096)]
    pub max_text_chars: usize,
    /// Largest JSON body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Streams kept in the aggregate cache.
    #[arg(long, env = "AGGREGATE_CACHE_CAPACITY", default_value_t = 50_000)]
    pub aggregate_cache_capacity: usize,
}

/// `theirs=ours,…` as pairs; our side must be a role we know.
fn role_map(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((theirs, ours))
                if !theirs.trim().is_empty() && KNOWN_ROLES.contains(&ours.trim()) =>
            {
                Ok((theirs.trim().to_owned(), ours.trim().to_owned()))
            }
            _ => Err(format!(
                "JWT_ROLE_MAP entry {pair:?} is not `theirs=ours` with ours one of {KNOWN_ROLES:?}"
            )),
        })
        .collect()
}

/// The roles this server grants meaning to.
const KNOWN_ROLES: [&str; 1] = [chat_common::auth::ROLE_AUDITOR];

impl CommandArgs {
    /// Development mode: weak secrets are let through (with the defaults'
    /// random key when none is set).
    pub fn is_dev(&self) -> bool {
        self.dev || self.chat_env.eq_ignore_ascii_case("dev")
    }

    pub fn config(&self) -> Result<CommandConfig, String> {
        if !self.is_dev()
            && let Some(secret) = &self.jwt_secret
        {
            check_secret("JWT_SECRET", secret)?;
        }
        let mut auth = match &self.jwt_secret {
            Some(secret) => AuthConfig::new(JwtConfig::new(secret.clone())),
            None => AuthConfig::dev(),
        };
        if let Some(issuer) = &self.jwt_issuer {
            let key = match &self.jwt_public_key_pem {
                Some(pem) => ExternalKey::PublicPem(pem.clone()),
                None => match &self.jwt_secret {
                    Some(secret) => ExternalKey::Hs256(secret.clone()),
                    None => return Err("JWT_ISSUER needs JWT_PUBLIC_KEY_PEM or JWT_SECRET".into()),
                },
            };
            auth.jwt.external = Some(ExternalIssuer {
                issuer: issuer.clone(),
                audience: self.jwt_audience.clone(),
                key,
                role_map: role_map(self.jwt_role_map.as_deref().unwrap_or(""))?,
            });
        }
        auth.access_ttl = time::Duration::seconds(self.access_token_ttl_secs.max(1));
        if !self.is_dev()
            && let Some(key) = &self.master_key
        {
            check_secret("MASTER_KEY", key)?;
        }
        auth.master_key = self.master_key.clone();
        auth.master_key_previous = self.master_key_previous.clone();
        auth.mail = chat_auth::mail::MailConfig {
            smtp_url: self.smtp_url.clone(),
            from: self.mail_from.clone(),
        };
        let caps = chat_domain::policy::MIN_GROUP_MEMBERS..=chat_domain::policy::MAX_GROUP_MEMBERS;
        if !caps.contains(&self.max_group_members) {
            return Err(format!(
                "MAX_GROUP_MEMBERS must be {} to {}, not {}",
                caps.start(),
                caps.end(),
                self.max_group_members
            ));
        }
        let policy = Policy {
            edit_window: time::Duration::seconds(self.edit_window_secs.max(0)),
            max_text_chars: self.max_text_chars,
            max_group_members: self.max_group_members,
            ..Policy::default()
        };
        Ok(CommandConfig {
            auth,
            rate_limits: RateLimitConfig {
                messages: Rule::new(self.rate_messages_per_sec, self.rate_messages_burst),
                commands: Rule::new(self.rate_commands_per_sec, self.rate_commands_burst),
                auth: Rule::new(self.rate_auth_per_sec, self.rate_auth_burst),
                login: Rule::new(self.rate_login_per_sec, self.rate_login_burst),
                trusted_proxies: self
                    .trusted_proxies
                    .iter()
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| p.parse())
                    .collect::<Result<_, String>>()
                    .map_err(|e| format!("TRUSTED_PROXIES: {e}"))?,
                redis_url: self.redis_url.clone(),
            },
            idempotency: IdempotencyConfig {
                retention: time::Duration::hours(self.idempotency_retention_hours.max(1)),
            },
            policy,
            max_body_bytes: self.max_body_bytes,
            cache_capacity: self.aggregate_cache_capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::CommandArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CommandArgs,
    }

    fn config(argv: &[&str]) -> Result<crate::CommandConfig, String> {
        let mut full = vec!["chat"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full)
            .map_err(|e| e.to_string())?
            .args
            .config()
    }

    #[test]
    fn weak_or_placeholder_secrets_are_refused_outside_development() {
        let strong = "k".repeat(32);
        assert!(config(&["--jwt-secret", &strong]).is_ok());
        let short = config(&["--jwt-secret", "too-short"]).unwrap_err();
        assert!(short.contains("JWT_SECRET is 9 bytes"), "{short}");
        let placeholder = config(&["--jwt-secret", "change-me-to-32-random-bytes-in-production"]);
        assert!(placeholder.unwrap_err().contains("placeholder"));
        assert!(config(&["--jwt-secret", "too-short", "--dev"]).is_ok());
        assert!(config(&["--jwt-secret", "too-short", "--chat-env", "dev"]).is_ok());
        assert!(
            config(&[]).is_ok(),
            "unset: a random key, strong by construction"
        );
    }

    #[test]
    fn the_member_cap_defaults_to_256_and_stays_within_3_to_10000() {
        let cap = |argv: &[&str]| config(argv).map(|c| c.policy.max_group_members);
        assert_eq!(cap(&[]), Ok(256));
        assert_eq!(cap(&["--max-group-members", "10000"]), Ok(10_000));
        for bad in ["2", "10001"] {
            let e = cap(&["--max-group-members", bad]).unwrap_err();
            assert!(e.contains("MAX_GROUP_MEMBERS"), "{e}");
        }
    }
}
