//! Sending sign-in and password links over SMTP (lettre's blocking transport: implicit TLS,
//! required STARTTLS, or plain text to loopback only). Each message is sent from its own thread,
//! never on a request thread, so the page answers at once and in the same time whether or not a
//! message goes out (field-pitfalls §F3, §F5); the outcome goes to the audit log.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::gate::audit::AuditLog;
use crate::gate::config::{SmtpConfig, SmtpTls};

/// A configured SMTP sender.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// A sender for `c` (no connection is made yet).
    ///
    /// Errors: the host name is not usable for TLS, or `from` is not an address.
    pub fn new(c: &SmtpConfig) -> anyhow::Result<Mailer> {
        let builder = match c.tls {
            SmtpTls::Tls => SmtpTransport::relay(&c.host)?,
            SmtpTls::Starttls => SmtpTransport::starttls_relay(&c.host)?,
            SmtpTls::None => SmtpTransport::builder_dangerous(&c.host),
        };
        let mut builder = builder
            .port(c.port)
            .timeout(Some(Duration::from_secs(c.timeout_s)));
        if let (Some(u), Some(p)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: c
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("smtp from `{}`: {e}", c.from))?,
        })
    }

    /// Send a plain-text message to `to` from a new thread; the result is written to `audit`
    /// (`link_sent` or `mail_failed` with the server's error).
    pub fn send_later(
        self: &Arc<Self>,
        to: &str,
        subject: &str,
        text: String,
        audit: Arc<AuditLog>,
    ) {
        let me = self.clone();
        let (to, subject) = (to.to_string(), subject.to_string());
        std::thread::spawn(move || {
            let result = to
                .parse::<Mailbox>()
                .map_err(|e| e.to_string())
                .and_then(|rcpt| {
                    Message::builder()
                        .from(me.from.clone())
                        .to(rcpt)
                        .subject(subject)
                        .header(ContentType::TEXT_PLAIN)
                        .body(text)
                        .map_err(|e| e.to_string())
                })
                .and_then(|m| me.transport.send(&m).map(|_| ()).map_err(|e| e.to_string()));
            match result {
                Ok(()) => audit.log("link_sent", serde_json::json!({"email": to})),
                Err(e) => audit.log("mail_failed", serde_json::json!({"email": to, "reason": e})),
            }
        });
    }
}
