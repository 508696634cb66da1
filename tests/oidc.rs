//! `broker::gate::oidc` against a real OpenID provider on loopback
//! (`tests/fixtures/oidc_provider.py`: discovery, JWKS, an approving authorization endpoint and a
//! token endpoint that checks PKCE, signing ID tokens with PyJWT). Each test drives a whole
//! sign-in as the gate does: authorization URL → the provider's redirect (code, state) → the
//! pending-login cookie round trip → `complete`.

mod common;

use std::time::{Duration, SystemTime};

use broker::gate::oidc::{OidcClient, OidcError, PendingLogin, VerifiedIdentity};
use common::oidc_provider::{Provider, CLIENT_ID, CLIENT_SECRET};

fn allowed() -> Vec<String> {
    vec!["allowed.com".into(), "Partner.ORG".into()]
}

/// A whole sign-in with `client`; `tamper` may change the pending login (after its cookie round
/// trip) and the returned state before `complete`.
fn sign_in_with(
    p: &Provider,
    client: &OidcClient,
    tamper: impl FnOnce(&mut PendingLogin, &mut String),
) -> Result<VerifiedIdentity, OidcError> {
    let (url, pending) = client.authorization_url("/tables/orders.html?x=1");
    let (code, mut state) = p.authorize(&url);
    let cookie = pending.to_cookie_value();
    let mut pending = PendingLogin::from_cookie_value(&cookie, SystemTime::now()).unwrap();
    tamper(&mut pending, &mut state);
    client.complete(&pending, &state, &code, &allowed(), SystemTime::now())
}

fn sign_in(p: &Provider) -> Result<VerifiedIdentity, OidcError> {
    sign_in_with(p, &p.client(), |_, _| {})
}

#[test]
fn verified_address_in_an_allowed_domain_signs_in() {
    let p = Provider::start();
    let client = p.client();
    assert_eq!(client.issuer(), p.base);
    assert!(
        !client.requires_hosted_domain(),
        "not Google: no hd by default"
    );
    let (url, pending) = client.authorization_url("/tables/orders.html?x=1");
    for part in [
        "response_type=code",
        "scope=openid+email+profile",
        "code_challenge_method=S256",
        "redirect_uri=https%3A%2F%2Fdata.example.com%2Fauth%2Fcallback",
        &format!("state={}", pending.state),
        &format!("nonce={}", pending.nonce),
        &format!(
            "code_challenge={}",
            broker::gate::oidc::pkce_challenge(&pending.pkce_verifier)
        ),
    ] {
        assert!(url.contains(part), "{part} not in {url}");
    }
    assert_eq!(pending.next, "/tables/orders.html?x=1");
    let (code, state) = p.authorize(&url);
    assert_eq!(state, pending.state);
    let back =
        PendingLogin::from_cookie_value(&pending.to_cookie_value(), SystemTime::now()).unwrap();
    assert_eq!(back, pending);
    let who = client
        .complete(&back, &state, &code, &allowed(), SystemTime::now())
        .unwrap();
    // Same clock on both sides (`now` was read just before the code exchange): near zero.
    let skew = who.clock_skew_secs.unwrap();
    assert!((-10..=10).contains(&skew), "{skew}");
    assert_eq!(
        who,
        VerifiedIdentity {
            email: "alice@allowed.com".into(),
            hosted_domain: None,
            subject: "1100042".into(),
            issuer: p.base.clone(),
            clock_skew_secs: Some(skew),
        }
    );
    assert_eq!(client.jwks_fetches(), 1);
    // The domain list is compared case-insensitively, and so is the address.
    p.control(serde_json::json!({"email": "Bob@PARTNER.org"}));
    assert_eq!(
        sign_in_with(&p, &client, |_, _| {}).unwrap().email,
        "bob@partner.org"
    );
    assert_eq!(client.jwks_fetches(), 1, "the JWKS is cached");
    assert_eq!(p.stats("jwks_fetches"), 1);
}

#[test]
fn unverified_email_is_refused() {
    let p = Provider::start();
    p.control(serde_json::json!({"email_verified": false}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::EmailNotVerified {
            email: "alice@allowed.com".into()
        })
    );
    // Absent is not true either (fail closed), nor is the string "true".
    p.control(serde_json::json!({"claims": {"email_verified": null}}));
    assert!(matches!(
        sign_in(&p),
        Err(OidcError::EmailNotVerified { .. })
    ));
    p.control(serde_json::json!({"claims": {"email_verified": "true"}}));
    assert!(matches!(
        sign_in(&p),
        Err(OidcError::EmailNotVerified { .. })
    ));
}

#[test]
fn lookalike_domains_are_refused() {
    let p = Provider::start();
    for email in [
        "someone@allowed.com.evil.org",
        "someone@evil-allowed.com",
        "someone@sub.allowed.com",
        "allowed.com@evil.org",
        "someone@allowed.com@evil.org",
        "@allowed.com",
    ] {
        p.control(serde_json::json!({"email": email}));
        assert_eq!(
            sign_in(&p),
            Err(OidcError::DomainNotAllowed {
                email: email.into()
            }),
            "{email}"
        );
    }
    p.control(serde_json::json!({"claims": {"email": null}}));
    assert_eq!(sign_in(&p), Err(OidcError::MissingEmail));
}

#[test]
fn wrong_nonce_is_refused() {
    let p = Provider::start();
    p.control(serde_json::json!({"claims": {"nonce": "an-id-token-from-another-sign-in"}}));
    assert_eq!(sign_in(&p), Err(OidcError::NonceMismatch));
    p.control(serde_json::json!({"claims": {"nonce": null}}));
    assert_eq!(sign_in(&p), Err(OidcError::NonceMismatch));
}

#[test]
fn wrong_state_is_refused_before_the_code_is_spent() {
    let p = Provider::start();
    let client = p.client();
    let r = sign_in_with(&p, &client, |_, state| {
        state.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" })
    });
    assert_eq!(r, Err(OidcError::StateMismatch));
    // A callback meant for another browser's sign-in (login CSRF): its state is not ours.
    let r = sign_in_with(&p, &client, |pending, _| {
        pending.state = client.authorization_url("/").1.state
    });
    assert_eq!(r, Err(OidcError::StateMismatch));
    let r = sign_in_with(&p, &client, |_, state| state.clear());
    assert_eq!(r, Err(OidcError::StateMismatch));
    assert_eq!(p.stats("token_requests"), 0, "no code exchanged");
}

#[test]
fn expired_and_future_tokens_are_refused_within_the_leeway() {
    let p = Provider::start();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    p.control(serde_json::json!({"claims": {"exp": now - 3600, "iat": now - 7200}}));
    match sign_in(&p) {
        Err(OidcError::Expired { exp, .. }) => assert_eq!(exp, now - 3600),
        other => panic!("{other:?}"),
    }
    // 30 s of skew either way is tolerated (pitfall G5) …
    p.control(serde_json::json!({"claims": {"exp": now - 30, "iat": now + 30, "nbf": now + 30}}));
    let who = sign_in(&p).unwrap();
    assert_eq!(who.email, "alice@allowed.com");
    let skew = who.clock_skew_secs.unwrap();
    assert!(
        (20..=30).contains(&skew),
        "the provider is 30 s ahead: {skew}"
    );
    // … five minutes are not.
    p.control(serde_json::json!({"claims": {"iat": now + 300}}));
    match sign_in(&p) {
        Err(OidcError::NotYetValid {
            claim: "iat",
            value,
            ..
        }) => assert_eq!(value, now + 300),
        other => panic!("{other:?}"),
    }
    p.control(serde_json::json!({"claims": {"nbf": now + 300}}));
    assert!(matches!(
        sign_in(&p),
        Err(OidcError::NotYetValid { claim: "nbf", .. })
    ));
    p.control(serde_json::json!({"claims": {"exp": null}}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::MalformedIdToken("exp is missing".into()))
    );
}

#[test]
fn wrong_audience_is_refused() {
    let p = Provider::start();
    p.control(serde_json::json!({"claims": {"aud": "another-client", "azp": "another-client"}}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::WrongAudience {
            found: vec!["another-client".into()]
        })
    );
    // Several audiences: azp must name us (Core §3.1.3.7).
    p.control(serde_json::json!({"claims": {"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::WrongAuthorizedParty {
            found: Some("another-client".into())
        })
    );
    p.control(serde_json::json!({"claims": {"aud": [CLIENT_ID, "another-client"], "azp": null}}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::WrongAuthorizedParty { found: None })
    );
    p.control(
        serde_json::json!({"claims": {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}}),
    );
    assert_eq!(sign_in(&p).unwrap().subject, "1100042");
}

#[test]
fn wrong_issuer_is_refused() {
    let p = Provider::start();
    p.control(serde_json::json!({"claims": {"iss": "https://accounts.google.com"}}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::WrongIssuer {
            expected: p.base.clone(),
            found: Some("https://accounts.google.com".into())
        })
    );
}

#[test]
fn bad_signatures_and_algorithms_are_refused() {
    let p = Provider::start();
    // Signed by a key that is not the provider's, under the provider's kid.
    p.control(serde_json::json!({"sign_with": "rogue"}));
    assert_eq!(sign_in(&p), Err(OidcError::BadSignature));
    // HMAC with the client secret (the algorithm-confusion attack): never accepted.
    p.control(serde_json::json!({"sign_with": "hs256"}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::UnsupportedAlgorithm("HS256".into()))
    );
    // An RSA signature presented under the EC key's kid.
    p.control(serde_json::json!({"sign_with": "k1", "kid": "ec1"}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::UnsupportedAlgorithm("RS256 for this key".into()))
    );
    // ES256 with the provider's EC key is accepted.
    p.control(serde_json::json!({"sign_with": "ec1", "kid": null}));
    assert_eq!(sign_in(&p).unwrap().email, "alice@allowed.com");
}

#[test]
fn key_rotation_refetches_the_jwks_once_per_cooldown() {
    let p = Provider::start();
    let client = p.client();
    assert_eq!(client.jwks_fetches(), 0, "the JWKS is fetched lazily");
    assert!(sign_in_with(&p, &client, |_, _| {}).is_ok());
    assert_eq!(client.jwks_fetches(), 1);
    // The provider rotates to k2: the unknown kid makes the client refetch, and sign-in works.
    p.control(serde_json::json!({"published": ["k2"], "sign_with": "k2"}));
    assert_eq!(
        sign_in_with(&p, &client, |_, _| {}).unwrap().email,
        "alice@allowed.com"
    );
    assert_eq!(client.jwks_fetches(), 2);
    // Tokens with a kid the provider never published: the first refetch is spent on the
    // rotation above, so within the cooldown no request reaches the JWKS endpoint.
    p.control(serde_json::json!({"kid": "k9"}));
    for _ in 0..3 {
        assert_eq!(
            sign_in_with(&p, &client, |_, _| {}),
            Err(OidcError::UnknownKey {
                kid: Some("k9".into())
            })
        );
    }
    assert_eq!(client.jwks_fetches(), 2);
    assert_eq!(p.stats("jwks_fetches"), 2);
    // A fresh client (first fetch) with an unknown kid refetches at most once.
    let fresh = p.client();
    for _ in 0..3 {
        assert!(matches!(
            sign_in_with(&p, &fresh, |_, _| {}),
            Err(OidcError::UnknownKey { .. })
        ));
    }
    assert_eq!(fresh.jwks_fetches(), 2);
    assert_eq!(p.stats("jwks_fetches"), 4);
}

#[test]
fn the_provider_checks_the_pkce_verifier() {
    let p = Provider::start();
    let client = p.client();
    // Another valid-looking verifier: its S256 challenge is not the one the provider was sent.
    let other = client.authorization_url("/").1.pkce_verifier;
    let r = sign_in_with(&p, &client, |pending, _| pending.pkce_verifier = other);
    assert_eq!(
        r,
        Err(OidcError::TokenRejected {
            status: 400,
            error: "invalid_grant".into(),
            description: Some("PKCE verification failed".into())
        })
    );
    // A code is spent once: the callback reloaded.
    let (url, pending) = client.authorization_url("/");
    let (code, state) = p.authorize(&url);
    let now = SystemTime::now();
    assert!(client
        .complete(&pending, &state, &code, &allowed(), now)
        .is_ok());
    assert!(matches!(
        client.complete(&pending, &state, &code, &allowed(), now),
        Err(OidcError::TokenRejected { status: 400, ref error, .. }) if error == "invalid_grant"
    ));
}

#[test]
fn wrong_client_secret_is_refused_by_the_provider() {
    let p = Provider::start();
    let mut config = p.config();
    config.client_secret = "not-the-secret".into();
    let client = OidcClient::discover(&config).unwrap();
    assert_eq!(
        sign_in_with(&p, &client, |_, _| {}),
        Err(OidcError::TokenRejected {
            status: 401,
            error: "invalid_client".into(),
            description: None
        })
    );
}

#[test]
fn hosted_domain_is_checked_when_present_and_required_when_configured() {
    let p = Provider::start();
    p.control(serde_json::json!({"hd": "evil.org"}));
    assert_eq!(
        sign_in(&p),
        Err(OidcError::HostedDomainNotAllowed {
            hd: "evil.org".into()
        })
    );
    let mut config = p.config();
    config.require_hosted_domain = Some(true);
    let strict = OidcClient::discover(&config).unwrap();
    assert!(strict.requires_hosted_domain());
    p.control(serde_json::json!({"hd": null}));
    assert_eq!(
        sign_in_with(&p, &strict, |_, _| {}),
        Err(OidcError::HostedDomainMissing {
            email: "alice@allowed.com".into()
        })
    );
    p.control(serde_json::json!({"hd": "allowed.com"}));
    assert_eq!(
        sign_in_with(&p, &strict, |_, _| {})
            .unwrap()
            .hosted_domain
            .as_deref(),
        Some("allowed.com")
    );
}

#[test]
fn a_sign_in_older_than_ten_minutes_is_refused() {
    let p = Provider::start();
    let client = p.client();
    let (url, pending) = client.authorization_url("/");
    let (code, state) = p.authorize(&url);
    let later = SystemTime::now() + Duration::from_secs(11 * 60);
    assert!(matches!(
        PendingLogin::from_cookie_value(&pending.to_cookie_value(), later),
        Err(OidcError::PendingExpired { age_secs }) if (660..670).contains(&age_secs)
    ));
    assert!(matches!(
        client.complete(&pending, &state, &code, &allowed(), later),
        Err(OidcError::PendingExpired { .. })
    ));
    assert_eq!(p.stats("token_requests"), 0);
}

#[test]
fn discovery_errors_name_the_problem() {
    let p = Provider::start();
    let mut config = p.config();
    config.discovery_url = format!("{}/nothing/.well-known/openid-configuration", p.base);
    match OidcClient::discover(&config) {
        Err(OidcError::Discovery { url, reason }) => {
            assert_eq!(url, config.discovery_url);
            assert_eq!(reason, "HTTP 404 Not Found");
        }
        other => panic!("{other:?}"),
    }
    let mut config = p.config();
    config.redirect_url = "/auth/callback".into();
    assert_eq!(
        OidcClient::discover(&config).unwrap_err(),
        OidcError::Config("redirect_url \"/auth/callback\" is not an absolute http(s) URL".into())
    );
    let mut config = p.config();
    config.client_secret = String::new();
    assert!(matches!(
        OidcClient::discover(&config),
        Err(OidcError::Config(m)) if m.starts_with("client_secret is empty")
    ));
    // Nothing listens on port 9 of loopback.
    let mut config = p.config();
    config.discovery_url = "http://127.0.0.1:9/.well-known/openid-configuration".into();
    assert!(matches!(
        OidcClient::discover(&config),
        Err(OidcError::Discovery { .. })
    ));
    // The secret never shows in Debug output.
    assert!(!format!("{:?}", p.client()).contains(CLIENT_SECRET));
}

#[test]
fn a_discovery_document_naming_another_issuer_is_refused() {
    // A document at our provider's URL claiming to be Google's (Discovery §4.3).
    let p = Provider::start_with(&["https://accounts.google.com"]);
    assert_eq!(
        OidcClient::discover(&p.config()).unwrap_err(),
        OidcError::DiscoveryIssuerMismatch {
            url: p.config().discovery_url,
            issuer: "https://accounts.google.com".into()
        }
    );
}
