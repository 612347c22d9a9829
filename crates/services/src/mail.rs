//! Email, sent from jobs so a slow or failing mail server delays a message, never loses
//! it or the change that caused it. This build delivers to an outbox folder (one `.eml`
//! file per message), which the demo shows at `/_dev/mail`.

use std::path::{Path, PathBuf};

use chrono::Utc;
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};

use crate::Context;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub const FROM: &str = "Registrar <no-reply@registrar.invalid>";

impl Job for Mail {
    const KIND: &'static str = "mail.send";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        deliver(&ctx.mail_outbox, &self)
            .map_err(|e| JobError::Retry(format!("writing to the mail outbox: {e}")))
    }
}

fn deliver(outbox: &Path, mail: &Mail) -> std::io::Result<()> {
    std::fs::create_dir_all(outbox)?;
    let now = Utc::now();
    let name = format!(
        "{}-{:08x}.eml",
        now.format("%Y%m%dT%H%M%S%.6fZ"),
        rand::random::<u32>()
    );
    let message = format!(
        "From: {FROM}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
        mail.to,
        mail.subject,
        now.to_rfc2822(),
        mail.text
    );
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
    files.sort();
    files.reverse();
    files
        .into_iter()
        .filter_map(|path| {
            let raw = std::fs::read_to_string(&path).ok()?;
            let (head, text) = raw.split_once("\r\n\r\n")?;
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .unwrap_or_default()
                    .to_string()
            };
            Some(Delivered {
                file: path.file_name()?.to_string_lossy().into_owned(),
                to: header("To"),
                subject: header("Subject"),
                date: header("Date"),
                text: text.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_messages_are_read_back_newest_first() {
        let dir = std::env::temp_dir().join(format!("registrar-outbox-{}", rand::random::<u64>()));
        for n in 1..=2 {
            deliver(
                &dir,
                &Mail {
                    to: "ada@example.edu".into(),
                    subject: format!("Hello {n}"),
                    text: format!("Body {n}\nline two"),
                },
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let messages = outbox(&dir);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].subject, "Hello 2");
        assert_eq!(messages[0].to, "ada@example.edu");
        assert_eq!(messages[1].text, "Body 1\nline two");
        std::fs::remove_dir_all(dir).ok();
    }
}
