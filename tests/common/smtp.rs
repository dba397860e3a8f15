//! A small SMTP server for tests: real SMTP over TCP on 127.0.0.1, recording
//! every accepted message (envelope, AUTH credentials and raw data).
//!
//! Use from any test, sync or async (it runs on its own thread and runtime):
//!
//! ```ignore
//! #[path = "common/smtp.rs"] mod smtp;   // or `mod smtp;` in tests/common/mod.rs
//! let server = smtp::SmtpServer::start(smtp::Mode::Normal);
//! // registry: [email] smtp = "smtp://127.0.0.1:{server.port()}"  (or server.url())
//! let mail = server.wait_for_messages(1, Duration::from_secs(10));
//! assert_eq!(mail[0].rcpt_to, ["owner@example.com"]);
//! let subject = mail[0].header("Subject").unwrap();   // RFC 2047 decoded
//! let html = mail[0].html().unwrap();                   // transfer-decoded
//! ```
//!
//! It speaks EHLO/HELO, AUTH PLAIN/LOGIN (advertised; accepted unless
//! [`Options::require_auth`] names other credentials), MAIL FROM, RCPT TO,
//! DATA (with dot-unstuffing), RSET, NOOP, VRFY and QUIT; STARTTLS is not
//! offered. [`Mode`] makes it misbehave; change it any time with
//! [`SmtpServer::set_mode`]. It stops when dropped.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// How the server behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A well-behaved server.
    Normal,
    /// Not listening: connections are refused by the operating system.
    Refuse,
    /// Accepts the connection and closes it at once, without a greeting.
    Close,
    /// Answers 451 to the end of DATA of the first `n` transactions (from
    /// when the mode was set), then 250. Tempfailed messages are not kept.
    TempfailFirst(u32),
    /// Answers 550 to every RCPT TO.
    RejectRecipients,
    /// Reads the DATA content but never answers it.
    HangAfterData,
}

impl Mode {
    /// [`Mode::TempfailFirst`].
    pub fn tempfail_first(n: u32) -> Mode {
        Mode::TempfailFirst(n)
    }
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    /// When set, AUTH must present exactly these (user, password), and MAIL
    /// is refused with 530 until it has.
    pub require_auth: Option<(String, String)>,
    /// Advertise STARTTLS. This server cannot speak TLS: it answers
    /// STARTTLS with 220 and then bytes that are no TLS handshake, which
    /// shows a client tried to upgrade (and how it reports a failed one).
    pub offer_starttls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Normal,
            require_auth: None,
            offer_starttls: false,
        }
    }
}

/// Credentials a client presented with AUTH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// `PLAIN` or `LOGIN`.
    pub mechanism: String,
    pub user: String,
    pub password: String,
}

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    /// The EHLO/HELO argument.
    pub helo: String,
    /// The MAIL FROM address, without angle brackets.
    pub mail_from: String,
    /// The RCPT TO addresses, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The credentials accepted on this connection, if any.
    pub auth: Option<Auth>,
    /// The message as sent after DATA: dot-unstuffed, CRLF line ends,
    /// without the terminating `.` line.
    pub data: String,
}

/// One leaf MIME part, transfer-decoded.
#[derive(Clone, Debug)]
pub struct Part {
    /// Lower-cased media type without parameters, e.g. `text/html`.
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    messages: Vec<Received>,
    /// Every AUTH attempt, accepted or not.
    auth_attempts: Vec<Auth>,
    /// Every command line received (AUTH payloads left out), for debugging.
    transcript: Vec<String>,
    connections: usize,
    tempfails_left: u32,
    require_auth: Option<(String, String)>,
    offer_starttls: bool,
    /// Whether the port is open now (false in `Refuse` mode).
    listening: bool,
}

/// A running SMTP server; stops on drop.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    mode: watch::Sender<Mode>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmtpServer {
    /// Start on 127.0.0.1 with a free port, in `mode`, accepting any AUTH.
    pub fn start(mode: Mode) -> SmtpServer {
        SmtpServer::start_with(Options {
            mode,
            ..Options::default()
        })
    }

    pub fn start_with(options: Options) -> SmtpServer {
        let shared = Arc::new(Mutex::new(Shared {
            tempfails_left: tempfails_of(&options.mode),
            require_auth: options.require_auth.clone(),
            offer_starttls: options.offer_starttls,
            ..Shared::default()
        }));
        let (mode_tx, mode_rx) = watch::channel(options.mode.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test smtp runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
                let addr = listener.local_addr().expect("smtp addr");
                addr_tx.send(addr).expect("send smtp addr");
                accept_loop(listener, addr, state, mode_rx, stop_rx).await;
            });
            // Dropping the runtime here cancels sessions still open (hung ones).
        });
        let addr = addr_rx.recv().expect("smtp server started");
        let server = SmtpServer {
            addr,
            shared,
            mode: mode_tx,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        server.wait_listening(options.mode != Mode::Refuse);
        server
    }

    /// Block until the port is open (or closed), so a mode change is in
    /// force when `set_mode` returns.
    fn wait_listening(&self, want: bool) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.shared.lock().unwrap().listening != want {
            assert!(
                Instant::now() < until,
                "test smtp server could not {} port {}",
                if want { "reopen" } else { "close" },
                self.port()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`, for the registry's `[email] smtp`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }

    /// Change the behaviour; applies to new connections and to the next
    /// decision of open ones. Setting `TempfailFirst(n)` restarts its count.
    /// Returns once the port is closed (`Refuse`) or open (other modes).
    pub fn set_mode(&self, mode: Mode) {
        self.shared.lock().unwrap().tempfails_left = tempfails_of(&mode);
        let listening = mode != Mode::Refuse;
        let _ = self.mode.send(mode);
        self.wait_listening(listening);
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().unwrap().messages.clone()
    }

    /// Wait until at least `n` messages were accepted (or `timeout` passed),
    /// then return them all.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let until = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() >= until {
                return m;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Forget the messages accepted so far.
    pub fn clear(&self) {
        self.shared.lock().unwrap().messages.clear();
    }

    /// Every AUTH attempt, accepted or not.
    pub fn auth_attempts(&self) -> Vec<Auth> {
        self.shared.lock().unwrap().auth_attempts.clone()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.lock().unwrap().connections
    }

    /// The command lines received (AUTH payloads left out).
    pub fn transcript(&self) -> Vec<String> {
        self.shared.lock().unwrap().transcript.clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tempfails_of(mode: &Mode) -> u32 {
    match mode {
        Mode::TempfailFirst(n) => *n,
        _ => 0,
    }
}

/// Accept connections until stopped; in `Refuse` mode, close the listening
/// socket so the operating system refuses connections, and bind the same
/// port again when the mode changes back.
async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    mut mode: watch::Receiver<Mode>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut listener = Some(listener);
    loop {
        let refusing = *mode.borrow_and_update() == Mode::Refuse;
        if refusing {
            listener = None;
        } else if listener.is_none() {
            listener = TcpListener::bind(addr).await.ok();
        }
        shared.lock().unwrap().listening = listener.is_some();
        match &listener {
            Some(l) => {
                tokio::select! {
                    _ = &mut stop => return,
                    changed = mode.changed() => if changed.is_err() { return },
                    accepted = l.accept() => {
                        if let Ok((stream, _)) = accepted {
                            // Like real MTAs: answer each command at once (no Nagle delay).
                            let _ = stream.set_nodelay(true);
                            shared.lock().unwrap().connections += 1;
                            tokio::spawn(session(stream, shared.clone(), mode.clone()));
                        }
                    }
                }
            }
            None if refusing => {
                tokio::select! {
                    _ = &mut stop => return,
                    changed = mode.changed() => if changed.is_err() { return },
                }
            }
            None => {
                // The port could not be bound again yet; try shortly.
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        }
    }
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

async fn session(stream: TcpStream, shared: Arc<Mutex<Shared>>, mode: watch::Receiver<Mode>) {
    let current = || mode.borrow().clone();
    if current() == Mode::Close {
        return;
    }
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    macro_rules! reply {
        ($($arg:tt)*) => {
            if write.write_all(format!($($arg)*).as_bytes()).await.is_err() {
                return;
            }
        };
    }
    reply!("220 capwatch-test ESMTP ready\r\n");
    let mut helo = String::new();
    let mut auth: Option<Auth> = None;
    let mut txn = Transaction::default();
    loop {
        let Some(line) = read_line(&mut reader).await else {
            return;
        };
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("").to_string();
        let arg = line
            .split_once(char::is_whitespace)
            .map(|(_, a)| a.trim().to_string())
            .unwrap_or_default();
        shared.lock().unwrap().transcript.push(if verb == "AUTH" {
            format!("AUTH {}", arg.split_whitespace().next().unwrap_or(""))
        } else {
            line.clone()
        });
        match verb.as_str() {
            "EHLO" => {
                helo = arg;
                txn = Transaction::default();
                let starttls = if shared.lock().unwrap().offer_starttls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                reply!(
                    "250-localhost greets {helo}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n{starttls}250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760\r\n"
                );
            }
            "HELO" => {
                helo = arg;
                txn = Transaction::default();
                reply!("250 localhost\r\n");
            }
            "AUTH" => {
                let mut words = arg.split_whitespace();
                let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
                let initial = words.next().map(str::to_string);
                let presented = match mechanism.as_str() {
                    "PLAIN" => {
                        let token = match initial {
                            Some(t) => t,
                            None => {
                                reply!("334 \r\n");
                                match read_line(&mut reader).await {
                                    Some(l) => l,
                                    None => return,
                                }
                            }
                        };
                        decode_b64(&token).and_then(|raw| {
                            let mut fields = raw.split('\0');
                            let _authzid = fields.next()?;
                            let user = fields.next()?.to_string();
                            let password = fields.next()?.to_string();
                            Some((user, password))
                        })
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(u) => Some(u),
                            None => {
                                reply!("334 VXNlcm5hbWU6\r\n");
                                read_line(&mut reader).await
                            }
                        };
                        let Some(user) = user else { return };
                        reply!("334 UGFzc3dvcmQ6\r\n");
                        let Some(password) = read_line(&mut reader).await else {
                            return;
                        };
                        decode_b64(&user).zip(decode_b64(&password))
                    }
                    _ => {
                        reply!("504 5.5.4 unrecognised authentication type\r\n");
                        continue;
                    }
                };
                let Some((user, password)) = presented else {
                    reply!("501 5.5.2 cannot decode the credentials\r\n");
                    continue;
                };
                let attempt = Auth {
                    mechanism,
                    user,
                    password,
                };
                let ok = {
                    let mut s = shared.lock().unwrap();
                    s.auth_attempts.push(attempt.clone());
                    match &s.require_auth {
                        Some((u, p)) => *u == attempt.user && *p == attempt.password,
                        None => true,
                    }
                };
                if ok {
                    auth = Some(attempt);
                    reply!("235 2.7.0 authentication successful\r\n");
                } else {
                    reply!("535 5.7.8 authentication credentials invalid\r\n");
                }
            }
            "MAIL" => {
                let required = shared.lock().unwrap().require_auth.is_some();
                if required && auth.is_none() {
                    reply!("530 5.7.0 authentication required\r\n");
                    continue;
                }
                let Some(from) = path_arg(&line, "FROM:") else {
                    reply!("501 5.5.4 syntax: MAIL FROM:<address>\r\n");
                    continue;
                };
                txn = Transaction {
                    mail_from: Some(from),
                    rcpt_to: Vec::new(),
                };
                reply!("250 2.1.0 ok\r\n");
            }
            "RCPT" => {
                if txn.mail_from.is_none() {
                    reply!("503 5.5.1 need MAIL first\r\n");
                    continue;
                }
                let Some(to) = path_arg(&line, "TO:") else {
                    reply!("501 5.5.4 syntax: RCPT TO:<address>\r\n");
                    continue;
                };
                if current() == Mode::RejectRecipients {
                    reply!("550 5.1.1 <{to}>: recipient address rejected: no such user\r\n");
                    continue;
                }
                txn.rcpt_to.push(to);
                reply!("250 2.1.5 ok\r\n");
            }
            "DATA" => {
                if txn.rcpt_to.is_empty() {
                    reply!("503 5.5.1 need RCPT first\r\n");
                    continue;
                }
                reply!("354 end data with <CR><LF>.<CR><LF>\r\n");
                let mut data = String::new();
                loop {
                    let Some(raw) = read_raw_line(&mut reader).await else {
                        return;
                    };
                    let trimmed = raw.trim_end_matches(['\r', '\n']);
                    if trimmed == "." {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 4.5.2).
                    let line = raw.strip_prefix('.').unwrap_or(&raw);
                    data.push_str(line);
                }
                let mode_now = current();
                if mode_now == Mode::HangAfterData {
                    std::future::pending::<()>().await;
                }
                let tempfail = {
                    let mut s = shared.lock().unwrap();
                    if s.tempfails_left > 0 {
                        s.tempfails_left -= 1;
                        true
                    } else {
                        false
                    }
                };
                if tempfail {
                    reply!("451 4.3.0 temporary failure, please try again later\r\n");
                } else {
                    let id = {
                        let mut s = shared.lock().unwrap();
                        s.messages.push(Received {
                            helo: helo.clone(),
                            mail_from: txn.mail_from.clone().unwrap_or_default(),
                            rcpt_to: txn.rcpt_to.clone(),
                            auth: auth.clone(),
                            data,
                        });
                        s.messages.len()
                    };
                    reply!("250 2.0.0 ok: queued as {id}\r\n");
                }
                txn = Transaction::default();
            }
            "RSET" => {
                txn = Transaction::default();
                reply!("250 2.0.0 ok\r\n");
            }
            "NOOP" => reply!("250 2.0.0 ok\r\n"),
            "VRFY" => reply!("252 2.1.5 cannot verify, will accept\r\n"),
            "STARTTLS" => {
                if shared.lock().unwrap().offer_starttls {
                    reply!("220 2.0.0 ready to start TLS\r\n");
                    // Wait for the ClientHello, then answer with plain text.
                    let mut hello = [0u8; 512];
                    let _ = tokio::io::AsyncReadExt::read(&mut reader, &mut hello).await;
                    reply!("this is not a TLS handshake\r\n");
                    let _ = write.shutdown().await;
                    return;
                }
                reply!("454 4.7.0 tls not available\r\n");
            }
            "QUIT" => {
                reply!("221 2.0.0 bye\r\n");
                let _ = write.shutdown().await;
                return;
            }
            _ => reply!("500 5.5.2 command not recognised\r\n"),
        }
    }
}

/// One line with its line end, lossily decoded; `None` at EOF or error.
async fn read_raw_line(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut buf = Vec::new();
    match reader.read_until(b'\n', &mut buf).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
    }
}

/// One command line without its line end.
async fn read_line(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    read_raw_line(reader)
        .await
        .map(|l| l.trim_end_matches(['\r', '\n']).to_string())
}

/// The address in `MAIL FROM:<a> PARAMS` / `RCPT TO:<a>`.
fn path_arg(line: &str, key: &str) -> Option<String> {
    let upper = line.to_ascii_uppercase();
    let at = upper.find(key)? + key.len();
    let rest = line[at..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_string())
}

fn decode_b64(s: &str) -> Option<String> {
    B64.decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

// ---------------------------------------------------------------------------
// Reading what arrived: headers and MIME parts.

impl Received {
    /// The top-level headers, unfolded, values raw.
    pub fn headers(&self) -> Vec<(String, String)> {
        split_entity(&self.data).0
    }

    /// The first header named `name` (any case), unfolded and with RFC 2047
    /// encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.headers(), name).map(|v| decode_words(&v))
    }

    /// Every header named `name`, decoded.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_words(&v))
            .collect()
    }

    /// The top-level media type, lower case, without parameters.
    pub fn content_type(&self) -> String {
        media_type(&self.headers())
    }

    /// Every leaf part, depth first, transfer-decoded.
    pub fn parts(&self) -> Vec<Part> {
        let mut out = Vec::new();
        leaf_parts(&self.data, &mut out);
        out
    }

    /// The first `text/plain` part.
    pub fn text(&self) -> Option<String> {
        self.part("text/plain")
    }

    /// The first `text/html` part.
    pub fn html(&self) -> Option<String> {
        self.part("text/html")
    }

    fn part(&self, media: &str) -> Option<String> {
        self.parts()
            .into_iter()
            .find(|p| p.content_type == media)
            .map(|p| p.body)
    }
}

fn header_in(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn media_type(headers: &[(String, String)]) -> String {
    header_in(headers, "Content-Type")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "text/plain".into())
}

/// Headers (unfolded) and body of an entity.
fn split_entity(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = match raw.find("\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => match raw.find("\n\n") {
            Some(i) => (&raw[..i], &raw[i + 2..]),
            None => (raw, ""),
        },
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body.to_string())
}

fn param(value: &str, name: &str) -> Option<String> {
    for piece in value.split(';').skip(1) {
        let (k, v) = piece.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

fn leaf_parts(raw: &str, out: &mut Vec<Part>) {
    let (headers, body) = split_entity(raw);
    let media = media_type(&headers);
    if media.starts_with("multipart/") {
        let boundary = header_in(&headers, "Content-Type")
            .and_then(|ct| param(&ct, "boundary"))
            .unwrap_or_default();
        if boundary.is_empty() {
            return;
        }
        let delimiter = format!("--{boundary}");
        for (n, chunk) in body.split(delimiter.as_str()).enumerate() {
            if n == 0 || chunk.starts_with("--") {
                continue; // preamble, or the closing delimiter's epilogue
            }
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
            leaf_parts(chunk, out);
        }
        return;
    }
    let encoding = header_in(&headers, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            B64.decode(compact).unwrap_or_default()
        }
        "quoted-printable" => {
            quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_default()
        }
        _ => body.into_bytes(),
    };
    out.push(Part {
        content_type: media,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
}

/// Decode RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`);
/// white space between two encoded words is dropped.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        let after = &rest[start + 2..];
        let decoded = (|| {
            let (_charset, after) = after.split_once('?')?;
            let (enc, after) = after.split_once('?')?;
            let end = after.find("?=")?;
            let text = &after[..end];
            let bytes = match enc.to_ascii_lowercase().as_str() {
                "b" => B64.decode(text).ok()?,
                "q" => quoted_printable::decode(
                    text.replace('_', " ").as_bytes(),
                    quoted_printable::ParseMode::Robust,
                )
                .ok()?,
                _ => return None,
            };
            let consumed = value.len() - after.len() + end + 2;
            Some((String::from_utf8_lossy(&bytes).into_owned(), consumed))
        })();
        match decoded {
            Some((text, consumed_to)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &value[consumed_to..];
                last_was_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}
