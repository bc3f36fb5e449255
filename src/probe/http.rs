//! HTTP probes: requests to the app and what it answered.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest body kept for comparison; bigger answers are compared by their first part only.
const MAX_BODY: usize = 16 << 20;

/// One request to send: `GET:/health`, `POST:/api/items`, or just `/path` (GET).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpProbe {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid HTTP probe {0:?}: expected METHOD:PATH (e.g. GET:/health) or /PATH")]
pub struct ProbeSyntaxError(pub String);

impl HttpProbe {
    pub fn get_root() -> Self {
        HttpProbe {
            method: "GET".into(),
            path: "/".into(),
        }
    }

    /// Parse SlimToolkit's `--http-probe-cmd` form: `[PROTO:][METHOD:]PATH`.
    pub fn parse(spec: &str) -> Result<Self, ProbeSyntaxError> {
        let error = || ProbeSyntaxError(spec.to_string());
        let mut parts: Vec<&str> = spec.splitn(3, ':').collect();
        if parts.len() == 3 {
            // a leading protocol ("http:GET:/x"); only plain http is probed
            if !parts[0].eq_ignore_ascii_case("http") {
                return Err(error());
            }
            parts.remove(0);
        }
        let (method, path) = match parts.as_slice() {
            [path] => ("GET", *path),
            [method, path] => (*method, *path),
            _ => return Err(error()),
        };
        let method = method.to_ascii_uppercase();
        let known = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        if !known.contains(&method.as_str())
            || !path.starts_with('/')
            || path.contains(char::is_whitespace)
        {
            return Err(error());
        }
        Ok(HttpProbe {
            method,
            path: path.to_string(),
        })
    }
}

impl fmt::Display for HttpProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// What the app answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpAnswer {
    pub status: u16,
    /// the Content-Type header, if the answer had one
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub body_len: usize,
    /// sha256 of the body, so the report shows whether two answers were identical
    pub body_sha256: String,
}

impl HttpAnswer {
    pub fn new(status: u16, content_type: Option<String>, body: Vec<u8>) -> Self {
        let body_sha256 = crate::digest::sha256_hex(&body);
        HttpAnswer {
            status,
            content_type,
            body_len: body.len(),
            body,
            body_sha256,
        }
    }
}

/// Why a probe got no HTTP answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// nothing listens yet, or the connection closed before an answer: try again later
    #[error("no answer yet ({0})")]
    NotReady(String),
    /// nothing accepted the connection where clients connect (the relay's own words)
    #[error("{0}")]
    Refused(String),
    /// something answered, but not in HTTP: retrying will not help
    #[error("the port answers, but not with HTTP ({0})")]
    NotHttp(String),
}

/// An HTTP/1.1 client for probes: no proxy, no redirects followed (a redirect is an answer
/// too). It speaks over whatever reaches the app: a stream relayed from inside its network
/// namespace, or a TCP connection to a published port.
pub struct HttpProber {
    request_timeout: Duration,
}

type Body = http_body_util::Empty<hyper::body::Bytes>;

/// An open connection to the app. Like a browser's, it is kept for the next request while the
/// app keeps it open, which saves opening a relay for every probe.
pub struct HttpConnection {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    driver: tokio::task::JoinHandle<()>,
    /// the Host header (`127.0.0.1:PORT`)
    authority: String,
    /// an answer was cut short or timed out: unread bytes make the connection useless
    spoiled: bool,
}

impl HttpConnection {
    /// True while another request may go over it.
    pub fn is_open(&self) -> bool {
        !self.spoiled && !self.sender.is_closed()
    }
}

impl Drop for HttpConnection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl HttpProber {
    pub fn new(request_timeout: Duration) -> Self {
        HttpProber { request_timeout }
    }

    /// Send one probe to port `port` on this machine's 127.0.0.1 (a published port), over a
    /// connection of its own.
    pub async fn send_to_local_port(
        &self,
        port: u16,
        probe: &HttpProbe,
    ) -> Result<HttpAnswer, ProbeError> {
        let mut connection = self.connect_to_local_port(port).await?;
        self.send(&mut connection, probe).await
    }

    /// A connection to port `port` on this machine's 127.0.0.1.
    pub async fn connect_to_local_port(&self, port: u16) -> Result<HttpConnection, ProbeError> {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let stream = tokio::time::timeout(
            self.request_timeout,
            tokio::net::TcpStream::connect(address),
        )
        .await
        .map_err(|_| self.timed_out())?
        .map_err(|e| ProbeError::NotReady(format!("connecting to {address}: {e}")))?;
        self.connect(stream, &address.to_string()).await
    }

    /// Speak HTTP over `stream`, a fresh connection to the app; `authority` is the Host header.
    pub async fn connect<C>(&self, stream: C, authority: &str) -> Result<HttpConnection, ProbeError>
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let io = hyper_util::rt::TokioIo::new(stream);
        let (sender, driver) = tokio::time::timeout(
            self.request_timeout,
            hyper::client::conn::http1::handshake(io),
        )
        .await
        .map_err(|_| self.timed_out())?
        .map_err(classify)?;
        Ok(HttpConnection {
            sender,
            driver: tokio::spawn(async move {
                let _ = driver.await;
            }),
            authority: authority.to_string(),
            spoiled: false,
        })
    }

    /// Send one probe over `connection` and read the whole answer (the body up to
    /// [`MAX_BODY`]).
    pub async fn send(
        &self,
        connection: &mut HttpConnection,
        probe: &HttpProbe,
    ) -> Result<HttpAnswer, ProbeError> {
        let outcome = tokio::time::timeout(self.request_timeout, exchange(connection, probe)).await;
        match outcome {
            Ok(Ok((answer, complete))) => {
                connection.spoiled |= !complete;
                Ok(answer)
            }
            Ok(Err(error)) => {
                connection.spoiled = true;
                Err(error)
            }
            Err(_) => {
                connection.spoiled = true;
                Err(self.timed_out())
            }
        }
    }

    fn timed_out(&self) -> ProbeError {
        ProbeError::NotReady(format!(
            "no answer within {}s",
            self.request_timeout.as_secs()
        ))
    }
}

/// One request and its answer; the flag is false when the body was cut at [`MAX_BODY`].
async fn exchange(
    connection: &mut HttpConnection,
    probe: &HttpProbe,
) -> Result<(HttpAnswer, bool), ProbeError> {
    use http_body_util::BodyExt;
    use hyper::header;

    let request = hyper::Request::builder()
        .method(probe.method.as_str())
        .uri(probe.path.as_str())
        .header(header::HOST, &connection.authority)
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::ACCEPT, "*/*")
        .body(Body::new())
        .map_err(|e| {
            ProbeError::NotHttp(format!("the probe {probe} is not a valid request: {e}"))
        })?;
    connection.sender.ready().await.map_err(classify)?;
    let response = connection
        .sender
        .send_request(request)
        .await
        .map_err(classify)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body_stream = response.into_body();
    let mut body = Vec::new();
    while let Some(frame) = body_stream.frame().await {
        let Ok(chunk) = frame.map_err(classify)?.into_data() else {
            continue; // trailers
        };
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            return Ok((HttpAnswer::new(status, content_type, body), false));
        }
    }
    Ok((HttpAnswer::new(status, content_type, body), true))
}

const USER_AGENT: &str = concat!("slim-probe/", env!("CARGO_PKG_VERSION"));

/// A parse error means bytes came back that are not HTTP; anything else may still get better.
fn classify(error: hyper::Error) -> ProbeError {
    if error.is_parse() || error.is_parse_status() {
        ProbeError::NotHttp(error.to_string())
    } else {
        ProbeError::NotReady(crate::error_chain::one_line(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn parses_probe_specs() {
        assert_eq!(
            HttpProbe::parse("/health").unwrap(),
            HttpProbe {
                method: "GET".into(),
                path: "/health".into()
            }
        );
        assert_eq!(
            HttpProbe::parse("post:/api").unwrap(),
            HttpProbe {
                method: "POST".into(),
                path: "/api".into()
            }
        );
        assert_eq!(HttpProbe::parse("http:GET:/x?a=1").unwrap().path, "/x?a=1");
        for bad in ["", "health", "GET:", "FETCH:/x", "https:GET:/x", "GET:/a b"] {
            assert!(HttpProbe::parse(bad).is_err(), "{bad}");
        }
    }

    async fn serve_once(reply: &'static [u8]) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(reply).await;
        });
        port
    }

    #[tokio::test]
    async fn reads_status_and_chunked_body() {
        let port = serve_once(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").await;
        let answer = HttpProber::new(Duration::from_secs(5))
            .send_to_local_port(port, &HttpProbe::get_root())
            .await
            .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(answer.body, b"abcde");
        assert_eq!(answer.body_len, 5);
    }

    #[tokio::test]
    async fn a_connection_the_app_keeps_open_carries_the_next_probe() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // one connection only: a second would never be accepted
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for answer in [&b"first"[..], b"second"] {
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut buf = [0u8; 1024];
                    let n = socket.read(&mut buf).await.unwrap();
                    seen.extend_from_slice(&buf[..n]);
                }
                seen.clear();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    answer.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(answer).await.unwrap();
            }
        });
        let prober = HttpProber::new(Duration::from_secs(5));
        let mut connection = prober.connect_to_local_port(port).await.unwrap();
        let first = prober
            .send(&mut connection, &HttpProbe::get_root())
            .await
            .unwrap();
        assert!(connection.is_open());
        let second = prober
            .send(&mut connection, &HttpProbe::get_root())
            .await
            .unwrap();
        assert_eq!(
            (first.body, second.body),
            (b"first".to_vec(), b"second".to_vec())
        );
    }

    #[tokio::test]
    async fn non_http_answer_is_not_retried() {
        let port = serve_once(b"-ERR unknown command 'GET'\r\n").await;
        let error = HttpProber::new(Duration::from_secs(5))
            .send_to_local_port(port, &HttpProbe::get_root())
            .await
            .unwrap_err();
        assert!(matches!(error, ProbeError::NotHttp(_)), "{error:?}");
    }

    #[tokio::test]
    async fn closed_port_is_not_ready() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = HttpProber::new(Duration::from_secs(5))
            .send_to_local_port(port, &HttpProbe::get_root())
            .await
            .unwrap_err();
        assert!(matches!(error, ProbeError::NotReady(_)), "{error:?}");
    }

    #[tokio::test]
    async fn connection_closed_without_answer_is_not_ready() {
        let port = serve_once(b"").await;
        let error = HttpProber::new(Duration::from_secs(5))
            .send_to_local_port(port, &HttpProbe::get_root())
            .await
            .unwrap_err();
        assert!(matches!(error, ProbeError::NotReady(_)), "{error:?}");
    }
}
