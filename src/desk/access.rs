//! Who may use the desk (DESIGN, "Desk"): bearer tokens kept only as SHA-256 hashes in
//! `config/access.toml` (`[[token]] name, role, regions, sha256`), each with a role and the
//! regions it may see. Deny by default: no token, an unknown token, or a region outside the
//! token's scope is refused; a token with no `regions` sees no region (`["*"]` sees all).
//!
//! Pure: the HTTP layer hands [`Access::authenticate`] the `Authorization` header and asks the
//! [`Principal`] it gets what it may do.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::delivery::route::glob;

/// What a token may do, each role everything the one before may, and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Alerts, region profiles and report tags; never report text.
    Viewer,
    /// Also report text, reviews and silences.
    Analyst,
    /// Everything.
    Admin,
}

/// What a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Alerts, profiles, tags.
    Read,
    /// A report's text.
    ReadText,
    /// Write a review or a silence.
    Write,
    /// Administration.
    Administer,
}

impl Action {
    fn least_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::ReadText | Action::Write => Role::Analyst,
            Action::Administer => Role::Admin,
        }
    }
}

/// One `[[token]]` of `access.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (an analyst's login or a desk's name), for the audit trail.
    pub name: String,
    pub role: Role,
    /// Region codes and globs (`NG-*`) it may see; empty: none.
    #[serde(default)]
    pub regions: Vec<String>,
    /// The SHA-256 of the token, 64 lower-case hex digits (`printf %s TOKEN | sha256sum`).
    pub sha256: String,
}

/// `access.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    #[serde(rename = "token", default)]
    pub tokens: Vec<Token>,
}

/// A problem with one token: its path (`token[2].sha256`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFinding {
    pub path: String,
    pub message: String,
}

/// SHA-256 of the empty string.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Checks what serde cannot: hashes of the right form and unique, names unique and non-empty,
/// no empty region pattern.
pub fn validate(tokens: &[Token]) -> Vec<TokenFinding> {
    let mut out = Vec::new();
    let mut finding = |i: usize, field: &str, message: &str| {
        out.push(TokenFinding {
            path: format!("token[{i}].{field}"),
            message: message.to_string(),
        })
    };
    for (i, t) in tokens.iter().enumerate() {
        if t.name.trim().is_empty() {
            finding(i, "name", "must name who holds the token");
        } else if t.name.chars().any(char::is_control) {
            // The name is written in logs and the audit trail: a newline would forge lines.
            finding(i, "name", "holds a control character");
        } else if tokens[..i].iter().any(|o| o.name == t.name) {
            finding(i, "name", "is used by an earlier token");
        }
        let well_formed = t.sha256.len() == 64
            && t.sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            finding(
                i,
                "sha256",
                "must be 64 lower-case hex digits (the token's SHA-256, never the token)",
            );
        } else if t.sha256 == EMPTY_SHA256 {
            finding(
                i,
                "sha256",
                "is the hash of the empty token, which no request can send",
            );
        } else if tokens[..i].iter().any(|o| o.sha256 == t.sha256) {
            finding(i, "sha256", "is the hash of an earlier token");
        }
        if t.regions.iter().any(|r| r.trim().is_empty()) {
            finding(i, "regions", "holds an empty pattern");
        }
    }
    out
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header (HTTP 401).
    #[error("no bearer token")]
    Missing,
    /// A token no `[[token]]` has (HTTP 401).
    #[error("unknown token")]
    Unknown,
    /// A known token whose role does not allow the action (HTTP 403).
    #[error("the token's role does not allow this")]
    Forbidden,
}

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub regions: Vec<String>,
}

impl Principal {
    /// Whether the role allows `action`.
    pub fn may(&self, action: Action) -> Result<(), AuthError> {
        if self.role >= action.least_role() {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }

    /// Whether `region` is in the token's scope.
    pub fn sees(&self, region: &str) -> bool {
        self.regions.iter().any(|g| glob(g, region))
    }
}

/// The tokens, by the SHA-256 of each.
#[derive(Debug, Clone, Default)]
pub struct Access {
    by_hash: HashMap<String, Principal>,
}

impl Access {
    pub fn new(tokens: &[Token]) -> Access {
        Access {
            by_hash: tokens
                .iter()
                .map(|t| {
                    (
                        t.sha256.clone(),
                        Principal {
                            name: t.name.clone(),
                            role: t.role,
                            regions: t.regions.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The principal of an `Authorization` header value (`Bearer <token>`). The token is hashed
    /// and looked up by its hash: tokens are never held, compared or logged in clear.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<&Principal, AuthError> {
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(rest)
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        self.by_hash
            .get(&hex::encode(Sha256::digest(token.as_bytes())))
            .ok_or(AuthError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, role: Role, regions: &[&str], secret: &str) -> Token {
        Token {
            name: name.into(),
            role,
            regions: regions.iter().map(|s| s.to_string()).collect(),
            sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        }
    }

    #[test]
    fn a_token_is_known_by_its_hash_and_scoped_to_its_role_and_regions() {
        let tokens = [
            token("ng-focal", Role::Viewer, &["NG-*"], "viewer-secret"),
            token("analyst-1", Role::Analyst, &["*"], "analyst-secret"),
            token("nobody", Role::Admin, &[], "admin-secret"),
        ];
        assert_eq!(validate(&tokens), []);
        let access = Access::new(&tokens);
        let viewer = access.authenticate(Some("Bearer viewer-secret")).unwrap();
        assert_eq!(viewer.name, "ng-focal");
        assert!(viewer.sees("NG-BO") && !viewer.sees("ML-MO"));
        assert_eq!(viewer.may(Action::Read), Ok(()));
        assert_eq!(viewer.may(Action::ReadText), Err(AuthError::Forbidden));
        let analyst = access.authenticate(Some("Bearer analyst-secret")).unwrap();
        assert_eq!(analyst.may(Action::Write), Ok(()));
        assert_eq!(analyst.may(Action::Administer), Err(AuthError::Forbidden));
        assert!(analyst.sees("ML-MO"));
        // No regions: sees none, whatever the role.
        let admin = access.authenticate(Some("Bearer admin-secret")).unwrap();
        assert!(!admin.sees("NG-BO"));
        // Deny by default.
        assert_eq!(access.authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            access.authenticate(Some("Bearer ")),
            Err(AuthError::Missing)
        );
        assert_eq!(
            access.authenticate(Some("Basic dXNlcg==")),
            Err(AuthError::Missing)
        );
        assert_eq!(
            access.authenticate(Some("Bearer viewer-secreT")),
            Err(AuthError::Unknown)
        );
        // The hash itself is not a token.
        let hash = tokens[0].sha256.clone();
        assert_eq!(
            access.authenticate(Some(&format!("Bearer {hash}"))),
            Err(AuthError::Unknown)
        );
        // The scheme is case-insensitive; a token without it is no bearer token.
        let ok = access
            .authenticate(Some("bearer viewer-secret"))
            .map(|p| p.name.clone());
        assert_eq!(ok, Ok("ng-focal".to_string()));
        assert_eq!(
            access.authenticate(Some("viewer-secret")),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn malformed_or_repeated_tokens_are_found_at_their_path() {
        let mut bad = token("a", Role::Viewer, &[""], "x");
        bad.sha256 = "ABC".into();
        let forged = token(
            "b\n2026 INFO review recorded author=admin",
            Role::Viewer,
            &["*"],
            "y",
        );
        let empty = token("c", Role::Viewer, &["*"], "");
        let found: Vec<String> = validate(&[
            token("a", Role::Viewer, &["*"], "x"),
            token("a", Role::Viewer, &["*"], "x"),
            bad,
            forged,
            empty,
        ])
        .into_iter()
        .map(|f| f.path)
        .collect();
        assert_eq!(
            found,
            [
                "token[1].name",
                "token[1].sha256",
                "token[2].name",
                "token[2].sha256",
                "token[2].regions",
                "token[3].name",
                "token[4].sha256"
            ]
        );
    }
}
