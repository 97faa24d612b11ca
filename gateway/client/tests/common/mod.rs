//! A scripted fake gateway: a loopback listener that accepts one connection and runs a test's
//! script on it in a thread, with helpers to read client messages and send gateway ones.

#![allow(dead_code)] // each test binary uses part of this module

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cex_gateway_client::codec::{self, KeyPermissions, LogonOptions};
use cex_gateway_client::{Credentials, SessionOptions};
use cex_gateway_protocol::{encode_frame, EncodeError, FrameBuffer, FrameDecoder};

pub const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
pub const ACCOUNT: u32 = 42;

pub fn credentials() -> Credentials {
    Credentials::new(API_KEY, SECRET)
}

/// Options with short timeouts, for tests.
pub fn options(heartbeat_interval_ms: u32) -> SessionOptions {
    SessionOptions {
        heartbeat_interval_ms,
        connect_timeout: Duration::from_secs(2),
        logon_timeout: Duration::from_secs(2),
        ..SessionOptions::default()
    }
}

pub struct FakeGateway {
    pub addr: SocketAddr,
    script: JoinHandle<()>,
}

impl FakeGateway {
    /// Listens on loopback; the script runs on the first connection.
    pub fn start(script: impl FnOnce(Peer) + Send + 'static) -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let script = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            script(Peer::new(stream));
        });
        FakeGateway { addr, script }
    }

    /// Waits for the script; a failed assertion in it fails the test here.
    pub fn join(self) {
        if let Err(panic) = self.script.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The gateway's side of the connection.
pub struct Peer {
    pub stream: TcpStream,
    frames: FrameBuffer,
}

/// A Logon as the fake gateway received it.
#[derive(Debug, Clone)]
pub struct ReceivedLogon {
    pub timestamp_ms: u64,
    pub nonce: u64,
    pub heartbeat_interval_ms: u32,
    pub options: LogonOptions,
    pub signature: [u8; 32],
    pub api_key: String,
}

impl Peer {
    pub fn new(stream: TcpStream) -> Peer {
        stream.set_nodelay(true).unwrap();
        Peer { stream, frames: FrameBuffer::new(FrameDecoder::new(1 << 20)) }
    }

    /// The next client message (SBE, without the framing header), waiting up to `timeout`;
    /// `None` on timeout or when the client closed the connection.
    pub fn try_read_message(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(message) = self.frames.next_frame().expect("the client frames its messages") {
                return Some(message.to_vec());
            }
            let left = deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())?;
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(read) => self.frames.extend(&buf[..read]),
                Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return None
                }
                Err(error) => panic!("fake gateway read: {error}"),
            }
        }
    }

    pub fn read_message(&mut self) -> Vec<u8> {
        self.try_read_message(Duration::from_secs(5)).expect("a client message")
    }

    /// Exactly `count` raw bytes.
    pub fn read_raw(&mut self, count: usize) -> Vec<u8> {
        let mut bytes = vec![0; count];
        self.stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        self.stream.read_exact(&mut bytes).unwrap();
        bytes
    }

    /// Whether the client closed the connection (within a second).
    pub fn client_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        self.stream.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        matches!(self.stream.read(&mut byte), Ok(0))
    }

    pub fn send(&mut self, encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>) {
        let mut buf = vec![0u8; 1 << 16];
        let length = encode_frame(&mut buf, encode).unwrap();
        self.stream.write_all(&buf[..length]).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads the Logon, which must be the first message.
    pub fn read_logon(&mut self) -> ReceivedLogon {
        let message = self.read_message();
        let codec::MessageDecoder::Logon(logon) = codec::MessageDecoder::decode(&message).unwrap() else {
            panic!("the first message is not a Logon");
        };
        let logon = logon.value().unwrap();
        ReceivedLogon {
            timestamp_ms: logon.timestamp_ms,
            nonce: logon.nonce,
            heartbeat_interval_ms: logon.heartbeat_interval_ms,
            options: logon.options,
            signature: logon.signature,
            api_key: logon.api_key.to_string(),
        }
    }

    /// Reads the Logon and accepts it with the interval and options it asked for.
    pub fn accept_logon(&mut self) -> ReceivedLogon {
        let logon = self.read_logon();
        let accepted = accepted(&logon);
        self.send(|buf| accepted.encode(buf));
        logon
    }
}

/// The LogonAccepted the fake gateway answers `logon` with.
pub fn accepted(logon: &ReceivedLogon) -> codec::LogonAccepted {
    codec::LogonAccepted {
        session_id: 7,
        account: ACCOUNT,
        permissions: KeyPermissions::READ.with(KeyPermissions::TRADE),
        options: logon.options,
        heartbeat_interval_ms: logon.heartbeat_interval_ms,
        next_inbound_seq_num: 2,
        last_txid: 1234,
    }
}

/// An execution report with every optional field null.
pub fn report(txid: u64, exec_type: codec::ExecType) -> codec::ExecutionReport {
    cex_gateway_protocol::null_execution_report(txid, exec_type)
}
