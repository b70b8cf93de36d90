//! The life of a signing key, as a pure function of the stored schedules and
//! the time: published from creation ("next"), signing from activation
//! ("active"), still published after a newer key activates ("retired") until
//! every token it signed has expired, then gone ("expired"). Each signing
//! algorithm has its own keys and its own succession: an ES256 key never
//! takes over from an RS256 one.

use crate::db::signing_keys::KeySchedule;

use super::alg::SigningAlg;

/// Leeway for verifiers whose clock runs behind ours.
pub const CLOCK_SKEW: i64 = 60;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Published and signing.
    Active,
    /// Published so tokens it signed still verify; no longer signing.
    Retired,
    /// No token it signed can still be valid: unpublished and deletable.
    Expired,
}

impl KeyState {
    /// The lower-case name used by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }

    /// True when the key belongs in the JWKS.
    pub fn is_published(self) -> bool {
        !matches!(self, KeyState::Expired)
    }
}

/// Durations (seconds) that drive rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTiming {
    /// The longest lifetime of any token the server signs.
    pub max_token_ttl: i64,
    /// How long a new key is published before it signs: the JWKS `max-age`
    /// plus the time a running server takes to notice a new key.
    pub publish_wait: i64,
    /// How long a key signs before the next one takes over.
    pub rotation_period: i64,
}

/// One key's computed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: i64,
    pub activates_at: i64,
    /// When a newer key took over, if one has.
    pub retired_at: Option<i64>,
}

impl KeyStatus {
    /// When the key leaves the JWKS, if that is already known.
    pub fn unpublished_at(&self, timing: &KeyTiming) -> Option<i64> {
        self.retired_at
            .map(|r| r + timing.max_token_ttl + CLOCK_SKEW)
    }
}

/// Orders keys by algorithm (RS256 first), then activation (then creation
/// and kid, for stable ties).
pub fn sort(keys: &mut [KeySchedule]) {
    let rank = |k: &KeySchedule| SigningAlg::from_stored(&k.alg).map_or(u8::MAX, |a| a as u8);
    keys.sort_by(|a, b| {
        (rank(a), a.activates_at, a.created_at, &a.kid).cmp(&(
            rank(b),
            b.activates_at,
            b.created_at,
            &b.kid,
        ))
    });
}

/// The position of the active `alg` key in `keys`, which must be in
/// [`sort`] order: the last of its algorithm to have activated (the rule
/// [`statuses`] applies).
pub fn active_position<'a>(
    mut keys: impl DoubleEndedIterator<Item = &'a KeySchedule> + ExactSizeIterator,
    alg: SigningAlg,
    now: i64,
) -> Option<usize> {
    keys.rposition(|k| k.alg == alg.as_str() && k.activates_at <= now)
}

/// Computes every key's state at `now`.
pub fn statuses(keys: &[KeySchedule], now: i64, timing: &KeyTiming) -> Vec<KeyStatus> {
    let mut keys = keys.to_vec();
    sort(&mut keys);
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let activated: Vec<usize> = (0..keys.len())
                .filter(|&j| keys[j].alg == k.alg && keys[j].activates_at <= now)
                .collect();
            let active = activated.last().copied();
            // The successor is the next key of the same algorithm, in
            // activation order, that has activated.
            let retired_at = activated
                .iter()
                .find(|&&j| j > i)
                .map(|&j| keys[j].activates_at);
            let state = if k.activates_at > now {
                KeyState::Next
            } else if Some(i) == active {
                KeyState::Active
            } else {
                match retired_at {
                    Some(r) if r + timing.max_token_ttl + CLOCK_SKEW <= now => KeyState::Expired,
                    _ => KeyState::Retired,
                }
            };
            KeyStatus {
                kid: k.kid.clone(),
                alg: k.alg.clone(),
                state,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retired_at,
            }
        })
        .collect()
}

/// True when a new `alg` key should be created now: there is none of that
/// algorithm, or its active key's period ends within one publish wait and no
/// successor exists.
pub fn rotation_due(keys: &[KeySchedule], alg: SigningAlg, now: i64, timing: &KeyTiming) -> bool {
    let own: Vec<KeySchedule> = keys
        .iter()
        .filter(|k| k.alg == alg.as_str())
        .cloned()
        .collect();
    let states = statuses(&own, now, timing);
    if states.iter().any(|s| s.state == KeyState::Next) {
        return false;
    }
    match states.iter().find(|s| s.state == KeyState::Active) {
        Some(active) => active.activates_at + timing.rotation_period - timing.publish_wait <= now,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: KeyTiming = KeyTiming {
        max_token_ttl: 300,
        publish_wait: 600,
        rotation_period: 86_400,
    };

    fn key(kid: &str, created_at: i64, activates_at: i64) -> KeySchedule {
        KeySchedule {
            kid: kid.into(),
            created_at,
            activates_at,
            alg: "RS256".into(),
        }
    }

    fn ec_key(kid: &str, created_at: i64, activates_at: i64) -> KeySchedule {
        KeySchedule {
            alg: "ES256".into(),
            ..key(kid, created_at, activates_at)
        }
    }

    fn state_of(keys: &[KeySchedule], now: i64, kid: &str) -> KeyState {
        statuses(keys, now, &T)
            .into_iter()
            .find(|s| s.kid == kid)
            .unwrap()
            .state
    }

    #[test]
    fn a_new_key_is_published_before_it_signs_and_the_old_one_lingers() {
        let keys = vec![key("a", 0, 0), key("b", 1000, 1600)];
        assert_eq!(state_of(&keys, 1000, "b"), KeyState::Next);
        assert_eq!(state_of(&keys, 1000, "a"), KeyState::Active);
        assert_eq!(state_of(&keys, 1600, "b"), KeyState::Active);
        assert_eq!(state_of(&keys, 1600, "a"), KeyState::Retired);
        // Retired for the longest token lifetime plus skew, then gone.
        assert_eq!(state_of(&keys, 1600 + 359, "a"), KeyState::Retired);
        assert_eq!(state_of(&keys, 1600 + 360, "a"), KeyState::Expired);
    }

    #[test]
    fn rotation_is_due_one_publish_wait_before_the_period_ends() {
        let keys = vec![key("a", 0, 0)];
        assert!(!rotation_due(&keys, SigningAlg::RS256, 86_400 - 601, &T));
        assert!(rotation_due(&keys, SigningAlg::RS256, 86_400 - 600, &T));
        // Not while a successor waits.
        let with_next = vec![key("a", 0, 0), key("b", 85_800, 86_400)];
        assert!(!rotation_due(&with_next, SigningAlg::RS256, 86_000, &T));
        assert!(rotation_due(&[], SigningAlg::RS256, 0, &T));
    }

    #[test]
    fn a_forced_immediate_key_takes_over_at_once() {
        let keys = vec![key("a", 0, 0), key("b", 50, 50)];
        assert_eq!(state_of(&keys, 50, "b"), KeyState::Active);
        assert_eq!(state_of(&keys, 50, "a"), KeyState::Retired);
    }

    #[test]
    fn active_position_agrees_with_statuses() {
        let mut keys = vec![key("c", 40, 40), key("a", 0, 0), key("b", 10, 600)];
        sort(&mut keys);
        for now in [-1, 0, 39, 40, 599, 600, 10_000] {
            let from_statuses = statuses(&keys, now, &T)
                .iter()
                .position(|s| s.state == KeyState::Active);
            assert_eq!(
                active_position(keys.iter(), SigningAlg::RS256, now),
                from_statuses,
                "at {now}"
            );
        }
    }

    #[test]
    fn each_algorithm_has_its_own_succession() {
        let mut keys = vec![
            key("r1", 0, 0),
            ec_key("e1", 0, 0),
            key("r2", 100, 700),
            ec_key("e2", 900, 1500),
        ];
        sort(&mut keys);
        // RS256 keys first, each algorithm in activation order.
        let order: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(order, ["r1", "r2", "e1", "e2"]);
        // A newer RS256 key retires only the older RS256 key.
        assert_eq!(state_of(&keys, 800, "r2"), KeyState::Active);
        assert_eq!(state_of(&keys, 800, "r1"), KeyState::Retired);
        assert_eq!(state_of(&keys, 800, "e1"), KeyState::Active);
        assert_eq!(state_of(&keys, 800, "e2"), KeyState::Next);
        let r2 = keys.iter().position(|k| k.kid == "r2");
        let e1 = keys.iter().position(|k| k.kid == "e1");
        assert_eq!(active_position(keys.iter(), SigningAlg::RS256, 800), r2);
        assert_eq!(active_position(keys.iter(), SigningAlg::ES256, 800), e1);
        // A pending ES256 key does not hold back an RS256 rotation.
        assert!(!rotation_due(&keys, SigningAlg::ES256, 86_400 - 600, &T));
        assert!(rotation_due(
            &keys,
            SigningAlg::RS256,
            700 + 86_400 - 600,
            &T
        ));
        // An algorithm with no key at all is due at once.
        assert!(rotation_due(&[key("r", 0, 0)], SigningAlg::ES256, 1, &T));
    }
}
