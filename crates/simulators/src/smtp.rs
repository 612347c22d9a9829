//! An SMTP relay fake: enough of RFC 5321 for a client to deliver (EHLO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT), keeping what it receives. A recipient whose address starts with
//! `reject` is refused permanently (550), one starting with `busy` temporarily (451).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message as the relay received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-stuffing undone.
    pub data: String,
}

#[derive(Default)]
pub struct SmtpSink {
    pub received: Mutex<Vec<Received>>,
}

impl SmtpSink {
    /// Listens on a loopback port; the `smtp://` URL to reach it.
    pub async fn start(self: &Arc<Self>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("smtp://{}", listener.local_addr().expect("an address"));
        let sink = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(sink.clone().session(stream));
            }
        });
        url
    }

    async fn session(self: Arc<Self>, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sim ESMTP ready\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let verb = command.get(..4).unwrap_or(&command).to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sim\r\n250 8BITMIME\r\n",
                "HELO" | "NOOP" => b"250 OK\r\n",
                "RSET" => {
                    (from, to) = (String::new(), Vec::new());
                    b"250 OK\r\n"
                }
                "MAIL" => {
                    from = address(&command);
                    b"250 OK\r\n"
                }
                "RCPT" => {
                    let rcpt = address(&command);
                    if rcpt.starts_with("reject") {
                        b"550 5.1.1 No such mailbox\r\n"
                    } else if rcpt.starts_with("busy") {
                        b"451 4.3.0 Try again later\r\n"
                    } else {
                        to.push(rcpt);
                        b"250 OK\r\n"
                    }
                }
                "DATA" => {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    self.received.lock().expect("sink lock").push(Received {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    b"250 OK queued\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 Bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 Command not implemented\r\n",
            };
            write.write_all(reply).await?;
        }
    }
}

/// The address in `MAIL FROM:<a>` or `RCPT TO:<a>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}
