//! The OpenID provider of `tests/fixtures/oidc_provider.py` (discovery, JWKS, an approving
//! authorization endpoint, a token endpoint that checks PKCE; ID tokens signed with PyJWT), started
//! on a free loopback port and killed on drop. Used by tests/oidc.rs and tests/gate.rs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use broker::gate::oidc::{OidcClient, OidcConfig};

pub const CLIENT_ID: &str = "gate-test-client.apps.example";
pub const CLIENT_SECRET: &str = "s3cret:with/odd&chars+at-least-32-bytes";

/// The provider process, killed on drop.
pub struct Provider {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client that follows no redirects and returns every status.
    pub agent: ureq::Agent,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    pub fn start() -> Provider {
        Provider::start_with(&[])
    }

    /// Start with extra arguments for the script (an issuer to name instead of its own URL).
    pub fn start_with(extra: &[&str]) -> Provider {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oidc_provider.py"
        );
        let mut child = Command::new("python3")
            .args([script, CLIENT_ID, CLIENT_SECRET])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (the provider needs PyPI PyJWT and cryptography)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| {
                panic!("provider did not start: {line:?} (pip install PyJWT cryptography)")
            })
            .parse()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Provider {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        }
    }

    /// Set what the next ID token looks like (see the script's docstring).
    pub fn control(&self, json: serde_json::Value) {
        let resp = self
            .agent
            .post(format!("{}/control", self.base))
            .send_json(json)
            .unwrap();
        assert_eq!(resp.status(), 200);
    }

    pub fn stats(&self, name: &str) -> u64 {
        let mut resp = self
            .agent
            .get(format!("{}/stats", self.base))
            .call()
            .unwrap();
        let v: serde_json::Value = resp.body_mut().read_json().unwrap();
        v[name].as_u64().unwrap()
    }

    pub fn config(&self) -> OidcConfig {
        OidcConfig {
            discovery_url: format!("{}/.well-known/openid-configuration", self.base),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_url: "https://data.example.com/auth/callback".into(),
            require_hosted_domain: None,
        }
    }

    pub fn client(&self) -> OidcClient {
        OidcClient::discover(&self.config()).unwrap()
    }

    /// Follow the authorization URL as a browser would, up to the provider's redirect to our
    /// callback; returns the callback's `code` and `state`.
    pub fn authorize(&self, url: &str) -> (String, String) {
        assert!(
            url.starts_with(&format!("{}/authorize?", self.base)),
            "{url}"
        );
        let resp = self.agent.get(url).call().unwrap();
        assert_eq!(resp.status(), 302, "authorization refused: {url}");
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        // The redirect URI of the authorization request (the module's tests and the gate's use
        // different paths on one host).
        let query = location
            .strip_prefix("https://data.example.com/auth/")
            .and_then(|rest| rest.split_once('?'))
            .map(|(_, q)| q)
            .unwrap_or_else(|| panic!("redirect to {location}"));
        let mut code = None;
        let mut state = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                _ => {}
            }
        }
        (code.unwrap(), state.unwrap())
    }
}
