//! Access control for an exposed pod (`MODELS_AUTH_TOKEN`).
//!
//! API clients send `Authorization: Bearer <token>`; browsers log in at `/login` and get a
//! session cookie that holds a random session id, never the token. Sessions live in this
//! process's memory only: a restart logs every browser out. Tokens are compared as SHA-256
//! digests in constant time, and wrong tokens are answered one at a time after a delay, so
//! guessing is slow even in parallel. State-changing requests from a browser must come from
//! the app's own origin, token or not (see [`guard::same_origin`]).

mod guard;
mod login;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;

pub use guard::guard;
pub use login::routes;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mm_session";
/// How long a browser stays logged in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

type Digest32 = [u8; 32];

fn digest(text: &str) -> Digest32 {
    Sha256::digest(text.as_bytes()).into()
}

/// The token, the live sessions and the pace of wrong guesses.
pub struct Auth {
    /// SHA-256 of `MODELS_AUTH_TOKEN`; `None`: access control is off.
    token: Option<Digest32>,
    /// SHA-256 of each session id → when it expires.
    sessions: Mutex<HashMap<Digest32, Instant>>,
    fail_delay: Duration,
    /// Held while a wrong token waits out its delay: guesses are answered one at a time.
    wrong_guesses: tokio::sync::Mutex<()>,
}

impl Auth {
    pub fn new(config: &Config) -> Arc<Self> {
        Arc::new(Self {
            token: config.auth_token.as_deref().map(digest),
            sessions: Mutex::new(HashMap::new()),
            fail_delay: Duration::from_millis(config.auth_fail_delay_ms),
            wrong_guesses: tokio::sync::Mutex::new(()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `given` is the token; a wrong one is answered after the delay, one at a time.
    pub async fn check_token(&self, given: &str) -> bool {
        let Some(token) = &self.token else {
            return false;
        };
        if bool::from(digest(given.trim()).ct_eq(token)) {
            return true;
        }
        let _one_at_a_time = self.wrong_guesses.lock().await;
        tokio::time::sleep(self.fail_delay).await;
        false
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Digest32, Instant>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session: its id (64 hex digits from the OS's random source) for the cookie.
    pub fn open_session(&self) -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self.sessions();
        sessions.retain(|_, expires| *expires > now);
        sessions.insert(digest(&id), now + SESSION_LIFETIME);
        Ok(id)
    }

    pub fn session_valid(&self, id: &str) -> bool {
        self.sessions()
            .get(&digest(id))
            .is_some_and(|expires| *expires > Instant::now())
    }

    pub fn close_session(&self, id: &str) {
        self.sessions().remove(&digest(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(token: Option<&str>) -> Arc<Auth> {
        let mut vars = vec![("MODELS_AUTH_FAIL_DELAY_MS", "50")];
        if let Some(t) = token {
            vars.push(("MODELS_AUTH_TOKEN", t));
        }
        let config = Config::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        Auth::new(&config)
    }

    #[tokio::test]
    async fn only_the_token_itself_passes() {
        let a = auth(Some("the-right-token"));
        assert!(a.enabled());
        assert!(a.check_token("the-right-token").await);
        assert!(!a.check_token("the-right-toke").await);
        assert!(!a.check_token("").await);
        assert!(!auth(None).check_token("anything").await);
    }

    #[test]
    fn sessions_are_random_and_end_at_logout() {
        let a = auth(Some("the-right-token"));
        let one = a.open_session().unwrap();
        let two = a.open_session().unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), 64);
        assert!(!one.contains("the-right-token"));
        assert!(a.session_valid(&one) && a.session_valid(&two));
        a.close_session(&one);
        assert!(!a.session_valid(&one));
        assert!(a.session_valid(&two));
        assert!(!a.session_valid("not-a-session"));
    }
}
