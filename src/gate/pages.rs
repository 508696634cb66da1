//! The gate's own HTML pages: sign-in, link confirmation, password forms, the account page with
//! API tokens, and messages. Every form carries the CSRF field; every value is escaped.

use crate::static_files::html_escape as esc;

/// Which sign-in methods the sign-in page offers.
pub struct Methods {
    /// Email magic links (mail configured, or `--dev`).
    pub email: bool,
    /// Google / OpenID Connect.
    pub oidc: bool,
}

/// A complete page: `title`, then `body` (HTML, already escaped by the caller).
pub fn layout(site: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>{t} · {s}</title>\
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1d2430}}\
h1{{font-size:1.4rem}}form{{margin:1rem 0 2rem;display:grid;gap:.5rem}}input,button{{font:inherit;padding:.45rem .6rem}}\
button{{cursor:pointer}}table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}}\
.note{{color:#555}}.error{{color:#a00}}code{{word-break:break-all}}</style></head>\
<body><p class=\"note\">{s}</p><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = esc(title),
        s = esc(site),
    )
}

/// The hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// The sign-in page body.
pub fn sign_in(csrf: &str, next: &str, methods: &Methods, error: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        b.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)));
    }
    if methods.oidc {
        b.push_str(&format!(
            "<p><a href=\"/auth/oidc/start?next={}\">Sign in with Google</a></p>",
            esc(&urlencode(next))
        ));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/auth/password\">{}<input type=\"hidden\" name=\"next\" value=\"{}\">\
<label>Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\">Sign in</button><a href=\"/auth/password/reset\">Forgot your password?</a></form>",
        csrf_field(csrf),
        esc(next)
    ));
    if methods.email {
        b.push_str(&email_link_form(
            csrf,
            next,
            "Or get a sign-in link by email",
        ));
    }
    b
}

/// The form asking for an email sign-in link (`label` above the address field).
fn email_link_form(csrf: &str, next: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/auth/email\">{}<input type=\"hidden\" name=\"next\" value=\"{}\">\
<label>{} <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label>\
<button type=\"submit\">Email me a link</button></form>",
        csrf_field(csrf),
        esc(next),
        esc(label)
    )
}

/// What an email sign-in link shows in a browser other than the one that asked for it: where
/// to open it, and the form to ask for a new link from this browser.
pub fn link_elsewhere(csrf: &str) -> String {
    format!(
        "<p>This sign-in link was asked for in another browser or on another device, and it works \
only there: open it in the browser where you asked for it.</p>{}",
        email_link_form(
            csrf,
            "/",
            "To sign in on this device instead, enter your address for a new link",
        )
    )
}

/// A form with one button that POSTs `token` to `action` (what opening a link shows).
pub fn confirm(csrf: &str, action: &str, token: &str, text: &str, button: &str) -> String {
    format!(
        "<p>{}</p><form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"token\" value=\"{}\">\
<button type=\"submit\">{}</button></form>",
        esc(text),
        esc(action),
        csrf_field(csrf),
        esc(token),
        esc(button)
    )
}

/// The new-password form of a set-up/reset link.
pub fn set_password(csrf: &str, token: &str, email: &str, error: Option<&str>) -> String {
    format!(
        "{}<p>Choose a password for {} (at least {} characters).</p>\
<form method=\"post\" action=\"/auth/password/set\">{}<input type=\"hidden\" name=\"token\" value=\"{}\">\
<label>New password <input type=\"password\" name=\"password\" autocomplete=\"new-password\" required></label>\
<label>Again <input type=\"password\" name=\"password2\" autocomplete=\"new-password\" required></label>\
<button type=\"submit\">Set password and sign in</button></form>",
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default(),
        esc(email),
        crate::gate::password::MIN_LEN,
        csrf_field(csrf),
        esc(token)
    )
}

/// The "forgot password" form.
pub fn reset_request(csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/auth/password/reset\">{}\
<label>Email <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label>\
<button type=\"submit\">Email me a reset link</button></form>",
        csrf_field(csrf)
    )
}

/// A row of the account page's token table.
pub struct TokenRow {
    /// Token id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Issued (RFC 3339).
    pub created: String,
    /// Expires (RFC 3339).
    pub expires: String,
    /// Last used (RFC 3339) or "never".
    pub last_used: String,
}

/// The account page body: identity, a token just issued (shown once), tokens, forms.
pub fn account(
    csrf: &str,
    email: &str,
    groups: &[String],
    new_token: Option<&str>,
    tokens: &[TokenRow],
    default_days: u64,
) -> String {
    let mut b = format!(
        "<p>Signed in as <strong>{}</strong> (groups: {}).</p>",
        esc(email),
        esc(&groups.join(", "))
    );
    if let Some(t) = new_token {
        b.push_str(&format!(
            "<p>Your new token (shown only now; copy it):</p><p><code id=\"new-token\">{}</code></p>",
            esc(t)
        ));
    }
    b.push_str("<h2>API tokens</h2>");
    if tokens.is_empty() {
        b.push_str("<p class=\"note\">No tokens.</p>");
    } else {
        b.push_str("<table><tr><th>Name</th><th>Issued</th><th>Expires</th><th>Last used</th><th></th></tr>");
        for t in tokens {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/auth/tokens/revoke\">{}\
<input type=\"hidden\" name=\"id\" value=\"{}\"><button type=\"submit\">Revoke</button></form></td></tr>",
                esc(&t.name),
                esc(&t.created),
                esc(&t.expires),
                esc(&t.last_used),
                csrf_field(csrf),
                esc(&t.id)
            ));
        }
        b.push_str("</table>");
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/auth/tokens\">{}<label>New token name <input name=\"name\" required maxlength=\"100\"></label>\
<label>Days valid <input name=\"days\" type=\"number\" min=\"1\" max=\"3650\" value=\"{default_days}\"></label>\
<button type=\"submit\">Issue token</button></form>",
        csrf_field(csrf)
    ));
    b.push_str(&format!(
        "<form method=\"post\" action=\"/auth/signout\">{}<button type=\"submit\">Sign out</button></form>",
        csrf_field(csrf)
    ));
    b
}

/// A paragraph of text.
pub fn message(text: &str) -> String {
    format!("<p>{}</p>", esc(text))
}

/// Percent-encode a value for a query string.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
