//! A real PostgreSQL server for one test: Debian's `initdb` and `postgres`
//! binaries, a data folder in a temporary directory, a free port on
//! 127.0.0.1. As root the server runs as the `postgres` user (initdb refuses
//! root). No shared server, no mock.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian keeps the server binaries (`/usr/lib/postgresql/NN/bin`),
/// or CAPWATCH_PG_BIN.
pub fn bindir() -> PathBuf {
    if let Some(p) = std::env::var_os("CAPWATCH_PG_BIN") {
        return PathBuf::from(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file() && p.join("postgres").is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "these tests start a real PostgreSQL server: install it with `apt-get install -y postgresql` \
             (CI does), or point CAPWATCH_PG_BIN at the folder holding initdb and postgres"
        )
    })
}

/// The uid and gid of the `postgres` user, when running as root.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root, the server needs the `postgres` user (Debian's postgresql package makes it)");
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct PgServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    next_db: u32,
}

impl PgServer {
    /// initdb a fresh cluster and start it.
    pub fn start() -> PgServer {
        let dir = tempfile::Builder::new()
            .prefix("capwatch-pg")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if let Some((uid, gid)) = run_as() {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).unwrap();
        }
        let out = command(&bindir().join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "capwatch",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = PgServer {
            dir,
            port: free_port(),
            child: None,
            next_db: 0,
        };
        s.boot();
        s
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn boot(&mut self) {
        let log = std::fs::File::create(self.dir.path().join(format!("server-{}.log", self.port)))
            .unwrap();
        if let Some((uid, gid)) = run_as() {
            let _ = std::os::unix::fs::chown(
                self.dir.path().join(format!("server-{}.log", self.port)),
                Some(uid),
                Some(gid),
            );
        }
        let child = command(&bindir().join("postgres"))
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls).is_ok() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the PostgreSQL server did not accept connections within 30 s; its log: {}",
                std::fs::read_to_string(self.dir.path().join(format!("server-{}.log", self.port)))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url_of(&self, db: &str) -> String {
        format!("postgres://capwatch@127.0.0.1:{}/{db}", self.port)
    }

    /// A new empty database on this server; its URL.
    pub fn database(&mut self) -> String {
        self.next_db += 1;
        let name = format!("capwatch_{}", self.next_db);
        let mut c = postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url_of(&name)
    }

    /// Stop the server (fast shutdown: sessions are cut) and wait for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
            let _ = c.wait();
        }
    }

    /// Stop and start again on the same port, with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.boot();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One query's first column of the first row, as i64; -1 while the query
/// cannot run yet (the daemons have not made the schema, the server is
/// restarting), so tests can poll it.
pub fn query_i64(url: &str, sql: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one(sql, &[]))
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(-1)
}

fn command(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    if let Some((uid, gid)) = run_as() {
        c.uid(uid).gid(gid);
        // Root's HOME and cwd may not be readable by postgres.
        c.current_dir("/tmp").env("HOME", "/tmp");
    }
    c
}
