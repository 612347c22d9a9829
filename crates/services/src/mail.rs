//! Email, sent from jobs so a slow or failing mail server delays a message, never loses
//! it or the change that caused it. Each message is written from a text template and
//! goes out as `multipart/alternative`: that text, and an HTML rendering of it in the
//! mail layout (paragraphs, a lone link as a button). Production delivers over SMTP
//! (`smtp_url`); otherwise messages go to an outbox folder, one `.eml` file each, exactly
//! as they would be sent, which the demo shows at `/_dev/mail`.

use std::path::{Path, PathBuf};

use askama::Template;
use chrono::Utc;
use jobs::{Job, JobError};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use crate::Context;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML alternative; a message queued before templates had none.
    #[serde(default)]
    pub html: Option<String>,
    /// The Message-ID (without angle brackets), fixed when composed so a retried job sends
    /// the same message and delivery events find it.
    #[serde(default)]
    pub message_id: Option<String>,
}

pub const FROM: &str = "Registrar <no-reply@registrar.invalid>";

/// The mail layout around a message's text.
#[derive(Template)]
#[template(path = "mail/layout.html")]
struct Layout<'a> {
    subject: &'a str,
    paragraphs: Vec<Paragraph>,
}

enum Paragraph {
    Lines(Vec<String>),
    /// A paragraph that is only a link: shown as a button.
    Link(String),
}

fn paragraphs(text: &str) -> Vec<Paragraph> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lone_link = !p.contains(char::is_whitespace)
                && (p.starts_with("http://") || p.starts_with("https://"));
            if lone_link {
                Paragraph::Link(p.to_string())
            } else {
                Paragraph::Lines(p.lines().map(str::to_string).collect())
            }
        })
        .collect()
}

impl Mail {
    /// A message to `to` whose text is the template's, with its HTML rendering.
    pub fn compose(to: &str, subject: &str, body: &impl Template) -> Mail {
        let text = body.render().expect("mail templates render");
        let html = Layout {
            subject,
            paragraphs: paragraphs(&text),
        }
        .render()
        .expect("the mail layout renders");
        Mail {
            to: to.to_string(),
            subject: subject.to_string(),
            text,
            html: Some(html),
            message_id: Some(format!("{:032x}@registrar", rand::random::<u128>())),
        }
    }

    /// Queues the message for delivery in the caller's transaction.
    pub async fn send(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        self.enqueue(db).await.map(|_| ())
    }

    fn message(&self, from: &str) -> Result<Message, String> {
        let builder = Message::builder()
            .from(
                from.parse::<Mailbox>()
                    .map_err(|e| format!("from {from:?}: {e}"))?,
            )
            .to(self
                .to
                .parse::<Mailbox>()
                .map_err(|e| format!("to {:?}: {e}", self.to))?)
            .subject(&self.subject)
            .message_id(self.message_id.as_ref().map(|id| format!("<{id}>")));
        match &self.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                html.clone(),
            )),
            None => builder.body(self.text.clone()),
        }
        .map_err(|e| format!("building the message: {e}"))
    }
}

/// An SMTP relay (`smtp://user:pass@host:587` with STARTTLS, `smtps://…` with TLS) and the
/// sender address.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        integrations::install_tls_provider();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp_url: {e}"))?
            .build();
        from.parse::<Mailbox>()
            .map_err(|e| format!("mail_from {from:?}: {e}"))?;
        Ok(Self {
            transport,
            from: from.to_string(),
        })
    }
}

impl Job for Mail {
    const KIND: &'static str = "mail.send";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        // Recorded before it is handed over: a delivery event may come back before the
        // transport answers, and a failed record must not make the job send twice.
        if let Some(id) = &self.message_id {
            store::mail::sent(db, id, &self.to, &self.subject, Utc::now()).await?;
            // Handed over by an earlier run whose success was never recorded (the process
            // stopped between sending and recording): sending again would send it twice.
            if store::mail::handed_over(db, id).await? {
                tracing::info!(message = %id, "mail already handed over; not sent again");
                return Ok(());
            }
        }
        self.deliver(ctx).await?;
        if let Some(id) = &self.message_id
            && let Err(error) = store::mail::mark_handed_over(db, id, Utc::now()).await
        {
            // Sent: the job succeeds. Only a crash before its success is recorded could
            // send it again.
            tracing::warn!(%error, message = %id, "recording a sent message failed");
        }
        Ok(())
    }
}

impl Mail {
    async fn deliver(&self, ctx: &Context) -> Result<(), JobError> {
        match &ctx.smtp {
            Some(smtp) => {
                let message = self.message(&smtp.from).map_err(JobError::Permanent)?;
                match smtp.transport.send(message).await {
                    Ok(_) => Ok(()),
                    // A 5xx refusal (no such mailbox) will not change; the rest may.
                    Err(e) if e.is_permanent() => Err(JobError::Permanent(e.to_string())),
                    Err(e) => Err(JobError::Retry(format!("the mail server: {e}"))),
                }
            }
            None => {
                let message = self.message(FROM).map_err(JobError::Permanent)?;
                deliver(
                    &ctx.mail_outbox,
                    self.message_id.as_deref(),
                    &message.formatted(),
                )
                .map_err(|e| JobError::Retry(format!("writing to the mail outbox: {e}")))
            }
        }
    }
}

/// Writes a message to the outbox. A message with an id is written under a name made from
/// it, so writing it again replaces it rather than delivering it twice.
fn deliver(outbox: &Path, message_id: Option<&str>, message: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(outbox)?;
    let name = match message_id {
        Some(id) => format!(
            "{}.eml",
            id.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        ),
        None => format!(
            "{}-{:08x}.eml",
            Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            rand::random::<u32>()
        ),
    };
    // Written under a temporary name and renamed, so a reader never sees half a message.
    let temporary = outbox.join(format!(".{name}"));
    std::fs::write(&temporary, message)?;
    std::fs::rename(temporary, outbox.join(name))
}

/// A delivered message, for the outbox page and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivered {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub text: String,
    pub html: Option<String>,
}

/// Messages in the outbox, newest first.
pub fn outbox(dir: &Path) -> Vec<Delivered> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "eml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    // Newest first, by when each was written (names no longer sort by time).
    files.sort_by_key(|p| {
        std::cmp::Reverse(
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
        )
    });
    files
        .into_iter()
        .filter_map(|path| {
            let raw = std::fs::read(&path).ok()?;
            let message = mail_parser::MessageParser::default().parse(&raw)?;
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            Some(Delivered {
                file: path.file_name()?.to_string_lossy().into_owned(),
                to,
                subject: message.subject().unwrap_or_default().to_string(),
                date: message.date().map(|d| d.to_rfc822()).unwrap_or_default(),
                text: message
                    .body_text(0)
                    .map(|t| t.replace("\r\n", "\n").trim_end().to_string())
                    .unwrap_or_default(),
                html: message
                    .html_body_count()
                    .gt(&0)
                    .then(|| message.body_html(0).map(|h| h.into_owned()))
                    .flatten(),
            })
        })
        .collect()
}

/// A delivery event from the mail provider (Mailgun's webhook), its signature checked.
#[derive(Debug)]
pub struct DeliveryEvent<'a> {
    /// The signature's token: each may be used once.
    pub token: &'a str,
    /// `delivered`, `failed`, `opened`, `clicked`; others are ignored.
    pub kind: &'a str,
    pub message_id: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub at: chrono::DateTime<Utc>,
}

/// What became of a delivery event.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Its token was used before: it may be a replay, and nothing is recorded.
    Replayed,
    /// A kind of event Registrar does not record.
    Ignored,
    /// It names no message.
    NoMessageId,
    /// It names a message that was not sent from here.
    UnknownMessage,
    Recorded,
}

/// The event kinds recorded on a message.
pub const DELIVERY_KINDS: [&str; 4] = ["delivered", "failed", "opened", "clicked"];

/// Records a delivery event on its message, in one transaction with the token's use; an
/// enrollment code's message has its assignment followed up now, not at the next sweep.
pub async fn record_delivery(
    store: &store::Store,
    event: &DeliveryEvent<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<Delivery, DbErr> {
    let txn = store.write().await?;
    if !store::mail::first_use(&txn, event.token, now).await? {
        return Ok(Delivery::Replayed);
    }
    let outcome = if !DELIVERY_KINDS.contains(&event.kind) {
        Delivery::Ignored
    } else if let Some(message_id) = event.message_id {
        if !store::mail::status(&txn, message_id, event.kind, event.detail, event.at).await? {
            Delivery::UnknownMessage
        } else {
            if store::commerce::coupon_requests::by_message(&txn, message_id)
                .await?
                .is_some()
            {
                crate::coupon_requests::FollowDelivery {}
                    .enqueue(&txn)
                    .await?;
            }
            Delivery::Recorded
        }
    } else {
        // A malformed event does not use up its token.
        return Ok(Delivery::NoMessageId);
    };
    txn.commit().await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Template)]
    #[template(
        source = "Hello {{ name }},\n\nYour link:\n\nhttps://example.edu/go?a=1&b=2\n\nThanks – the team\n",
        ext = "txt"
    )]
    struct Greeting<'a> {
        name: &'a str,
    }

    #[test]
    fn a_message_is_its_text_and_an_html_rendering_and_reads_back_as_sent() {
        let dir = std::env::temp_dir().join(format!("registrar-outbox-{}", rand::random::<u64>()));
        for n in 1..=2 {
            let mail = Mail::compose(
                "ada@example.edu",
                &format!("Hello {n} – ünïcode"),
                &Greeting {
                    name: "Ada <Lovelace>",
                },
            );
            let formatted = mail.message(FROM).unwrap().formatted();
            deliver(&dir, mail.message_id.as_deref(), &formatted).unwrap();
            // Written again (its job ran again after a crash): still one message.
            deliver(&dir, mail.message_id.as_deref(), &formatted).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let messages = outbox(&dir);
        assert_eq!(messages.len(), 2, "each message once");
        assert_eq!(messages[0].subject, "Hello 2 – ünïcode");
        assert_eq!(messages[0].to, "ada@example.edu");
        assert_eq!(
            messages[1].text,
            "Hello Ada <Lovelace>,\n\nYour link:\n\nhttps://example.edu/go?a=1&b=2\n\nThanks – the team"
        );
        let html = messages[0].html.as_deref().expect("an HTML alternative");
        assert!(
            html.contains("Hello Ada &#60;Lovelace&#62;,"),
            "escaped: {html}"
        );
        assert!(
            html.contains(r#"<a class="button" href="https://example.edu/go?a=1&#38;b=2""#),
            "a lone link is a button: {html}"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
