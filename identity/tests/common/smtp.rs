//! A tiny SMTP server on loopback, enough for lettre without TLS: 220, EHLO/HELO → 250,
//! MAIL/RCPT → 250, DATA → 354 … "." → 250, RSET/NOOP → 250, QUIT → 221. It keeps each
//! message, and can be told to refuse the next connections (421 in the greeting).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the server received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub ehlo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA lines (headers and body), dot-unstuffed, joined with `\n`.
    pub data: String,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    refuse: AtomicUsize,
    connections: AtomicUsize,
}

pub struct FakeSmtp {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(socket, &state).await;
                });
            }
        });
        FakeSmtp { addr, state, task }
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, no TLS, no credentials.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Refuse the next `n` connections with `421` in place of the greeting.
    pub fn refuse_next(&self, n: usize) {
        self.state.refuse.store(n, Ordering::SeqCst);
    }

    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn session(socket: TcpStream, state: &State) -> std::io::Result<()> {
    state.connections.fetch_add(1, Ordering::SeqCst);
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let refused = state.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if refused {
        write.write_all(b"421 4.3.2 fake.test busy, try again later\r\n").await?;
        return write.shutdown().await;
    }
    write.write_all(b"220 fake.test ESMTP\r\n").await?;
    let mut mail = Received::default();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
            mail.ehlo = line[5..].to_string();
            b"250 fake.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail.mail_from = line[10..].trim().to_string();
            b"250 2.1.0 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt_to.push(line[8..].trim().to_string());
            b"250 2.1.5 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = Vec::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map(str::to_string).unwrap_or(line));
            }
            mail.data = data.join("\n");
            state.received.lock().unwrap().push(std::mem::take(&mut mail));
            b"250 2.0.0 queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return write.shutdown().await;
        } else {
            b"502 5.5.2 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
