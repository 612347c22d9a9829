//! Mail through an SMTP relay (the simulator speaking SMTP over TCP), on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks: delivered as text and HTML, a permanent refusal
//! ends the job, a temporary one is retried.

use std::sync::Arc;

use services::Context;
use services::mail::{Mail, Smtp};
use simulators::smtp::SmtpSink;

async fn deliver(store: &store::Store, sink: &Arc<SmtpSink>, mails: Vec<Mail>) {
    let url = sink.start().await;
    for mail in mails {
        mail.send(store.db()).await.unwrap();
    }
    // Refused mail goes dead on purpose here; the tests count it themselves.
    services::testing::drain_expecting_dead(Context {
        mail_outbox: std::env::temp_dir().join("registrar-unused-outbox"),
        smtp: Some(Arc::new(
            Smtp::new(&url, "Registrar <no-reply@registrar.test>").unwrap(),
        )),
        ..services::testing::context(store)
    })
    .await;
}

fn certificate_mail(to: &str) -> Mail {
    Mail::compose(
        to,
        "Your certificate for Circuits – and more",
        &services::emails::Certificate {
            name: "Ada",
            title: "Circuits",
            link: "https://registrar.test/certificate/abc/".into(),
        },
    )
}

#[tokio::test]
async fn mail_goes_out_over_smtp_as_text_and_html_and_a_refusal_is_final() {
    let store = store::testing::fresh_store().await;
    let sink = Arc::new(SmtpSink::default());
    deliver(
        &store,
        &sink,
        vec![
            certificate_mail("ada@example.edu"),
            certificate_mail("reject@example.edu"),
            certificate_mail("busy@example.edu"),
        ],
    )
    .await;
    let received = sink.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "the refused recipient got nothing");
    assert_eq!(received[0].from, "no-reply@registrar.test");
    assert_eq!(received[0].to, vec!["ada@example.edu"]);
    let parsed = mail_parser::MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Your certificate for Circuits – and more")
    );
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("https://registrar.test/certificate/abc/")
    );
    assert!(parsed.body_html(0).unwrap().contains(r#"class="button""#));
    let given_up = |attempts: &str| {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND state = 'dead' AND attempts {attempts}"
        );
        let store = store.clone();
        async move { store::testing::count(&store, &sql).await }
    };
    assert_eq!(given_up("= 1").await, 1, "a 550 is not retried");
    let recorded = store::mail::recent(store.db(), 10).await.unwrap();
    assert_eq!(
        recorded.len(),
        3,
        "each message is recorded once, before it is handed over"
    );
    let ada = recorded
        .iter()
        .find(|m| m.recipient == "ada@example.edu")
        .unwrap();
    assert!(
        received[0]
            .data
            .contains(&format!("Message-ID: <{}>", ada.message_id)),
        "the record names the message sent"
    );
    assert_eq!(
        given_up("> 1").await,
        1,
        "a 451 is retried (until the test worker's quick attempts run out)"
    );
}

/// A mail job run again after the process stopped between handing the message over and
/// recording its success (the worker records successes in batches) does not send it twice.
#[tokio::test]
async fn a_mail_job_run_again_after_a_crash_sends_nothing_twice() {
    let store = store::testing::fresh_store().await;
    let sink = Arc::new(SmtpSink::default());
    let mail = certificate_mail("ada@example.edu");
    let again = Mail {
        to: mail.to.clone(),
        subject: mail.subject.clone(),
        text: mail.text.clone(),
        html: mail.html.clone(),
        message_id: mail.message_id.clone(),
    };
    deliver(&store, &sink, vec![mail]).await;
    assert_eq!(sink.received.lock().unwrap().len(), 1);
    // The same job again, as the worker would run it had its success been lost.
    deliver(&store, &sink, vec![again]).await;
    assert_eq!(
        sink.received.lock().unwrap().len(),
        1,
        "the message was handed over already"
    );
}
