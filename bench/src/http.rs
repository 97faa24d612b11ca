//! A minimal keep-alive HTTP/1.1 client on tokio for the REST and WebSocket benchmarks:
//! request and response, or pipelined requests with their responses read in order;
//! responses framed by `Content-Length` (what the node's REST port sends). Small enough that its own cost is known, and the same for every route
//! measured.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A response: its status and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Where a response head ends and how long its body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub head_len: usize,
    pub body_len: usize,
}

/// Parses a response head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|window| window == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD { Err("response head too long".into()) } else { Ok(None) };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "response head is not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, status) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 response: {status_line:?}"));
    }
    let status: u16 = status.parse().map_err(|_| format!("bad status line {status_line:?}"))?;
    let mut body_len = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Err(format!("bad header line {line:?}")) };
        if name.eq_ignore_ascii_case("content-length") {
            body_len = Some(value.trim().parse().map_err(|_| format!("bad Content-Length {value:?}"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!("Transfer-Encoding {} is not supported", value.trim()));
        }
    }
    // Only these statuses have no body and need no length.
    let body_len = match body_len {
        Some(length) => length,
        None if status == 204 || status == 304 || status < 200 => 0,
        None => return Err(format!("status {status} without Content-Length")),
    };
    Ok(Some(Head { status, head_len: end + 4, body_len }))
}

/// A request's bytes: `method path`, JSON body if any, bearer token if any, keep-alive.
pub fn request_bytes(method: &str, path: &str, body: Option<&str>, bearer: Option<&str>) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: cex\r\n");
    if let Some(token) = bearer {
        text += &format!("Authorization: Bearer {token}\r\n");
    }
    match body {
        Some(body) => {
            text += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        }
        None => text += "\r\n",
    }
    text.into_bytes()
}

/// Responses read in order from a connection's reading half.
pub struct Responses<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Responses<R> {
    pub fn new(reader: R) -> Responses<R> {
        Responses { reader, buf: Vec::with_capacity(8 * 1024) }
    }

    /// The next response.
    pub async fn next(&mut self) -> Result<Response, String> {
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                let total = head.head_len + head.body_len;
                if self.buf.len() >= total {
                    let body = self.buf[head.head_len..total].to_vec();
                    self.buf.drain(..total);
                    return Ok(Response { status: head.status, body });
                }
            }
            let mut chunk = [0u8; 8 * 1024];
            let read = self.reader.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("the server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
    }
}

/// One keep-alive connection.
pub struct Connection {
    writer: OwnedWriteHalf,
    responses: Responses<OwnedReadHalf>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Connection { writer, responses: Responses::new(reader) })
    }

    /// The two halves, to pipeline: requests written on one, responses read in order on
    /// the other (the server answers a connection's requests one after the other).
    pub fn split(self) -> (OwnedWriteHalf, Responses<OwnedReadHalf>) {
        (self.writer, self.responses)
    }

    /// Sends one request (from [`request_bytes`]) and reads its response.
    pub async fn send(&mut self, request: &[u8]) -> Result<Response, String> {
        self.writer.write_all(request).await.map_err(|e| e.to_string())?;
        self.responses.next().await
    }

    /// A JSON request: the response, whatever its status.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<Response, String> {
        let body = body.map(Value::to_string);
        self.send(&request_bytes(method, path, body.as_deref(), bearer)).await
    }

    /// A JSON request that must succeed: its JSON body.
    pub async fn expect(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<Value, String> {
        let response = self.call(method, path, body, bearer).await?;
        if !response.is_success() {
            let text = String::from_utf8_lossy(&response.body);
            return Err(format!("{method} {path}: {} {text}", response.status));
        }
        Ok(response.json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_parsed_once_complete() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        for cut in 0..response.len() - 2 {
            assert_eq!(parse_head(&response[..cut]), Ok(None), "cut at {cut}");
        }
        let head = parse_head(response).unwrap().unwrap();
        assert_eq!(head, Head { status: 200, head_len: response.len() - 2, body_len: 2 });
        // Pipelined bytes after the body belong to the next response.
        let mut two = response.to_vec();
        two.extend_from_slice(b"HTTP/1.1 429 Too Many");
        assert_eq!(parse_head(&two).unwrap().unwrap(), head);
    }

    #[test]
    fn bad_or_unsupported_heads_are_errors() {
        let error = |text: &str| parse_head(text.as_bytes()).unwrap_err();
        assert!(error("SSH-2.0\r\n\r\n").contains("not an HTTP/1"));
        assert!(error("HTTP/1.1 abc OK\r\n\r\n").contains("bad status"));
        assert!(error("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").contains("Content-Length"));
        assert!(error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").contains("not supported"));
        assert!(error("HTTP/1.1 200 OK\r\n\r\n").contains("without Content-Length"));
        assert!(error("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").contains("bad header"));
        assert!(parse_head(&vec![b'a'; MAX_HEAD + 1]).unwrap_err().contains("too long"));
        let no_content = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().unwrap();
        assert_eq!(no_content.body_len, 0);
    }

    #[test]
    fn requests_carry_their_body_length_and_token() {
        let text =
            String::from_utf8(request_bytes("POST", "/api/v1/orders/limit", Some("{\"a\":1}"), Some("t0k"))).unwrap();
        assert_eq!(
            text,
            "POST /api/v1/orders/limit HTTP/1.1\r\nHost: cex\r\nAuthorization: Bearer t0k\r\n\
             Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        );
        assert_eq!(request_bytes("GET", "/api/v1/ping", None, None), b"GET /api/v1/ping HTTP/1.1\r\nHost: cex\r\n\r\n");
    }
}
